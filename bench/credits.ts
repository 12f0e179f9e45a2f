// Burns per second of our credit path against a bare UPDATE, on PostgreSQL and PGlite,
// with 1 and 32 clients on one wallet; every cell ends by checking the books add up.
import { cpus, loadavg } from 'node:os';
import { burnCredits } from '../src/billing/credits.js';
import { breakdown, BURN_MUTATION, type Step } from './lib/credits-breakdown.js';
import { fundedTenant, openBackend, PRISMA_PG_POOL_MAX, type BackendKind, type BenchBackend, type FundedTenant } from './lib/credits-backends.js';
import { checkBooks, readBooks, runSlice, summarise, type BurnOp, type CellResult, type InvariantCheck, type Slice } from './lib/credits-harness.js';

const BACKENDS: BackendKind[] = ['postgresql', 'pglite'];
const CLIENTS = [1, 32];
const WARMUP_MS = 400;
// Each cell is measured for ROUNDS × SLICE_MS, interleaved with the other paths.
const ROUNDS = 5;
const SLICE_MS = 500;
const BREAKDOWN_ROUNDS = 5;
const BREAKDOWN_CALLS = 40;
const AMOUNT = 10n;
// Far more than any cell can burn (10^4 burns/s × 3 s × 10 credits = 3·10^5), so no burn meets INSUFFICIENT_CREDITS.
const INITIAL = 10n ** 12n;

type PathKey = 'domain' | 'graphql' | 'baseline';
const PATHS: { key: PathKey; label: string; writesLedger: boolean }[] = [
  { key: 'domain', label: '(a) burnCredits()', writesLedger: true },
  { key: 'graphql', label: '(b) GraphQL yoga.fetch', writesLedger: true },
  { key: 'baseline', label: '(c) bare UPDATE', writesLedger: false },
];

interface Row {
  backend: BackendKind;
  path: PathKey;
  clients: number;
  result: CellResult;
  books: InvariantCheck;
}

function burnOp(backend: BenchBackend, path: PathKey, t: FundedTenant): BurnOp {
  const { prisma, server, pool } = backend;
  if (path === 'domain') {
    return async (key) => {
      const r = await burnCredits(prisma, { tenantId: t.tenantId, surfaceId: t.surfaceId, amount: AMOUNT, reason: 'bench', idempotencyKey: key });
      if (!r.created) throw new Error(`burn ${key} was not created`);
    };
  }
  if (path === 'graphql') {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${t.surfaceToken}` };
    return async (key) => {
      const res = await server.yoga.fetch('http://nexus.bench/graphql', {
        method: 'POST',
        headers,
        body: JSON.stringify({ query: BURN_MUTATION, variables: { input: { amount: AMOUNT.toString(), reason: 'bench', idempotencyKey: key } } }),
      });
      const body = (await res.json()) as { data?: { burnCredits?: { entry?: { id?: string } } } | null; errors?: unknown };
      if (body.errors || !body.data?.burnCredits?.entry?.id) throw new Error(`HTTP ${res.status} ${JSON.stringify(body.errors)}`);
    };
  }
  if (pool) {
    const amount = AMOUNT.toString();
    return async () => {
      const r = await pool.query('UPDATE "Wallet" SET balance = balance - $1 WHERE id = $2 AND balance >= $1', [amount, t.walletId]);
      if (r.rowCount !== 1) throw new Error('bare UPDATE changed no row');
    };
  }
  return async () => {
    const n = await prisma.$executeRaw`UPDATE "Wallet" SET balance = balance - ${AMOUNT} WHERE id = ${t.walletId} AND balance >= ${AMOUNT}`;
    if (n !== 1) throw new Error('bare UPDATE changed no row');
  };
}

interface Cell {
  path: (typeof PATHS)[number];
  label: string;
  tenant: FundedTenant;
  op: BurnOp;
  warmup: Slice[];
  slices: Slice[];
}

/**
 * The three paths of one backend and client count run interleaved, in rounds with a rotating
 * order, so a burst of load elsewhere on the machine hits all three alike and the ratios hold.
 */
async function benchClients(backend: BenchBackend, clients: number, rows: Row[]): Promise<void> {
  const cells: Cell[] = [];
  for (const path of PATHS) {
    // A fresh wallet per cell, so each cell's books stand alone.
    const label = `${backend.kind}-${path.key}-c${clients}`;
    const tenant = await fundedTenant(backend.prisma, INITIAL, label);
    cells.push({ path, label, tenant, op: burnOp(backend, path.key, tenant), warmup: [], slices: [] });
  }
  for (const cell of cells) cell.warmup.push(await runSlice(cell.op, { clients, durationMs: WARMUP_MS, label: `${cell.label}-w` }));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (let i = 0; i < cells.length; i += 1) {
      const cell = cells[(round + i) % cells.length];
      if (!cell) continue;
      const slice = await runSlice(cell.op, { clients, durationMs: SLICE_MS, label: `${cell.label}-r${round}`, serverCpuMs: backend.serverCpuMs });
      cell.slices.push(slice);
    }
  }
  for (const cell of cells) {
    const result = summarise(cell.slices);
    const warm = summarise(cell.warmup);
    result.failures += warm.failures;
    result.firstFailure ??= warm.firstFailure;
    const burns = result.measured + warm.measured;
    const books = checkBooks(await readBooks(backend.prisma, cell.tenant.walletId), INITIAL, AMOUNT, burns, cell.path.writesLedger);
    rows.push({ backend: backend.kind, path: cell.path.key, clients, result, books });
    const failed = result.failures ? `, ${result.failures} FAILED (${result.firstFailure})` : '';
    console.log(`  ${cell.path.label.padEnd(24)} ${String(clients).padStart(2)} clients: ${fmt(result.perSecond, 0).padStart(6)} burns/s${failed}; books ${books.text}`);
  }
}

async function benchBackend(kind: BackendKind, rows: Row[]): Promise<{ steps: Step[]; driver: string }> {
  const started = performance.now();
  const backend = await openBackend(kind);
  try {
    const where =
      kind === 'postgresql'
        ? `database ${backend.database}; Prisma adapter-pg pool max ${PRISMA_PG_POOL_MAX}, baseline pg.Pool max ${PRISMA_PG_POOL_MAX}`
        : `${backend.dataDir}/pglite; baseline through prisma.$executeRaw on the same instance`;
    console.log(`\n[${kind}] ready in ${((performance.now() - started) / 1000).toFixed(1)} s (${where})`);
    for (const clients of CLIENTS) await benchClients(backend, clients, rows);
    return await breakdown(backend, BREAKDOWN_ROUNDS, BREAKDOWN_CALLS, AMOUNT);
  } finally {
    await backend.close();
  }
}

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function table(headers: string[], body: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function report(rows: Row[], breakdowns: Map<BackendKind, { steps: Step[]; driver: string }>): void {
  const find = (b: BackendKind, p: PathKey, c: number) => rows.find((r) => r.backend === b && r.path === p && r.clients === c);
  console.log(
    `\nBurns/s: ${ROUNDS} rounds × ${SLICE_MS} ms per cell, the three paths interleaved, after ${WARMUP_MS} ms warm-up; all clients on one wallet, amount ${AMOUNT}:\n`,
  );
  console.log(
    table(
      ['backend', 'path', 'clients', 'burns', 'burns/s', 'p50 ms', 'p99 ms', 'vs baseline', 'node CPU ms/burn', 'pg CPU ms/burn', 'failures', 'books'],
      rows.map((r) => {
        const base = find(r.backend, 'baseline', r.clients)?.result.perSecond ?? Number.NaN;
        return [
          r.backend,
          PATHS.find((p) => p.key === r.path)?.label ?? r.path,
          String(r.clients),
          String(r.result.measured),
          fmt(r.result.perSecond, 0),
          fmt(r.result.p50Ms, 2),
          fmt(r.result.p99Ms, 2),
          r.path === 'baseline' ? '1.00' : fmt(r.result.perSecond / base, 2),
          fmt(r.result.nodeCpuMsPerBurn, 2),
          r.backend === 'pglite' ? '(in node)' : fmt(r.result.serverCpuMsPerBurn, 2),
          String(r.result.failures),
          r.books.ok ? 'OK' : 'FAIL',
        ];
      }),
    ),
  );
  console.log('\nRatios ours / baseline in burns/s (1.00 = as fast as a bare UPDATE); in brackets the lowest and highest round:\n');
  const ratio = (num: CellResult | undefined, den: CellResult | undefined) => {
    if (!num || !den) return '-';
    const rounds = num.roundRates.map((r, i) => r / (den.roundRates[i] ?? Number.NaN)).filter(Number.isFinite);
    return `${fmt(num.perSecond / den.perSecond, 2)} (${fmt(Math.min(...rounds), 2)}–${fmt(Math.max(...rounds), 2)})`;
  };
  const ratioRows: string[][] = [];
  for (const b of BACKENDS) {
    for (const c of CLIENTS) {
      const [dom, gql, base] = (['domain', 'graphql', 'baseline'] as const).map((p) => find(b, p, c)?.result);
      ratioRows.push([b, `${c} client${c > 1 ? 's' : ''}`, ratio(dom, base), ratio(gql, base), ratio(gql, dom)]);
    }
  }
  console.log(table(['backend', 'clients', '(a)/(c) burnCredits', '(b)/(c) GraphQL', '(b)/(a) API share'], ratioRows));
  for (const [b, { steps, driver }] of breakdowns) {
    console.log(
      `\nWhere a burn's time goes on ${b}: 1 client, ${BREAKDOWN_ROUNDS} interleaved rounds × ${BREAKDOWN_CALLS} sequential calls per step (bare driver: ${driver}):\n`,
    );
    console.log(
      table(
        ['step', 'stands for', 'statements', 'p50 ms', 'mean ms', 'node CPU ms/call'],
        steps.map((s) => [s.name, s.note, s.statements, fmt(s.p50Ms, 3), fmt(s.meanMs, 3), fmt(s.cpuMs, 3)]),
      ),
    );
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`credits bench: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other work on the machine skews every number)`);
  const rows: Row[] = [];
  const breakdowns = new Map<BackendKind, { steps: Step[]; driver: string }>();
  for (const kind of BACKENDS) breakdowns.set(kind, await benchBackend(kind, rows));
  report(rows, breakdowns);
  console.log(`\nload average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const bad = rows.filter((r) => !r.books.ok || r.result.failures > 0);
  console.log(`\n${bad.length === 0 ? 'All books balanced, no failed burn' : `${bad.length} cell(s) FAILED`}; total ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  if (bad.length > 0) process.exitCode = 1;
}

await main();
