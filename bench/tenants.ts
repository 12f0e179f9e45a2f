// Many tenants: 10,000 tenants × 3 domains of small tables in one gateway, on local disk and on the S3 test server.
//
//   node --import tsx bench/tenants.ts --tenants 10000 --records 20 --backend both --cold 30 --warm 200 --sweep 600 --sweep-bucket 250 --cache 256
//   (also --sample 50 --probe 3 --parallel 4 --k 10 --dim 384 --seed 42)
//
// Per backend, one in-process gateway (PGlite control plane, NEXUS_TABLE_CACHE_SIZE = --cache) and, in this order:
//  1. --sample tenants made entirely through the API: signUp one at a time (timed), then remember --records records
//     into each of the 3 domains (the 3 in parallel, --parallel tenants at a time; timed).
//  2. The other tenants (--tenants minus 2 × --sample), made the fast way, because 10,000 through the API would take
//     ~14 min on local disk and ~37 min on S3 here (step 1's rate; each run's notes say it again): the rows signUp
//     creates inserted with createMany, and each tenant's 3 tables hard-linked from one of the step-1 tenants (round
//     robin), i.e. tables the gateway itself wrote. Lance files are immutable and refer to each other by relative path,
//     so every linked table is a table of its own (on the S3 server, every linked object an object); the cold-sampled
//     ones are checked against raw LanceDB, and every swept one must answer k hits. The S3 server runs in a child
//     process (test/helpers/s3-server-process.ts), so this process's RSS and event loop are the gateway's.
//  3. --sample more tenants through the API at the full tenant count: signUp cost there, against step 1's. On the first
//     --probe of them, the files and bytes the tenant has on storage (local: its directory walked; S3: ListObjectsV2)
//     right after signUp, after a God View (a DASHBOARD surface mounting the 3 domains) searches its empty domains,
//     and after the writes; the last is compared with raw LanceDB writing the same rows with one createTable.
//  4. Cold first search: --cold tenants from step 2 that this process never opened, each searched once through the API
//     (owner token, domain health) and once by raw LanceDB on the same table (fresh lancedb.connect with the gateway's
//     storage and connect options, openTable, the gateway's own query), in a shuffled order; also, as diagnostics,
//     raw plus the gateway's first-open index check, and the tenant's business store through the API (token now
//     known) against raw. And --cold more tenants searched over all 3 domains (the God View shape) against raw's
//     3 cold opens run concurrently. Every path waits for the gateway's background work of the one before.
//     Target on S3: API ≤ 1.3× raw at p50, for both shapes.
//  5. Warm: --warm searches of one open store, API against raw on an open table, interleaved.
//  6. A sweep: God View searches of --sweep (local) or --sweep-bucket more never-opened tenants, --parallel at a time
//     (fewer on S3 because the test server's LISTs slow down with the tenant count, see the notes), while RSS and
//     services.vectors.openTables() are sampled; the LRU must keep openTables() ≤ --cache, and RSS must not grow:
//     the sweep's second half may peak at most 1.15× its first half's peak.
// RSS is sampled every 20 ms through the whole run. It runs with NODE_ENV=production unless NODE_ENV is set.
import { nodeEnv } from './lib/production-env.js';
import { loadavg } from 'node:os';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import * as lancedb from '@lancedb/lancedb';
import { viewerOfHash } from '../src/auth/viewer.js';
import { hashToken } from '../src/auth/tokens.js';
import { storeUri, TABLE_NAME } from '../src/vectors/layout.js';
import { toUnitVector } from '../src/vectors/records.js';
import { searchQuery } from '../src/vectors/store.js';
import { createRng, randomUnitVector, shuffle } from './lib/random.js';
import { runBenchmark } from './lib/bench-config.js';
import { report, type Figure } from './lib/report.js';
import { summarize } from './lib/stats.js';
import { insertTenants, linkTrees, listTree, newTenants, type BulkTenant } from './lib/tenants-bulk.js';
import {
  b64,
  BUCKET,
  MB,
  parseArgs,
  pool,
  rawColdSearch,
  rawColdSearchWithCheck,
  rssSampler,
  s3Client,
  startBenchGateway,
  tenantFootprint,
  type Backend,
  type BenchGateway,
  type Footprint,
} from './lib/tenants-gateway.js';

const opts = parseArgs(
  process.argv.slice(2),
  { tenants: 10_000, records: 20, sample: 50, probe: 3, cold: 30, warm: 200, sweep: 600, 'sweep-bucket': 250, cache: 256, parallel: 4, k: 10, dim: 384, seed: 42 },
  'both',
);
const DOMAINS = ['health', 'business', 'finance'] as const;
const COLD_TARGET = 1.3;
const SIGN_UP_WARMUP = 10;
// RSS over the sweep's second half against its first (the LRU full throughout): growth beyond this is not "bounded".
const RSS_TARGET = 1.15;
// Full collections at two fixed points (see runBackend); --expose-gc set at run time, so plain `node --import tsx` works.
v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const mb = (bytes: number) => bytes / MB;
const p50 = (xs: readonly number[]) => summarize(xs).p50;

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { ownerToken tenant { id } } }`;
const REMEMBER = `mutation($d: String!, $r: [RecordInput!]!) { remember(input: { domain: $d, records: $r }) { records { id } } }`;
const SEARCH_ONE = `query($v: String!, $k: Int!, $d: [String!]!) { search(input: { vectorBase64: $v, k: $k, domains: $d }) { hits { distance record { id } } } }`;
const SEARCH_ALL = `query($v: String!, $k: Int!) { search(input: { vectorBase64: $v, k: $k }) { hits { distance record { id } } } }`;

const sweepOf = (backend: Backend) => (backend === 's3' ? opts['sweep-bucket'] : opts.sweep);
for (const backend of opts.backends) {
  if (opts.tenants < 2 * opts.sample + 3 * opts.cold + sweepOf(backend)) {
    throw new Error(`--tenants ${opts.tenants} is too few for 2 × --sample ${opts.sample}, 3 × --cold ${opts.cold} and a sweep of ${sweepOf(backend)} (${backend})`);
  }
  if (sweepOf(backend) < 2) throw new Error('a sweep needs at least 2 tenants');
}
if (opts.cold < 1) throw new Error('--cold must be ≥ 1');
if (opts.sample < 1 || opts.records < 1 || opts.probe > opts.sample) throw new Error('--sample and --records must be ≥ 1, --probe ≤ --sample');
if (opts.cache < 1) throw new Error('--cache must be ≥ 1');

interface Tenant {
  tenantId: string;
  ownerToken: string;
}

interface BackendResult {
  figures: Figure[];
  notes: string[];
}

async function runBackend(backend: Backend): Promise<BackendResult> {
  gc(); // what an earlier backend left behind is not this one's RSS
  const rss = rssSampler();
  const gw = await startBenchGateway(backend, { dim: opts.dim, cacheSize: opts.cache });
  const s3 = s3Client(gw);
  const rawTables: lancedb.Table[] = [];
  const rng = createRng(opts.seed);
  const vector = () => randomUnitVector(rng, opts.dim);
  const { nprobes } = gw.config.index;
  const tag = `[${backend}]`;
  let maxOpen = 0;
  const noteOpen = () => {
    maxOpen = Math.max(maxOpen, gw.nexus.services.vectors.openTables());
  };
  try {
    const rssStart = rss.now();
    rss.resetPeak();
    console.log(`${tag} gateway up: database ${gw.nexus.services.db.backend}, storage ${gw.config.storageUri}, table cache ${opts.cache}; RSS ${mb(rssStart).toFixed(0)} MB`);

    // ---- Through the API: sign up (one at a time, timed), then the first writes. ----
    let emails = 0;
    const signUpOne = async (): Promise<Tenant & { ms: number }> => {
      const t0 = performance.now();
      const out = await gw.gql(SIGN_UP, { input: { email: `bench-${backend}-${emails++}@example.com`, displayName: 'Bench', domains: [...DOMAINS] } });
      const ms = performance.now() - t0;
      return { tenantId: out.signUp.tenant.id, ownerToken: out.signUp.ownerToken, ms };
    };
    const rememberMs: number[] = [];
    const writeTenant = async (t: Tenant) => {
      await Promise.all(
        DOMAINS.map(async (d) => {
          const records = Array.from({ length: opts.records }, (_, i) => ({ id: `${d}-${i}`, kind: 'note', text: `${d} record ${i}`, vectorBase64: b64(vector()) }));
          const t0 = performance.now();
          const out = await gw.gql(REMEMBER, { d, r: records }, t.ownerToken);
          rememberMs.push(performance.now() - t0);
          if (out.remember.records.length !== opts.records) throw new Error(`remember wrote ${out.remember.records.length} of ${opts.records}`);
        }),
      );
      noteOpen();
    };
    const apiStart = performance.now();
    const templates: Tenant[] = [];
    const signUpFirst: number[] = [];
    for (let i = 0; i < opts.sample; i++) {
      const t = await signUpOne();
      // The first few warm the process up (JIT, first queries); they are made but not counted.
      if (i >= SIGN_UP_WARMUP || opts.sample <= SIGN_UP_WARMUP) signUpFirst.push(t.ms);
      templates.push(t);
    }
    const writeStart = performance.now();
    await pool(templates, opts.parallel, writeTenant);
    const apiWriteMs = performance.now() - writeStart;
    const apiMs = performance.now() - apiStart;
    console.log(
      `${tag} ${opts.sample} tenants through the API in ${(apiMs / 1000).toFixed(1)} s: signUp p50 ${p50(signUpFirst).toFixed(1)} ms; ` +
        `3 × ${opts.records} records each in ${(apiWriteMs / 1000).toFixed(1)} s (${(apiWriteMs / opts.sample).toFixed(1)} ms a tenant, ${opts.parallel} in parallel)`,
    );

    // ---- The bulk: control-plane rows in createMany chunks, tables hard-linked from the API-written tenants. ----
    const bulkCount = opts.tenants - 2 * opts.sample;
    const bulk: BulkTenant[] = newTenants(bulkCount);
    const trees = await Promise.all(templates.map((t) => listTree(gw.tenantDir(t.tenantId))));
    const filesPerTenant = trees[0]?.files.length ?? 0;
    // The database rows (CPU on this thread) and the links (the file system, on libuv's threads) at the same time.
    const bulkStart = performance.now();
    const [insertMs, linkMs] = await Promise.all([
      (async () => {
        await insertTenants(gw.nexus.services.db.prisma, bulk, DOMAINS, `bulk-${backend}`);
        return performance.now() - bulkStart;
      })(),
      (async () => {
        for (let j = 0; j < templates.length; j++) {
          const targets = bulk.filter((_, i) => i % templates.length === j).map((b) => gw.tenantDir(b.tenantId));
          await linkTrees(gw.tenantDir((templates[j] as Tenant).tenantId), trees[j] as { files: string[]; dirs: string[] }, targets);
        }
        return performance.now() - bulkStart;
      })(),
    ]);
    const bulkMs = performance.now() - bulkStart;
    console.log(
      `${tag} ${bulkCount} more tenants in ${(bulkMs / 1000).toFixed(1)} s: control plane ${(insertMs / 1000).toFixed(1)} s (createMany), storage ${(linkMs / 1000).toFixed(1)} s, concurrently ` +
        `(${filesPerTenant} ${backend === 's3' ? "S3-server files (objects and their sidecars)" : 'files'} hard-linked per tenant); RSS ${mb(rss.now()).toFixed(0)} MB`,
    );

    // ---- At the full tenant count: sign-up cost, and what one new tenant leaves on storage. ----
    const late: Tenant[] = [];
    const signUpLate: number[] = [];
    const footprints: { afterSignUp: Footprint; afterSurface: Footprint; afterGodView: Footprint; afterWrites: Footprint; raw: Footprint }[] = [];
    for (let i = 0; i < opts.sample; i++) {
      const t = await signUpOne();
      signUpLate.push(t.ms);
      late.push(t);
    }
    for (const [i, t] of late.slice(0, opts.probe).entries()) {
      const afterSignUp = await tenantFootprint(gw, t.tenantId, s3);
      await gw.gql(
        `mutation($input: CreateSurfaceInput!) { createSurface(input: $input) { id } }`,
        { input: { key: 'god-view', name: 'God View', kind: 'DASHBOARD', homeDomain: 'finance', mounts: DOMAINS.map((domain) => ({ domain, access: 'READ' })) } },
        t.ownerToken,
      );
      const surfaceToken: string = (await gw.gql(`mutation { issueSurfaceToken(input: { surface: "god-view" }) { token } }`, {}, t.ownerToken)).issueSurfaceToken.token;
      const afterSurface = await tenantFootprint(gw, t.tenantId, s3);
      const empty = await gw.gql(SEARCH_ALL, { v: b64(vector()), k: opts.k }, surfaceToken);
      if (empty.search.hits.length !== 0) throw new Error(`a God View over empty domains found ${empty.search.hits.length} hits`);
      const afterGodView = await tenantFootprint(gw, t.tenantId, s3);
      await writeTenant(t);
      const afterWrites = await tenantFootprint(gw, t.tenantId, s3);
      // Raw LanceDB writing the same rows, one createTable per domain, under a tenant-shaped prefix of its own.
      const rawTenant = `raw-footprint-${i}`;
      for (const d of DOMAINS) {
        const src = await lancedb.connect(gw.domainUri(t.tenantId, d), { storageOptions: gw.storageOptions, namespaceClientProperties: { manifest_enabled: 'false' } });
        const table = await src.openTable(TABLE_NAME);
        const rows = await table.query().toArrow();
        table.close();
        const dst = await lancedb.connect(storeUri(gw.config.storageUri, { scope: 'DOMAIN', tenantId: rawTenant, domainKey: d }), {
          storageOptions: gw.storageOptions,
          namespaceClientProperties: { manifest_enabled: 'false' },
        });
        (await dst.createTable(TABLE_NAME, rows)).close();
      }
      footprints.push({ afterSignUp, afterSurface, afterGodView, afterWrites, raw: await tenantFootprint(gw, rawTenant, s3) });
    }
    await pool(late.slice(opts.probe), opts.parallel, writeTenant);
    const fp = footprints[0];
    if (!fp) throw new Error('no footprint was measured');
    for (const f of footprints) {
      if (JSON.stringify(f.afterSurface) !== JSON.stringify(f.afterSignUp)) throw new Error(`createSurface changed storage: ${JSON.stringify(f)}`);
    }
    console.log(
      `${tag} signUp p50 at ${opts.tenants - opts.sample} tenants ${p50(signUpLate).toFixed(1)} ms; a new tenant on storage: ` +
        footprints.map((f) => `${f.afterSignUp.files}/${f.afterGodView.files}/${f.afterWrites.files} files, ${f.afterWrites.bytes} B (raw ${f.raw.files} files, ${f.raw.bytes} B)`).join('; '),
    );

    // ---- Cold first search: tenants this process never opened, API and raw on the same table, alternating. ----
    const untouched = shuffle([...bulk], createRng(opts.seed ^ 0xc01d));
    const sweep = sweepOf(backend);
    const coldOne = untouched.slice(0, opts.cold);
    const coldAll = untouched.slice(opts.cold, 2 * opts.cold);
    const sweepTenants = untouched.slice(2 * opts.cold, 2 * opts.cold + sweep);
    const lookupTenants = untouched.slice(2 * opts.cold + sweep, 3 * opts.cold + sweep);
    const cold = { api: [] as number[], raw: [] as number[], apiAll: [] as number[], rawAll: [] as number[], apiKnownToken: [] as number[], rawKnownToken: [] as number[], rawCheck: [] as number[] };
    const orderRng = createRng(opts.seed ^ 0x0bde);
    const expectedAll = Math.min(opts.k, DOMAINS.length * opts.records);
    for (let i = 0; i < opts.cold; i++) {
      const apiFirst = i % 2 === 0;
      // One domain.
      {
        const t = coldOne[i] as BulkTenant;
        const q = vector();
        const unit = toUnitVector(q, opts.dim, 'vector').unit;
        let apiIds: string[] = [];
        let rawIds: string[] = [];
        const api = async () => {
          const s = performance.now();
          const out = await gw.gql(SEARCH_ONE, { v: b64(q), k: opts.k, d: ['health'] }, t.ownerToken);
          cold.api.push(performance.now() - s);
          apiIds = out.search.hits.map((h: { record: { id: string } }) => h.record.id);
        };
        const raw = async () => {
          const s = performance.now();
          const r = await rawColdSearch(gw.domainUri(t.tenantId, 'health'), gw.storageOptions, unit, opts.k, nprobes);
          cold.raw.push(performance.now() - s);
          rawIds = r.ids;
          r.table.close();
        };
        // Diagnostic: raw plus the index maintainer's first-open check, run beside the search as the gateway runs it.
        const rawCheck = async () => {
          const s = performance.now();
          await rawColdSearchWithCheck(gw.domainUri(t.tenantId, 'health'), gw.storageOptions, unit, opts.k, nprobes);
          cold.rawCheck.push(performance.now() - s);
        };
        for (const step of shuffle([api, raw, rawCheck], orderRng)) {
          await step();
          // The gateway's background check of the store it just opened ends before the next path starts.
          await gw.nexus.services.vectors.indexIdle();
        }
        if (apiIds.length !== Math.min(opts.k, opts.records) || JSON.stringify(apiIds) !== JSON.stringify(rawIds)) {
          throw new Error(`cold search of ${t.tenantId}: API answered ${apiIds.join(',')}, raw ${rawIds.join(',')}`);
        }
        // Diagnostic: the same tenant's business store, never opened, now that the gateway knows the token.
        const apiB = async () => {
          const s = performance.now();
          await gw.gql(SEARCH_ONE, { v: b64(q), k: opts.k, d: ['business'] }, t.ownerToken);
          cold.apiKnownToken.push(performance.now() - s);
        };
        const rawB = async () => {
          const s = performance.now();
          const r = await rawColdSearch(gw.domainUri(t.tenantId, 'business'), gw.storageOptions, unit, opts.k, nprobes);
          cold.rawKnownToken.push(performance.now() - s);
          r.table.close();
        };
        for (const step of apiFirst ? [apiB, rawB] : [rawB, apiB]) {
          await step();
          await gw.nexus.services.vectors.indexIdle();
        }
      }
      // All three domains (the God View shape), against raw's three cold opens at once.
      {
        const t = coldAll[i] as BulkTenant;
        const q = vector();
        const unit = toUnitVector(q, opts.dim, 'vector').unit;
        let apiIds: string[] = [];
        let rawIds = new Set<string>();
        const api = async () => {
          const s = performance.now();
          const out = await gw.gql(SEARCH_ALL, { v: b64(q), k: opts.k }, t.ownerToken);
          cold.apiAll.push(performance.now() - s);
          apiIds = out.search.hits.map((h: { record: { id: string } }) => h.record.id);
        };
        const raw = async () => {
          const s = performance.now();
          const rs = await Promise.all(DOMAINS.map((d) => rawColdSearch(gw.domainUri(t.tenantId, d), gw.storageOptions, unit, opts.k, nprobes)));
          cold.rawAll.push(performance.now() - s);
          rawIds = new Set(rs.flatMap((r) => r.ids));
          for (const r of rs) r.table.close();
        };
        for (const step of apiFirst ? [api, raw] : [raw, api]) {
          await step();
          await gw.nexus.services.vectors.indexIdle();
        }
        if (apiIds.length !== expectedAll || !apiIds.every((id) => rawIds.has(id))) throw new Error(`cold God View of ${t.tenantId}: API answered ${apiIds.join(',')}`);
      }
      noteOpen();
    }

    // Diagnostic: the one statement that resolves a token the gateway has not seen yet, on tenants not used above.
    const lookupMs: number[] = [];
    for (const t of lookupTenants) {
      const s = performance.now();
      const viewer = await viewerOfHash(gw.nexus.services.db.prisma, hashToken(t.ownerToken));
      lookupMs.push(performance.now() - s);
      if (viewer.tenantId !== t.tenantId) throw new Error(`token of ${t.tenantId} resolved to ${viewer.tenantId}`);
    }

    // Diagnostic (S3): one LIST of a store's versions, the request a cold open makes first, on tenants not used above.
    const listMs: number[] = [];
    if (s3) {
      for (const t of lookupTenants) {
        const s = performance.now();
        const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${gw.prefix}/${t.tenantId}/domains/finance/vectors.lance/_versions/` }));
        listMs.push(performance.now() - s);
        if (!page.KeyCount) throw new Error(`no versions listed for ${t.tenantId}`);
      }
    }

    // ---- Warm: one open store, API against raw on an open table, interleaved. ----
    const warmTenant = coldOne[opts.cold - 1] as BulkTenant;
    const warmTable = (await rawColdSearch(gw.domainUri(warmTenant.tenantId, 'health'), gw.storageOptions, toUnitVector(vector(), opts.dim, 'vector').unit, opts.k, nprobes)).table;
    rawTables.push(warmTable);
    const warm = { api: [] as number[], raw: [] as number[] };
    for (let i = 0; i < opts.warm + 10; i++) {
      const q = vector();
      const unit = toUnitVector(q, opts.dim, 'vector').unit;
      const body = { v: b64(q), k: opts.k, d: ['health'] };
      const api = async () => {
        const s = performance.now();
        await gw.gql(SEARCH_ONE, body, warmTenant.ownerToken);
        if (i >= 10) warm.api.push(performance.now() - s);
      };
      const raw = async () => {
        const s = performance.now();
        await searchQuery(warmTable, { unit, k: opts.k, withVectors: false }, nprobes).toArray();
        if (i >= 10) warm.raw.push(performance.now() - s);
      };
      for (const step of i % 2 === 0 ? [api, raw] : [raw, api]) await step();
    }

    // ---- The sweep: many never-opened tenants' God Views; open handles and RSS sampled. ----
    gc(); // the sweep starts from live memory only, so its first half is no easier a baseline than its second
    const rssSweepStart = rss.now();
    const openAtSweepStart = gw.nexus.services.vectors.openTables();
    const sweepMs: number[] = [];
    const rssCurve: number[] = [];
    const heapCurve: number[] = [];
    const sweepStart = performance.now();
    const sweepRss: number[] = [];
    await pool(sweepTenants, opts.parallel, async (t, i) => {
      const s = performance.now();
      const out = await gw.gql(SEARCH_ALL, { v: b64(vector()), k: opts.k }, t.ownerToken);
      sweepMs.push(performance.now() - s);
      sweepRss.push(rss.now());
      if (out.search.hits.length !== expectedAll) throw new Error(`sweep: ${t.tenantId} answered ${out.search.hits.length} hits, expected ${expectedAll}`);
      noteOpen();
      if (i % Math.max(1, Math.floor(sweep / 10)) === 0) {
        rssCurve.push(rss.now());
        heapCurve.push(process.memoryUsage().heapUsed);
      }
    });
    const sweepWall = performance.now() - sweepStart;
    const rssEnd = rss.now();
    const rssPeak = rss.peak();
    // Bounded: each half of the sweep opens 1.5 × sweep stores, a few times the LRU; the second may not peak higher.
    const half = Math.floor(sweepRss.length / 2);
    const rssFirstHalf = Math.max(...sweepRss.slice(0, half));
    const rssSecondHalf = Math.max(...sweepRss.slice(half));
    console.log(
      `${tag} sweep: ${sweep} tenants × 3 stores in ${(sweepWall / 1000).toFixed(1)} s (God View p50 ${p50(sweepMs).toFixed(1)} ms, ${opts.parallel} in flight); ` +
        `open tables ${openAtSweepStart} at start, max ${maxOpen}; RSS (MB) ${rssCurve.map((x) => mb(x).toFixed(0)).join(' → ')} → ${mb(rssEnd).toFixed(0)}; ` +
        `JS heap used (MB) ${heapCurve.map((x) => mb(x).toFixed(0)).join(' → ')}`,
    );

    const c = (xs: number[]) => summarize(xs);
    const files = backend === 's3' ? 'objects' : 'files';
    const figures: Figure[] = [
      { name: `${tag} signUp p50 at ${opts.tenants - opts.sample} tenants`, value: p50(signUpLate), unit: 'ms', baseline: { name: 'signUp p50 at 0 tenants', value: p50(signUpFirst) } },
      { name: `${tag} open table handles, max (openTables())`, value: maxOpen, unit: 'tables', target: { text: `≤ ${opts.cache} (NEXUS_TABLE_CACHE_SIZE)`, met: maxOpen <= opts.cache } },
      { name: `${tag} RSS peak`, value: mb(rssPeak), unit: 'MB', baseline: { name: 'RSS at start (gateway up)', value: mb(rssStart) } },
      { name: `${tag} RSS at end`, value: mb(rssEnd), unit: 'MB', baseline: { name: `RSS at sweep start (${openAtSweepStart} tables open)`, value: mb(rssSweepStart) } },
      {
        name: `${tag} RSS peak, 2nd half of the sweep`,
        value: mb(rssSecondHalf),
        unit: 'MB',
        baseline: { name: 'peak in its 1st half', value: mb(rssFirstHalf) },
        target: { text: `≤ ${RSS_TARGET}×`, met: rssSecondHalf <= RSS_TARGET * rssFirstHalf },
      },
      {
        name: `${tag} cold first search p50, 1 domain`,
        value: c(cold.api).p50,
        unit: 'ms',
        baseline: { name: 'raw cold open + search', value: c(cold.raw).p50 },
        ...(backend === 's3' ? { target: { text: `≤ ${COLD_TARGET}×`, met: c(cold.api).p50 <= COLD_TARGET * c(cold.raw).p50 } } : {}),
      },
      { name: `${tag} cold first search p95, 1 domain`, value: c(cold.api).p95, unit: 'ms', baseline: { name: 'raw cold p95', value: c(cold.raw).p95 } },
      {
        name: `${tag} cold first God View p50, 3 domains`,
        value: c(cold.apiAll).p50,
        unit: 'ms',
        baseline: { name: 'raw 3 cold opens + searches, concurrent', value: c(cold.rawAll).p50 },
        ...(backend === 's3' ? { target: { text: `≤ ${COLD_TARGET}×`, met: c(cold.apiAll).p50 <= COLD_TARGET * c(cold.rawAll).p50 } } : {}),
      },
      { name: `${tag} warm search p50, 1 domain`, value: c(warm.api).p50, unit: 'ms', baseline: { name: 'raw search, open table', value: c(warm.raw).p50 } },
      { name: `${tag} new tenant on storage after signUp`, value: fp.afterSignUp.files, unit: files },
      { name: `${tag} … after a God View search of its empty domains`, value: fp.afterGodView.files, unit: files, baseline: { name: 'after signUp', value: fp.afterSignUp.files }, target: { text: 'unchanged', met: footprints.every((f) => f.afterGodView.files === f.afterSignUp.files) } },
      { name: `${tag} … bytes after that search`, value: fp.afterGodView.bytes, unit: 'B', baseline: { name: 'after signUp', value: fp.afterSignUp.bytes }, target: { text: 'unchanged', met: footprints.every((f) => f.afterGodView.bytes === f.afterSignUp.bytes) } },
      { name: `${tag} … after ${opts.records} records in each domain`, value: fp.afterWrites.files, unit: files, baseline: { name: 'raw createTable of the same rows', value: fp.raw.files } },
      { name: `${tag} … bytes after those writes`, value: fp.afterWrites.bytes, unit: 'B', baseline: { name: 'raw createTable of the same rows', value: fp.raw.bytes } },
    ];
    const notes = [
      `${tag} ${opts.tenants} tenants × 3 domains: ${2 * opts.sample} through the API (signUp, then remember ${opts.records} records a domain); ` +
        `${bulkCount} made in bulk in ${(bulkMs / 1000).toFixed(1)} s (createMany of the rows signUp writes: ${(insertMs / 1000).toFixed(1)} s; at the same time their ${bulkCount * 3} ` +
        `tables hard-linked from the API-written tenants' tables: ${(linkMs / 1000).toFixed(1)} s). API tenants cost ${(apiMs / opts.sample).toFixed(0)} ms each here ` +
        `(signUp one at a time, the 3 writes in parallel, ${opts.parallel} tenants at once), so all ${opts.tenants} through the API would take ~${((apiMs / opts.sample) * opts.tenants / 60_000).toFixed(0)} min.`,
      `${tag} remember p50 (first write of a domain, creates its table) ${p50(rememberMs).toFixed(1)} ms with ${opts.parallel} tenants × 3 domains in flight.`,
      `${tag} cold: ${opts.cold} + ${opts.cold} never-opened tenants (order of the paths shuffled or alternating, each waiting for the gateway's background work of the one before); cold includes the token lookup (first request of that token). ` +
        `p50/p95 ms: API 1 domain ${c(cold.api).p50.toFixed(1)}/${c(cold.api).p95.toFixed(1)}, raw ${c(cold.raw).p50.toFixed(1)}/${c(cold.raw).p95.toFixed(1)}; ` +
        `God View ${c(cold.apiAll).p50.toFixed(1)}/${c(cold.apiAll).p95.toFixed(1)}, raw 3 concurrent ${c(cold.rawAll).p50.toFixed(1)}/${c(cold.rawAll).p95.toFixed(1)}. ` +
        `Diagnostic, a second never-opened store of the same tenant (token already known): API ${c(cold.apiKnownToken).p50.toFixed(1)}/${c(cold.apiKnownToken).p95.toFixed(1)}, ` +
        `raw ${c(cold.rawKnownToken).p50.toFixed(1)}/${c(cold.rawKnownToken).p95.toFixed(1)} (${(c(cold.apiKnownToken).p50 / c(cold.rawKnownToken).p50).toFixed(2)}× at p50). ` +
        `Diagnostic, raw plus the index maintainer's first-open check (listIndices + countRows beside the search): ${c(cold.rawCheck).p50.toFixed(1)}/${c(cold.rawCheck).p95.toFixed(1)} ` +
        `(${(c(cold.rawCheck).p50 / c(cold.raw).p50).toFixed(2)}× raw at p50). Diagnostic, resolving an unseen token (viewerOfHash, one SQL statement, ` +
        `${gw.nexus.services.db.backend}): ${c(lookupMs).p50.toFixed(1)}/${c(lookupMs).p95.toFixed(1)}.` +
        (s3 ? ` One LIST of a store's _versions/ on this S3 server (AWS SDK): ${c(listMs).p50.toFixed(1)}/${c(listMs).p95.toFixed(1)}.` : ''),
      `${tag} sweep: ${sweep} never-opened tenants' God Views (${sweep * 3} stores through a ${opts.cache}-table LRU) in ${(sweepWall / 1000).toFixed(1)} s; ` +
        `RSS MB start ${mb(rssStart).toFixed(0)}, sweep start ${mb(rssSweepStart).toFixed(0)}, peak ${mb(rssPeak).toFixed(0)}, end ${mb(rssEnd).toFixed(0)}.`,
      `${tag} footprint on ${backend === 's3' ? 'S3 (ListObjectsV2: objects and their sizes)' : 'local disk (files under the tenant directory)'}, ${footprints.length} tenant(s): ` +
        footprints.map((f) => `signUp ${f.afterSignUp.files}/${f.afterSignUp.bytes} B, surface ${f.afterSurface.files}, God View ${f.afterGodView.files}/${f.afterGodView.bytes} B, writes ${f.afterWrites.files}/${f.afterWrites.bytes} B`).join('; ') + '.',
    ];
    return { figures, notes };
  } finally {
    rss.stop();
    await Promise.allSettled(rawTables.map((t) => t.close()));
    s3?.destroy();
    await gw.close();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(
    `nexus tenants bench: ${opts.tenants} tenants × ${DOMAINS.length} domains × ${opts.records} records, dim ${opts.dim}, backends ${opts.backends.join(', ')}, ` +
      `table cache ${opts.cache}, cold ${opts.cold}, warm ${opts.warm}, sweep ${opts.sweep} (S3: ${opts['sweep-bucket']}), seed ${opts.seed}`,
  );
  console.log(`node ${process.version}, NODE_ENV=${nodeEnv}; load average at start: ${load()}\n`);
  const figures: Figure[] = [];
  const notes: string[] = [];
  for (const backend of opts.backends) {
    const r = await runBackend(backend);
    figures.push(...r.figures);
    notes.push(...r.notes);
    console.log('');
  }
  notes.push(`run ${((performance.now() - started) / 1000).toFixed(0)} s; load average at end: ${load()} (2 cores, shared)`);
  report('tenants', figures, notes);
}

runBenchmark(main);
