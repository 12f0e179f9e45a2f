// Applies prisma/migrations at start-up, compatible with Prisma's own
// _prisma_migrations table, so `prisma migrate status` agrees with what ran here.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One dedicated connection: the advisory lock is held by the session. */
export interface MigrationConnection {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a multi-statement script. */
  exec(sql: string): Promise<void>;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

// Prisma's own lock key, so app instances and the Prisma CLI serialise.
const LOCK_KEY = 72707369;

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

const TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

interface Row {
  migration_name: string;
  checksum: string;
  finished_at: Date | string | null;
  rolled_back_at: Date | string | null;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
  /** Applied migrations whose migration.sql changed since (Prisma warns about these too). */
  modified: string[];
}

/** The migrations there are: every directory of prisma/migrations, in the order they apply. */
export async function migrationNames(dir = MIGRATIONS_DIR): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

async function pending(dir: string): Promise<{ name: string; sql: string; checksum: string }[]> {
  const names = await migrationNames(dir);
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

export async function migrate(db: MigrationConnection, dir = MIGRATIONS_DIR): Promise<MigrationReport> {
  const migrations = await pending(dir);
  await db.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
  try {
    await db.exec(TABLE);
    const rows = await db.query<Row>('SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"');
    const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
    if (failed) {
      throw new MigrationError(
        `migration ${failed.migration_name} failed earlier and is not resolved; fix the database, then mark it with \`prisma migrate resolve\``,
      );
    }
    const done = new Map(rows.filter((r) => r.finished_at !== null).map((r) => [r.migration_name, r.checksum]));
    const report: MigrationReport = { applied: [], alreadyApplied: 0, modified: [] };
    for (const m of migrations) {
      const checksum = done.get(m.name);
      if (checksum !== undefined) {
        report.alreadyApplied += 1;
        if (checksum !== m.checksum) report.modified.push(m.name);
        continue;
      }
      const id = randomUUID();
      try {
        await db.exec('BEGIN');
        await db.exec(m.sql);
        await db.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
           VALUES ($1, $2, $3, now(), now(), 1)`,
          [id, m.checksum, m.name],
        );
        await db.exec('COMMIT');
        report.applied.push(m.name);
      } catch (error) {
        await db.exec('ROLLBACK');
        const logs = error instanceof Error ? error.message : String(error);
        await db.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at, applied_steps_count) VALUES ($1, $2, $3, $4, now(), 0)`,
          [id, m.checksum, m.name, logs],
        );
        throw new MigrationError(`migration ${m.name} failed: ${logs}`);
      }
    }
    return report;
  } finally {
    await db.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
  }
}
