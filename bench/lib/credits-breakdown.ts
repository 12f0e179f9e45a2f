// Where a burn's time goes, one client, one step at a time: the wallet lookup,
// the CTE through Prisma and through the bare driver, the bare UPDATE, the
// bearer-token lookup and Yoga's own share of a request.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { resolveViewer } from '../../src/auth/viewer.js';
import { burnCredits } from '../../src/billing/credits.js';
import { migrate } from '../../src/db/migrate.js';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { fundedTenant, PRISMA_PG_POOL_MAX, type BenchBackend } from './credits-backends.js';
import { percentile } from './credits-harness.js';

export interface Step {
  name: string;
  /** What the step stands for in burnCredits / the API. */
  note: string;
  /** SQL statements per call, counted from Prisma's query log; '1' for the bare driver; '-' when not counted. */
  statements: string;
  p50Ms: number;
  meanMs: number;
  /** CPU of this Node process per call (PGlite's database work included, PostgreSQL's not). */
  cpuMs: number;
}

export const BURN_MUTATION = `mutation Burn($input: BurnCreditsInput!) {
  burnCredits(input: $input) { entry { id balanceAfter } wallet { balance } }
}`;

// The statement of src/billing/credits.ts (burn), written against positional parameters.
// The statement burnCredits() sends (src/billing/credits.ts), bound by hand, to price Prisma's share.
const CTE_SQL = `WITH changed AS (
    UPDATE "Wallet" SET balance = balance + $1, "updatedAt" = now()
    WHERE "tenantId" = $2 AND balance + $1 >= 0 AND balance + $1 <= $3
    RETURNING id, "createdAt", "updatedAt", balance
  ), inserted AS (
    INSERT INTO "LedgerEntry" (id, "walletId", kind, amount, "balanceAfter", reason, "idempotencyKey", "surfaceId", "createdAt")
    SELECT $4, changed.id, 'BURN'::"LedgerKind", $1, changed.balance, $5, $6, $7, now() FROM changed
    RETURNING *)
  SELECT inserted.*, changed."createdAt" AS "walletCreatedAt", changed."updatedAt" AS "walletUpdatedAt" FROM inserted CROSS JOIN changed`;
const UPDATE_SQL = 'UPDATE "Wallet" SET balance = balance - $1 WHERE id = $2 AND balance >= $1';
const MAX_BALANCE = 9n * 10n ** 18n;

/** A Prisma client whose statements are counted, and the bare driver under it. */
interface Probe {
  driver: string;
  prisma: PrismaClient;
  statements(): number;
  raw(sql: string, params: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * PostgreSQL: a second Prisma client (query log on) and the bench's pg.Pool, both on the run's
 * database. PGlite: the server's instance is not reachable (createDatabase keeps it), so a second
 * PGlite in its own directory, migrated, under both a logged Prisma client and the bare calls.
 */
async function openProbe(backend: BenchBackend): Promise<Probe> {
  let count = 0;
  const logged = { log: [{ emit: 'event' as const, level: 'query' as const }] };
  if (backend.pool && backend.databaseUrl) {
    const pool = backend.pool;
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: backend.databaseUrl, max: PRISMA_PG_POOL_MAX }), ...logged });
    prisma.$on('query', () => void (count += 1));
    return { driver: 'pg.Pool', prisma, statements: () => count, raw: (sql, params) => pool.query(sql, params), close: () => prisma.$disconnect() };
  }
  const dir = await mkdtemp(path.join(backend.dataDir, 'probe-pglite-'));
  const db = await PGlite.create(dir);
  await migrate({ query: async (sql, params) => (await db.query(sql, params)).rows as never[], exec: async (sql) => void (await db.exec(sql)) });
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db), ...logged });
  prisma.$on('query', () => void (count += 1));
  return {
    driver: 'PGlite (2nd instance, also under Prisma)',
    prisma,
    statements: () => count,
    raw: (sql, params) => db.query(sql, params),
    close: async () => {
      await prisma.$disconnect();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface StepSpec {
  name: string;
  note: string;
  /** true: count statements on the probe's Prisma client; a string: show as is. */
  counted: boolean | string;
  fn: (key: string) => Promise<unknown>;
}

/** Runs every step `calls` times per round, the steps interleaved round by round. */
async function measure(specs: StepSpec[], probe: Probe, rounds: number, calls: number): Promise<Step[]> {
  const acc = specs.map(() => ({ samples: [] as number[], cpuUs: 0, statements: 0 }));
  let seq = 0;
  for (const spec of specs) for (let i = 0; i < 10; i += 1) await spec.fn(`w${(seq += 1)}`);
  for (let round = 0; round < rounds; round += 1) {
    for (const [i, spec] of specs.entries()) {
      const a = acc[i];
      if (!a) continue;
      const before = probe.statements();
      const cpu = process.cpuUsage();
      for (let c = 0; c < calls; c += 1) {
        const t = performance.now();
        await spec.fn(`s${(seq += 1)}`);
        a.samples.push(performance.now() - t);
      }
      const used = process.cpuUsage(cpu);
      a.cpuUs += used.user + used.system;
      a.statements += probe.statements() - before;
    }
  }
  return specs.map((spec, i) => {
    const a = acc[i] ?? { samples: [], cpuUs: 0, statements: 0 };
    const n = Math.max(a.samples.length, 1);
    const sorted = [...a.samples].sort((x, y) => x - y);
    return {
      name: spec.name,
      note: spec.note,
      statements: spec.counted === true ? (a.statements / n).toFixed(1) : spec.counted || '-',
      p50Ms: percentile(sorted, 0.5),
      meanMs: a.samples.reduce((s, x) => s + x, 0) / n,
      cpuMs: a.cpuUs / 1000 / n,
    };
  });
}

export async function breakdown(backend: BenchBackend, rounds: number, calls: number, amount: bigint): Promise<{ steps: Step[]; driver: string }> {
  const probe = await openProbe(backend);
  try {
    const { prisma, raw } = probe;
    const t = await fundedTenant(prisma, 10n ** 12n, `probe-${backend.kind}`);
    const api = await fundedTenant(backend.prisma, 10n ** 12n, `api-${backend.kind}`);
    const delta = -amount;
    const pg = backend.kind === 'postgresql';
    const gql = (token: string | null, query: string, variables?: Record<string, unknown>) =>
      backend.server.yoga.fetch('http://nexus.bench/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
    const apiBurn = (token: string) => async (key: string) => {
      const res = await gql(token, BURN_MUTATION, { input: { amount: amount.toString(), reason: 'bench', idempotencyKey: key } });
      const body = (await res.json()) as { errors?: unknown };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
    };
    const specs: StepSpec[] = [
      { name: 'prisma $queryRaw SELECT 1', note: 'round-trip floor through Prisma', counted: true, fn: () => prisma.$queryRaw`SELECT 1` },
      { name: 'bare SELECT 1', note: 'round-trip floor, bare driver', counted: '1', fn: () => raw('SELECT 1', []) },
      {
        name: 'burnCredits()',
        note: '(a): one statement through Prisma + JS',
        counted: true,
        fn: (key) => burnCredits(prisma, { tenantId: t.tenantId, surfaceId: t.surfaceId, amount, reason: 'bench', idempotencyKey: `dom-${key}` }),
      },
      {
        name: 'bare CTE',
        note: '(a)\'s statement without Prisma',
        counted: '1',
        fn: (key) => raw(CTE_SQL, [delta.toString(), t.tenantId, MAX_BALANCE.toString(), randomUUID(), 'bench', `raw-${key}`, t.surfaceId]),
      },
      { name: 'bare UPDATE', note: pg ? '(c): the baseline' : 'the baseline without Prisma', counted: '1', fn: () => raw(UPDATE_SQL, [amount.toString(), t.walletId]) },
      {
        name: 'prisma $executeRaw UPDATE',
        note: pg ? 'the baseline through Prisma' : '(c): the baseline',
        counted: true,
        fn: () => prisma.$executeRaw`UPDATE "Wallet" SET balance = balance - ${amount} WHERE id = ${t.walletId} AND balance >= ${amount}`,
      },
      { name: 'resolveViewer, surface token', note: 'API: who is calling (surface)', counted: true, fn: () => resolveViewer(prisma, `Bearer ${t.surfaceToken}`) },
      { name: 'resolveViewer, owner token', note: 'API: who is calling (owner)', counted: true, fn: () => resolveViewer(prisma, `Bearer ${t.ownerToken}`) },
      { name: 'yoga { __typename }, no token', note: 'API floor: Yoga, shield', counted: '0', fn: async () => (await gql(null, '{ __typename }')).text() },
      { name: 'yoga { __typename }, surface', note: 'API floor + viewer', counted: '-', fn: async () => (await gql(api.surfaceToken, '{ __typename }')).text() },
      { name: 'yoga burnCredits, surface', note: '(b): the whole request', counted: '-', fn: apiBurn(api.surfaceToken) },
      { name: 'yoga burnCredits, owner', note: '(b) with an owner token', counted: '-', fn: apiBurn(api.ownerToken) },
    ];
    return { steps: await measure(specs, probe, rounds, calls), driver: probe.driver };
  } finally {
    await probe.close();
  }
}
