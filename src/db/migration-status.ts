// Whether the database has every migration this build ships: each directory of prisma/migrations recorded as
// finished in Prisma's _prisma_migrations table (the readiness check; start-up applies them, see migrate.ts).
import type { PrismaClient } from '../generated/prisma/client.js';
import { migrationNames } from './migrate.js';

export interface MigrationStatus {
  /** Migrations of this build not recorded as finished (or rolled back since), in order. */
  missing: string[];
  /** Recorded as started but neither finished nor rolled back: a failed migration waiting to be resolved. */
  failed: string[];
}

/** Reads the table once; the directory list is read once per process (it does not change while running). */
export function createMigrationStatus(prisma: Pick<PrismaClient, '$queryRaw'>): () => Promise<MigrationStatus> {
  let names: Promise<string[]> | undefined;
  return async () => {
    names ??= migrationNames().catch((error: unknown) => {
      names = undefined;
      throw error;
    });
    const [expected, rows] = await Promise.all([
      names,
      prisma.$queryRaw<{ migration_name: string; finished: boolean; rolled_back: boolean }[]>`
        SELECT migration_name, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back
        FROM "_prisma_migrations"`,
    ]);
    const finished = new Set(rows.filter((r) => r.finished && !r.rolled_back).map((r) => r.migration_name));
    return {
      missing: expected.filter((name) => !finished.has(name)),
      failed: rows.filter((r) => !r.finished && !r.rolled_back).map((r) => r.migration_name),
    };
  };
}
