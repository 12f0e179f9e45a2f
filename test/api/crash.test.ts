// Crash consistency: a gateway killed with SIGKILL while it writes remember batches and burns credits, on PGlite and
// local disk or on PostgreSQL and S3, leaves every batch whole or absent, a ledger that sums to the balance, and (on
// PGlite) a data directory that the next gateway opens at once, taking over the dead one's lock.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { watch as fsWatch } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { createTestDatabase, postgresAvailable } from '../helpers/nexus.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { float32Base64 } from '../../src/vectors/records.js';

const DIM = 32;
const BATCH = 200;
const TOP_UP = 1_000_000;
const REMEMBER = `mutation($d: String!, $r: [RecordInput!]!) { remember(input: { domain: $d, records: $r }) { records { id } } }`;
const BURN = `mutation($i: BurnCreditsInput!) { burnCredits(input: $i) { entry { id } } }`;
const IN_BATCH = `query($d: String!, $v: String!, $kind: String!) { domain(key: $d) { search(input: { vectorBase64: $v, k: 1000, filter: { kinds: [$kind] } }) { record { id } } } }`;
const COUNT = `query($d: String!) { domain(key: $d) { recordCount } }`;
const LEDGER = `query($after: ID) { wallet { balance ledger(first: 100, after: $after) { id amount balanceAfter idempotencyKey } } }`;

const pgUp = await postgresAvailable();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const vector = () => float32Base64(Float32Array.from({ length: DIM }, () => Math.random() - 0.5));

/** One remember call: its records' kind names the batch, and with named ids so do the ids. */
interface Batch {
  domain: string;
  kind: string;
  /** The ids given (the mergeInsert path when they include the domain's "shared" record); null: server-assigned. */
  ids: string[] | null;
  state: 'sent' | 'acked' | 'failed' | 'refused';
}

type Writer = { domain: string; path: 'add' | 'merge' | 'named' };

// Per store, a writer of each path and then some: two commits can be in flight at once (one per store), more wait
// for the store's write lock, so the kill lands mid-commit, between commits and mid-request alike.
const WRITERS: Writer[] = [
  { domain: 'health', path: 'add' },
  { domain: 'health', path: 'add' },
  { domain: 'health', path: 'merge' },
  { domain: 'finance', path: 'add' },
  { domain: 'finance', path: 'merge' },
  { domain: 'finance', path: 'named' },
];
const BURNERS = 3;

interface Load {
  batches: Batch[];
  burns: { key: string; amount: number; state: 'sent' | 'acked' | 'failed' | 'refused' }[];
}

/**
 * Writes and burns from several clients at once until the gateway is killed: after `ackedBefore` batches, as soon as
 * a new data file appears under `watch` (the stores' directory: the kill then lands between a batch's data and its
 * commit, or in the data file's write), or after a second without one.
 */
async function loadAndKill(gw: GatewayProcess, owner: string, round: number, ackedBefore: number, watch: string): Promise<Load> {
  const load: Load = { batches: [], burns: [] };
  let killed = false;
  const writer = async (w: Writer, n: number) => {
    for (let i = 0; !killed; i++) {
      const kind = `r${round}-w${n}-${i}`;
      const own = w.path === 'add' ? null : Array.from({ length: w.path === 'merge' ? BATCH - 1 : BATCH }, (_, j) => `${kind}-${j}`);
      const batch: Batch = { domain: w.domain, kind, ids: own, state: 'sent' };
      load.batches.push(batch);
      const records = Array.from({ length: BATCH }, (_, j) => ({ kind, vectorBase64: vector(), ...(own ? { id: own[j] ?? 'shared' } : {}) }));
      // The merge writers' shared record is stored already: their batches take the mergeInsert path.
      if (w.path === 'merge') records[BATCH - 1] = { id: 'shared', kind: 'shared', vectorBase64: vector() };
      try {
        const res = await gw.gql(REMEMBER, { d: w.domain, r: records }, owner);
        batch.state = res.errors ? 'refused' : 'acked';
      } catch {
        batch.state = 'failed';
      }
    }
  };
  const burner = async (n: number) => {
    for (let i = 0; !killed; i++) {
      const burn = { key: `r${round}-b${n}-${i}`, amount: 1 + ((n * 7 + i) % 5), state: 'sent' as Load['burns'][number]['state'] };
      load.burns.push(burn);
      try {
        const res = await gw.gql(BURN, { i: { amount: String(burn.amount), reason: 'crash test', idempotencyKey: burn.key } }, owner);
        burn.state = res.errors ? 'refused' : 'acked';
      } catch {
        burn.state = 'failed';
      }
    }
  };
  const running = [...WRITERS.map((w, n) => writer(w, n)), ...Array.from({ length: BURNERS }, (_, n) => burner(n))];
  for (const until = Date.now() + 60_000; load.batches.filter((b) => b.state === 'acked').length < ackedBefore; await sleep(2)) {
    if (Date.now() > until || load.batches.some((b) => b.state !== 'sent' && b.state !== 'acked')) {
      killed = true;
      throw new Error(`before the kill: ${JSON.stringify(load.batches.filter((b) => b.state !== 'sent' && b.state !== 'acked'))}\n${gw.output().slice(-2000)}`);
    }
  }
  await new Promise<void>((resolve) => {
    const timer = setTimeout(kill, 1000);
    const watcher = fsWatch(watch, { recursive: true }, (_event, file) => {
      if (/vectors\.lance\/data\/[^/]+\.lance/.test(String(file))) kill();
    });
    function kill() {
      clearTimeout(timer);
      watcher.close();
      gw.signal('SIGKILL');
      resolve();
    }
  });
  killed = true;
  await gw.exited();
  await Promise.all(running);
  return load;
}

async function setUp(gw: GatewayProcess): Promise<string> {
  const signUp = await gw.gql('mutation($e: String!) { signUp(input: { email: $e, domains: ["health", "finance"] }) { ownerToken } }', {
    e: `crash-${randomBytes(4).toString('hex')}@example.com`,
  });
  const owner = signUp.data.signUp.ownerToken as string;
  const top = await gw.gql(`mutation { topUpCredits(input: { amount: "${TOP_UP}", reason: "start", idempotencyKey: "top" }) { entry { id } } }`, {}, owner);
  expect(top.errors).toBeUndefined();
  for (const d of ['health', 'finance']) {
    const res = await gw.gql(REMEMBER, { d, r: [{ id: 'shared', kind: 'shared', vectorBase64: vector() }] }, owner);
    expect(res.errors).toBeUndefined();
  }
  return owner;
}

interface Seen {
  whole: number;
  absent: number;
  /** Batches whose request the kill cut (no answer), and how many of those were committed nonetheless. */
  unanswered: number;
  unansweredWhole: number;
  /** Whole batches per domain. */
  commits: Record<string, number>;
}

/**
 * Every batch is whole or absent (an acknowledged one whole), and the domains hold exactly the whole ones. Counts
 * are returned for the batches of `round` (every earlier one is checked again too).
 */
async function checkBatches(gw: GatewayProcess, owner: string, batches: Batch[], round: readonly Batch[]): Promise<Seen> {
  const seen: Seen = { whole: 0, absent: 0, unanswered: 0, unansweredWhole: 0, commits: { health: 0, finance: 0 } };
  expect(batches.filter((b) => b.state === 'refused')).toEqual([]);
  // Each domain also holds its one shared record (setUp), which the merge writers' batches upsert.
  const expected: Record<string, number> = { health: 1, finance: 1 };
  const q = vector();
  for (let from = 0; from < batches.length; from += 8) {
    await Promise.all(
      batches.slice(from, from + 8).map(async (b) => {
        const res = await gw.gql(IN_BATCH, { d: b.domain, v: q, kind: b.kind }, owner);
        expect(res.errors).toBeUndefined();
        const ids = (res.data.domain.search as { record: { id: string } }[]).map((h) => h.record.id);
        const size = b.ids ? b.ids.length : BATCH;
        // All or nothing: a partial batch fails here with its kind and count.
        expect({ kind: b.kind, count: ids.length }).toEqual({ kind: b.kind, count: ids.length === 0 && b.state !== 'acked' ? 0 : size });
        if (b.ids && ids.length > 0) expect(new Set(ids)).toEqual(new Set(b.ids));
        if (ids.length > 0) expected[b.domain] = (expected[b.domain] ?? 0) + size;
        if (!round.includes(b)) return;
        if (ids.length > 0) {
          seen.whole += 1;
          seen.commits[b.domain] = (seen.commits[b.domain] ?? 0) + 1;
        } else seen.absent += 1;
        if (b.state === 'failed') {
          seen.unanswered += 1;
          if (ids.length > 0) seen.unansweredWhole += 1;
        }
      }),
    );
  }
  for (const d of ['health', 'finance']) {
    expect({ d, count: (await gw.gql(COUNT, { d }, owner)).data.domain.recordCount }).toEqual({ d, count: expected[d] });
  }
  return seen;
}

/** Data files (one per commit of a batch) under a directory of stores, per domain: local disk or the S3 server's objects. */
async function dataFiles(root: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = { health: 0, finance: 0 };
  for (const entry of await readdir(root, { recursive: true })) {
    const match = /domains\/(health|finance)\/vectors\.lance\/data\/[^/]+\.lance(\._S3rver_object)?$/.exec(entry);
    if (match) counts[match[1]!] = (counts[match[1]!] ?? 0) + 1;
  }
  return counts;
}

/** The ledger read through the API sums to the balance, every balanceAfter follows, and no acknowledged burn is missing. */
async function checkLedger(gw: GatewayProcess, owner: string, burns: Load['burns']): Promise<{ entries: number; unanswered: number; unansweredApplied: number }> {
  const entries: { amount: string; balanceAfter: string; idempotencyKey: string; id: string }[] = [];
  let balance = '';
  for (let after: string | null = null; ; ) {
    const res = await gw.gql(LEDGER, { after }, owner);
    expect(res.errors).toBeUndefined();
    balance = res.data.wallet.balance as string;
    const page = res.data.wallet.ledger as typeof entries;
    entries.push(...page);
    if (page.length < 100) break;
    after = page[page.length - 1]!.id;
  }
  const oldestFirst = [...entries].reverse();
  let running = 0n;
  for (const e of oldestFirst) {
    running += BigInt(e.amount);
    expect({ key: e.idempotencyKey, balanceAfter: e.balanceAfter }).toEqual({ key: e.idempotencyKey, balanceAfter: String(running) });
  }
  expect(String(running)).toBe(balance);
  const keys = new Map(entries.map((e) => [e.idempotencyKey, BigInt(e.amount)]));
  expect(keys.size).toBe(entries.length);
  expect(burns.filter((b) => b.state === 'refused')).toEqual([]);
  for (const b of burns) {
    if (b.state === 'acked') expect({ key: b.key, amount: keys.get(b.key) }).toEqual({ key: b.key, amount: BigInt(-b.amount) });
    else if (keys.has(b.key)) expect(keys.get(b.key)).toBe(BigInt(-b.amount));
  }
  const unanswered = burns.filter((b) => b.state === 'failed');
  return { entries: entries.length, unanswered: unanswered.length, unansweredApplied: unanswered.filter((b) => keys.has(b.key)).length };
}

/**
 * One line of what the kill met. Orphans are data files that no commit took up: the kill landed after a batch's data
 * was written and before its commit (each domain's data files, less its committed batches, less the files of its
 * earlier rounds and set-up).
 */
function report(label: string, load: Load, seen: Seen, books: Awaited<ReturnType<typeof checkLedger>>, orphaned: number): void {
  console.log(
    `${label}: ${load.batches.length} batches sent, ${load.batches.filter((b) => b.state === 'acked').length} answered; ` +
      `${seen.whole} whole, ${seen.absent} absent; ${seen.unanswered} cut by the kill, of which ${seen.unansweredWhole} committed; ` +
      `${orphaned} orphaned data files (a kill mid-commit); ` +
      `${load.burns.length} burns sent, ${books.unanswered} cut, ${books.unansweredApplied} of those applied; ${books.entries} ledger entries`,
  );
}

/** Data files no commit took up: the files now, less the committed batches' and those there before the round. */
function orphans(files: Record<string, number>, commits: Record<string, number>, before: Record<string, number>): number {
  return ['health', 'finance'].reduce((n, d) => n + (files[d] ?? 0) - (commits[d] ?? 0) - (before[d] ?? 0), 0);
}

describe('a gateway killed with SIGKILL mid-load', () => {
  const gateways: GatewayProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.kill('SIGKILL')));
    for (const c of cleanups.reverse()) await c();
  });
  const start = async (env: Record<string, string>) => {
    const gw = await startGatewayProcess(env);
    gateways.push(gw);
    return gw;
  };
  const quiet = { NEXUS_VECTOR_DIM: String(DIM), NEXUS_INDEX_MIN_ROWS: '0', NEXUS_RATE_LIMIT_PER_MINUTE: '0', NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '0', NEXUS_SIGNUP_RATE_LIMIT_PER_HOUR: '0' };

  it('on PGlite and local disk: whole batches, an exact ledger, and a data directory the next gateway takes over', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'nexus-crash-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const env = { ...quiet, NEXUS_DATA_DIR: dir };
    const first = await start(env);
    const owner = await setUp(first);
    const round1 = await loadAndKill(first, owner, 1, 12, path.join(dir, 'vectors'));
    const lockAfterKill = await readFile(path.join(dir, 'nexus.lock'), 'utf8');
    expect(lockAfterKill.split(' ')[0]).toBe(String(first.pid));
    const files1 = await dataFiles(path.join(dir, 'vectors'));

    // The dead gateway's lock is taken over at once, and everything written before the kill is there.
    const second = await start(env);
    const seen1 = await checkBatches(second, owner, round1.batches, round1.batches);
    report('PGlite, local disk, round 1', round1, seen1, await checkLedger(second, owner, round1.burns), orphans(files1, seen1.commits, { health: 1, finance: 1 }));

    // Again, and this time the dead gateway's pid is taken by a live, unrelated process when the next one starts.
    const round2 = await loadAndKill(second, owner, 2, 12, path.join(dir, 'vectors'));
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    cleanups.push(async () => void sleeper.kill('SIGKILL'));
    const [deadPid, identity] = (await readFile(path.join(dir, 'nexus.lock'), 'utf8')).split(' ');
    expect(deadPid).toBe(String(second.pid));
    await writeFile(path.join(dir, 'nexus.lock'), identity ? `${sleeper.pid} ${identity}` : String(sleeper.pid));
    const files2 = await dataFiles(path.join(dir, 'vectors'));
    const third = await start(env);
    const seen2 = await checkBatches(third, owner, [...round1.batches, ...round2.batches], round2.batches);
    const books2 = await checkLedger(third, owner, [...round1.burns, ...round2.burns]);
    report('PGlite, local disk, round 2', round2, seen2, books2, orphans(files2, seen2.commits, files1));
    // The stores still take writes after two crashes.
    const more = await third.gql(REMEMBER, { d: 'health', r: [{ kind: 'after', vectorBase64: vector() }] }, owner);
    expect(more.errors).toBeUndefined();
  }, 180_000);

  (pgUp ? it : it.skip)('on PostgreSQL and S3: whole batches and an exact ledger', async () => {
    const database = await createTestDatabase('nexus_crash');
    cleanups.push(database.drop);
    const s3: S3TestServer = await startS3Server();
    cleanups.push(() => s3.stop());
    const dataDir = path.join(tmpdir(), `nexus-crash-${randomBytes(4).toString('hex')}`);
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const env = {
      ...quiet,
      DATABASE_URL: database.url,
      NEXUS_DATA_DIR: dataDir,
      NEXUS_STORAGE_URI: 's3://nexus/crash',
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    };
    const first = await start(env);
    const owner = await setUp(first);
    const round1 = await loadAndKill(first, owner, 1, 10, s3.directory);
    const files = await dataFiles(s3.directory);
    const second = await start(env);
    const seen = await checkBatches(second, owner, round1.batches, round1.batches);
    report('PostgreSQL, S3', round1, seen, await checkLedger(second, owner, round1.burns), orphans(files, seen.commits, { health: 1, finance: 1 }));
    // And in SQL: every wallet of the database is the sum of its ledger.
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    const wallets = await sql.query<{ balance: string; sum: string | null }>('SELECT w.balance::text, (SELECT sum(amount)::text FROM "LedgerEntry" e WHERE e."walletId" = w.id) AS sum FROM "Wallet" w');
    await sql.end();
    expect(wallets.rows).toHaveLength(1);
    expect(wallets.rows.map((w) => w.sum)).toEqual(wallets.rows.map((w) => w.balance));
    const more = await second.gql(REMEMBER, { d: 'finance', r: [{ id: 'after', kind: 'after', vectorBase64: vector() }] }, owner);
    expect(more.errors).toBeUndefined();
  }, 180_000);
});
