// The control-plane database: PGlite in the data directory by default, a
// PostgreSQL server when DATABASE_URL is set. Migrations run before first use.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Config } from '../config/env.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { lockDataDir } from './data-dir-lock.js';
import { migrate, type MigrationReport } from './migrate.js';

export type { PrismaClient };

export interface Database {
  readonly prisma: PrismaClient;
  readonly backend: 'pglite' | 'postgresql';
  readonly migrations: MigrationReport;
  /** Runs fn under a lock named key that every gateway sharing this database respects; undefined for PGlite (one process). */
  readonly withSharedLock?: <T>(key: string, fn: () => Promise<T>) => Promise<T>;
  /** Runs fn under that lock only if no one holds it (false then), for as long as fn takes; undefined for PGlite. */
  readonly tryWithSharedLock?: (key: string, fn: () => Promise<void>) => Promise<boolean>;
  close(): Promise<void>;
}

export async function createDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<Database> {
  if (config.databaseUrl) return connectPostgres(config.databaseUrl);
  return openPglite(path.join(config.dataDir, 'pglite'));
}

async function connectPostgres(url: string): Promise<Database> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let migrations: MigrationReport;
  try {
    migrations = await migrate({
      query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
      exec: async (sql: string) => {
        await client.query(sql);
      },
    });
  } finally {
    await client.end();
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 20 }) });
  await prisma.$connect();
  // A transaction-scoped advisory lock: released however fn ends, even if this process dies.
  const withSharedLock = <T>(key: string, fn: () => Promise<T>): Promise<T> =>
    prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`;
        return fn();
      },
      { maxWait: 30_000, timeout: 60_000 },
    );
  // The same lock, not waited for, held by a transaction as long as fn runs (an index build: seconds to minutes).
  // A gateway that dies mid-build drops its connection, and with it the lock.
  const tryWithSharedLock = async (key: string, fn: () => Promise<void>): Promise<boolean> =>
    prisma.$transaction(
      async (tx) => {
        const [row] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(hashtextextended(${key}, 0)) AS locked`;
        if (!row?.locked) return false;
        await fn();
        return true;
      },
      { maxWait: 30_000, timeout: 6 * 3600_000 },
    );
  return { prisma, backend: 'postgresql', migrations, withSharedLock, tryWithSharedLock, close: () => prisma.$disconnect() };
}

async function openPglite(dir: string): Promise<Database> {
  await mkdir(dir, { recursive: true });
  const unlock = await lockDataDir(path.dirname(dir));
  let db: PGlite | undefined;
  try {
    db = await PGlite.create(dir);
    const pglite = db;
    const migrations = await migrate({
      query: async <T>(sql: string, params?: unknown[]) => (await pglite.query(sql, params)).rows as T[],
      exec: async (sql: string) => {
        await pglite.exec(sql);
      },
    });
    const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
    await prisma.$connect();
    return {
      prisma,
      backend: 'pglite',
      migrations,
      close: async () => {
        await prisma.$disconnect();
        await pglite.close();
        await unlock();
      },
    };
  } catch (error) {
    await db?.close().catch(() => undefined);
    await unlock();
    throw error;
  }
}
