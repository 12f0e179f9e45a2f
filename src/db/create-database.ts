// The control-plane database: PGlite in the data directory by default, a
// PostgreSQL server when DATABASE_URL is set. Migrations run before first use.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Config, ServiceTimeouts } from '../config/env.js';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';
import { lockDataDir } from './data-dir-lock.js';
import { isLockTimeout } from './errors.js';
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

/** How long a connection or a statement may take when nothing says otherwise (NEXUS_DATABASE_TIMEOUT_MS). */
const DEFAULT_DATABASE_TIMEOUT_MS = 5_000;

/** How long a write may wait for a store's shared lock (another gateway's write, a purge) before it gives up. */
const LOCK_WAIT_MS = 30_000;

export async function createDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'> & { timeouts?: Pick<ServiceTimeouts, 'databaseMs'> }): Promise<Database> {
  if (config.databaseUrl) return connectPostgres(config.databaseUrl, config.timeouts?.databaseMs ?? DEFAULT_DATABASE_TIMEOUT_MS);
  return openPglite(path.join(config.dataDir, 'pglite'));
}

/**
 * The pool's bounds, so that a server that is down, or up but not answering, fails a request within about timeoutMs
 * instead of holding it: connecting (and waiting for a free connection) and each statement are bounded. The server
 * cancels a statement past statement_timeout (the connection stays usable); the client's own query_timeout, a little
 * later, catches a server that answers nothing at all. No idle-in-transaction limit: an index build holds its lock's
 * transaction, idle, for minutes (tryWithSharedLock). Keepalive finds connections a network fault left dead.
 */
function poolOptions(url: string, timeoutMs: number): pg.PoolConfig {
  return {
    connectionString: url,
    max: 20,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs + 500,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/**
 * Takes a transaction-scoped advisory lock, waiting for it up to waitMs. A waiting statement must stay within the
 * statement timeouts, so past a first try the lock is waited for in slices of lock_timeout (in PostgreSQL's queue for
 * it, not by polling), each under a savepoint: a slice that runs out aborts only the savepoint, not the transaction.
 */
async function advisoryXactLock(tx: Prisma.TransactionClient, key: string, timeoutMs: number, waitMs: number): Promise<void> {
  const [first] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(hashtextextended(${key}, 0)) AS locked`;
  if (first?.locked) return;
  const deadline = Date.now() + waitMs;
  const slice = `${Math.max(50, Math.min(1000, Math.floor(timeoutMs / 2)))}ms`;
  await tx.$executeRaw`SELECT set_config('lock_timeout', ${slice}, true)`;
  for (;;) {
    await tx.$executeRaw`SAVEPOINT nexus_lock_wait`;
    try {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`;
      await tx.$executeRaw`RELEASE SAVEPOINT nexus_lock_wait`;
      await tx.$executeRaw`SELECT set_config('lock_timeout', '0', true)`;
      return;
    } catch (error) {
      if (!isLockTimeout(error) || Date.now() >= deadline) throw error;
      await tx.$executeRaw`ROLLBACK TO SAVEPOINT nexus_lock_wait`;
    }
  }
}

async function connectPostgres(url: string, timeoutMs: number): Promise<Database> {
  // Migrations may run long statements (and wait for another gateway's migrations): only connecting is bounded.
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
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
  const prisma = new PrismaClient({ adapter: new PrismaPg(poolOptions(url, timeoutMs)) });
  await prisma.$connect();
  // A transaction-scoped advisory lock: released however fn ends, even if this process dies.
  const withSharedLock = <T>(key: string, fn: () => Promise<T>): Promise<T> =>
    prisma.$transaction(
      async (tx) => {
        await advisoryXactLock(tx, key, timeoutMs, LOCK_WAIT_MS);
        return fn();
      },
      // maxWait: a free connection is the pool's to bound (connectionTimeoutMillis), not Prisma's.
      { maxWait: timeoutMs + 1000, timeout: LOCK_WAIT_MS + 30_000 },
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
      { maxWait: timeoutMs + 1000, timeout: 6 * 3600_000 },
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
