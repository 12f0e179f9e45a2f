// Load generator and bookkeeping for the credits bench: N clients burn in a loop
// for a fixed time slice, and the wallet's books are read back to prove nothing was lost.
import type { PrismaClient } from '../../src/generated/prisma/client.js';

/** One burn attempt; `key` is unique per call (the idempotency key). Throws on any failure. */
export type BurnOp = (key: string) => Promise<void>;

export interface SliceOptions {
  clients: number;
  durationMs: number;
  /** Prefix of every idempotency key of the slice; must differ between slices of one wallet. */
  label: string;
  /** pid → CPU ms of the database server's processes (PostgreSQL); PGlite runs inside Node. */
  serverCpuMs?: () => Promise<Map<number, number>>;
}

/** One timed run of N clients against one path. */
export interface Slice {
  /** Latency of every successful burn, ms. */
  latencies: number[];
  failures: number;
  firstFailure?: string;
  elapsedMs: number;
  nodeCpuMs: number;
  /** NaN when not measured. */
  serverCpuMs: number;
}

/** Every client loops until the time is up; the slice ends when the last burn in flight has finished. */
export async function runSlice(op: BurnOp, options: SliceOptions): Promise<Slice> {
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let seq = 0;
  const serverBefore = await options.serverCpuMs?.();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const end = start + options.durationMs;
  const client = async () => {
    while (failures <= 50) { // a broken path stops early; the report says why
      const began = performance.now();
      if (began >= end) return;
      seq += 1;
      try {
        await op(`${options.label}-${seq}`);
        latencies.push(performance.now() - began);
      } catch (error) {
        failures += 1;
        firstFailure ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  const elapsedMs = Math.max(performance.now() - start, 1);
  const cpu = process.cpuUsage(cpuBefore);
  const serverAfter = await options.serverCpuMs?.();
  return {
    latencies,
    failures,
    firstFailure,
    elapsedMs,
    nodeCpuMs: (cpu.user + cpu.system) / 1000,
    serverCpuMs: serverBefore && serverAfter ? cpuDelta(serverBefore, serverAfter) : Number.NaN,
  };
}

/** CPU used between two snapshots of pid → ms; a process that exited in between is lost (undercounts). */
function cpuDelta(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let ms = 0;
  for (const [pid, now] of after) ms += now - (before.get(pid) ?? 0);
  return ms;
}

export interface CellResult {
  measured: number;
  failures: number;
  firstFailure?: string;
  perSecond: number;
  /** burns/s of each measured slice, in order (for ratios round by round). */
  roundRates: number[];
  p50Ms: number;
  p99Ms: number;
  nodeCpuMsPerBurn: number;
  serverCpuMsPerBurn: number;
}

/** Folds the measured slices of one cell (warm-up slices are left out). */
export function summarise(slices: readonly Slice[]): CellResult {
  const latencies = slices.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const measured = latencies.length;
  const elapsedMs = slices.reduce((t, s) => t + s.elapsedMs, 0);
  const per = (ms: number) => ms / Math.max(measured, 1);
  return {
    measured,
    failures: slices.reduce((t, s) => t + s.failures, 0),
    firstFailure: slices.find((s) => s.firstFailure)?.firstFailure,
    perSecond: (measured * 1000) / Math.max(elapsedMs, 1),
    roundRates: slices.map((s) => (s.latencies.length * 1000) / s.elapsedMs),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    nodeCpuMsPerBurn: per(slices.reduce((t, s) => t + s.nodeCpuMs, 0)),
    serverCpuMsPerBurn: per(slices.reduce((t, s) => t + s.serverCpuMs, 0)),
  };
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

export interface Books {
  balance: bigint;
  ledgerSum: bigint;
  entries: number;
}

/** Balance and ledger of one wallet, read in one statement (one snapshot). */
export async function readBooks(prisma: PrismaClient, walletId: string): Promise<Books> {
  const rows = await prisma.$queryRaw<{ balance: bigint | string; sum: bigint | string | null; n: bigint | number | string }[]>`
    SELECT w.balance,
           (SELECT sum(amount) FROM "LedgerEntry" WHERE "walletId" = w.id) AS sum,
           (SELECT count(*) FROM "LedgerEntry" WHERE "walletId" = w.id) AS n
    FROM "Wallet" w WHERE w.id = ${walletId}`;
  const row = rows[0];
  if (!row) throw new Error(`wallet ${walletId} not found`);
  return { balance: BigInt(row.balance), ledgerSum: BigInt(row.sum ?? 0), entries: Number(row.n) };
}

export interface InvariantCheck {
  ok: boolean;
  text: string;
}

/**
 * After a cell on a wallet funded with one top-up of `initial`:
 * balance = initial − amount × burns, and, when the path writes the ledger,
 * ledger sum = balance with one entry per burn (+ the top-up).
 * The bare-UPDATE baseline writes no ledger: its ledger must still hold the top-up alone.
 */
export function checkBooks(books: Books, initial: bigint, amount: bigint, burns: number, writesLedger: boolean): InvariantCheck {
  const expected = initial - amount * BigInt(burns);
  const balanceOk = books.balance === expected;
  const ledgerOk = writesLedger
    ? books.ledgerSum === books.balance && books.entries === burns + 1
    : books.ledgerSum === initial && books.entries === 1;
  const ledgerText = writesLedger
    ? `ledger sum ${books.ledgerSum === books.balance ? '=' : '≠'} balance, ${books.entries} entries (${burns}+1)`
    : `ledger untouched (${books.entries} entry, sum ${books.ledgerSum})`;
  return {
    ok: balanceOk && ledgerOk,
    text: `${balanceOk && ledgerOk ? 'OK' : 'FAIL'}: balance ${books.balance} ${balanceOk ? '=' : '≠'} ${initial}−${amount}×${burns}; ${ledgerText}`,
  };
}
