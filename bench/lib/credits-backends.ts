// The two control-plane backends the credits bench runs on: a real Nexus server
// (Yoga in-process, no port) on a scratch PostgreSQL database or a fresh PGlite
// directory, plus funded tenants with a surface token to burn with.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { topUpCredits } from '../../src/billing/credits.js';
import { loadConfig } from '../../src/config/env.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { createLogger } from '../../src/log/logger.js';
import { createNexusServer, type NexusServer } from '../../src/server/create-nexus-server.js';
import { signUp } from '../../src/tenancy/sign-up.js';
import { createSurface } from '../../src/tenancy/surfaces.js';
import { issueSurfaceToken } from '../../src/tenancy/tokens.js';

export type BackendKind = 'postgresql' | 'pglite';

export const PG_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
/** The pool size src/db/create-database.ts gives Prisma's adapter-pg; the baseline pool matches it. */
export const PRISMA_PG_POOL_MAX = 20;

export interface BenchBackend {
  readonly kind: BackendKind;
  readonly server: NexusServer;
  readonly prisma: PrismaClient;
  /** Same-size pg.Pool on the same database (PostgreSQL only). */
  readonly pool?: pg.Pool;
  /** Scratch directory of the run; the PGlite data lives under it. */
  readonly dataDir: string;
  readonly database?: string;
  readonly databaseUrl?: string;
  /** pid → CPU ms of every PostgreSQL backend connected to the run's database (PostgreSQL only). */
  serverCpuMs?: () => Promise<Map<number, number>>;
  close(): Promise<void>;
}

// clock ticks per second of /proc/<pid>/stat (USER_HZ), 100 on Linux x86-64
const TICK_MS = 10;

async function backendCpuMs(pool: pg.Pool): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // Fields after "(comm)": state is the 1st, utime the 12th, stime the 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) * TICK_MS);
    } catch {
      // Not on this host's /proc (remote server, other namespace) or just exited.
    }
  }
  return cpu;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function openBackend(kind: BackendKind): Promise<BenchBackend> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `nexus-bench-credits-${kind}-`));
  // Rate limits off: 32 clients burn on one wallet as fast as they can; the limiter is not what is measured.
  const env: Record<string, string> = { NEXUS_DATA_DIR: dataDir, NEXUS_VECTOR_DIM: '8', LOG_LEVEL: 'silent', NEXUS_RATE_LIMIT_PER_MINUTE: '0', NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '0' };
  let database: string | undefined;
  if (kind === 'postgresql') {
    database = `nexus_bench_${randomBytes(6).toString('hex')}`;
    const name = database;
    await admin((c) => c.query(`CREATE DATABASE ${name}`));
    env.DATABASE_URL = `postgresql://postgres@127.0.0.1:5432/${database}`;
  }
  let server: NexusServer | undefined;
  let pool: pg.Pool | undefined;
  const close = async () => {
    await pool?.end().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    if (database) {
      const name = database;
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    }
  };
  try {
    server = await createNexusServer(loadConfig(env), { log: createLogger('silent') });
    if (env.DATABASE_URL) pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: PRISMA_PG_POOL_MAX });
  } catch (error) {
    await close();
    throw error;
  }
  const serverCpuMs = pool ? () => backendCpuMs(pool) : undefined;
  return { kind, server, prisma: server.services.db.prisma, pool, dataDir, database, databaseUrl: env.DATABASE_URL, serverCpuMs, close };
}

export interface FundedTenant {
  tenantId: string;
  walletId: string;
  surfaceId: string;
  /** Bearer token of the tenant's app surface: the path an app burns through. */
  surfaceToken: string;
  ownerToken: string;
}

/** A new tenant with one app surface and a wallet topped up once with `initial`. */
export async function fundedTenant(prisma: PrismaClient, initial: bigint, label: string): Promise<FundedTenant> {
  const { tenant, ownerToken } = await signUp(prisma, { email: `bench-${label}-${randomBytes(4).toString('hex')}@example.com`, displayName: 'Bench' });
  const surface = await createSurface(prisma, tenant.id, { key: 'bench-app', homeDomain: 'health' });
  const { token } = await issueSurfaceToken(prisma, tenant.id, { surface: surface.key });
  const top = await topUpCredits(prisma, { tenantId: tenant.id, surfaceId: null, amount: initial, reason: 'bench funding', idempotencyKey: `fund-${label}` });
  return { tenantId: tenant.id, walletId: top.wallet.id, surfaceId: surface.id, surfaceToken: token, ownerToken };
}
