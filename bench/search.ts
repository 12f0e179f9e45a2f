// Search at scale, benchmarks (1)-(3) of `npm run bench`: (1) search through the gateway (in-process and over HTTP)
// vs raw LanceDB on the same table and query vectors, p50/p95/p99; (2) the God View, fused over three indexed
// domains, vs the slowest single domain; (3) recall@10 of the indexed searches vs exact brute force. Beside them, the
// same places searched by text (BM25) and hybrid (vector + text, RRF): gateway text vs raw LanceDB BM25, the God View
// by text vs the slowest single domain, hybrid vs vector. Text has no targets; its figures are printed as measured.
//
//   npm run bench:search -- --rows 100000 --queries 200 --warmup 20 --seed 42
//
// One run, one data set: vectors clustered like real embeddings (test/helpers/clustered.ts), a tenant made through
// the API, every record written through `remember` (base64 vectors, and 8-16 made-up words drawn Zipf-like: see
// lib/synthetic-text.ts), each domain indexed by the gateway's own lifecycle (waited for, then checked in LanceDB's
// own index listing), and every path answering the same queries in rounds whose path order is shuffled,
// so background noise lands on all of them. NODE_ENV=production unless set (see lib/production-env.ts).
import { nodeEnv } from './lib/production-env.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { createLogger } from '../src/log/logger.js';
import { createNexusServer } from '../src/server/create-nexus-server.js';
import { storeUri, TABLE_NAME } from '../src/vectors/layout.js';
import { parseIntArgs } from './lib/args.js';
import { benchConfig, runBenchmark } from './lib/bench-config.js';
import { createClusteredSource } from '../test/helpers/clustered.js';
import { createRng, shuffle } from './lib/random.js';
import { report, type Figure } from './lib/report.js';
import { formatTable, ms, summarize, type Summary } from './lib/stats.js';
import { float32Base64 as b64 } from '../src/vectors/records.js';
import { textQuery } from '../src/vectors/text-search.js';
import { HYBRID_CANDIDATES } from '../src/search/fused-search.js';
import { describeCoverage, indexCoverage } from './lib/index-coverage.js';
import { modeFigures, modeTable } from './lib/search-modes.js';
import { createTextSource, type TextSource } from './lib/synthetic-text.js';
import { FUSED, FUSED_HYBRID, FUSED_TEXT, HYBRID, searchIds, SINGLE, SINGLE_JSON, TEXT, type Fetcher } from './lib/search-client.js';

const opts = parseIntArgs(process.argv.slice(2), { rows: 100_000, queries: 200, warmup: 20, seed: 42, k: 10, recall: 100 });
const DIM = 384;
const BATCH = 1000;
const DOMAINS = ['health', 'business', 'finance'] as const;
// What src/vectors/store.ts selects when the query does not ask for `vector`.
const GATEWAY_COLUMNS = ['id', 'kind', 'text', 'metadata', 'occurred_at', 'created_at', 'writer', 'norm', '_distance'];
const GATEWAY_TARGET = 1.15;
const FUSED_TARGET = 1.3;
const RECALL_TARGET = 0.95;
// The benchmark's data: 200 topics of 50 sub-topics each (bench/studies/index.md, the "main" set).
const DATA = { dim: DIM, clusters: 200, subclusters: 50, subSpread: 0.8, spread: 0.5 };
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

async function gqlJson(fetcher: Fetcher, token: string, query: string, variables: unknown): Promise<Record<string, any>> {
  const res = await fetcher(JSON.stringify({ query, variables }), token);
  const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
  if (!res.ok || body.errors || !body.data) throw new Error(`GraphQL call failed (${res.status}): ${JSON.stringify(body.errors ?? body).slice(0, 500)}`);
  return body.data;
}

function recordsJson(source: ReturnType<typeof createClusteredSource>, texts: TextSource, domain: string, from: number, count: number): string {
  const parts: string[] = [];
  for (let i = from; i < from + count; i++) parts.push(JSON.stringify({ id: `${domain}-${i}`, kind: 'note', text: texts.record(), vectorBase64: b64(source.next()) }));
  return `[${parts.join(',')}]`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-bench-'));
  const config = benchConfig(dataDir, DIM);
  const nexus = await createNexusServer(config, { log: createLogger('silent') });
  const http = createServer(nexus.yoga);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;
  const headers = (token: string): Record<string, string> =>
    token ? { 'content-type': 'application/json', authorization: `Bearer ${token}` } : { 'content-type': 'application/json' };
  const inProcess: Fetcher = async (body, token) => nexus.yoga.fetch('http://nexus.bench/graphql', { method: 'POST', headers: headers(token), body });
  const overHttp: Fetcher = (body, token) => fetch(url, { method: 'POST', headers: headers(token), body });
  const tables: lancedb.Table[] = [];
  try {
    console.log(`nexus search bench: ${DOMAINS.length} domains × ${opts.rows} rows, dim ${DIM}, k ${opts.k}, ${opts.queries} queries (+${opts.warmup} warm-up), seed ${opts.seed}`);
    console.log(`node ${process.version}, NODE_ENV=${nodeEnv}, database ${nexus.services.db.backend}, data in ${dataDir}`);
    console.log(`load average at start: ${load()}\n`);

    // ---- Tenant, dashboard surface and token, all through the API. ----
    const signUp = await gqlJson(inProcess, '', `mutation($input: SignUpInput!) { signUp(input: $input) { ownerToken tenant { id } } }`, {
      input: { email: `bench-${Date.now()}@example.com`, displayName: 'Bench', domains: [...DOMAINS] },
    });
    const ownerToken: string = signUp.signUp.ownerToken;
    const tenantId: string = signUp.signUp.tenant.id;
    await gqlJson(inProcess, ownerToken, `mutation($input: CreateSurfaceInput!) { createSurface(input: $input) { id } }`, {
      input: { key: 'dashboard', kind: 'DASHBOARD', homeDomain: 'health', mounts: DOMAINS.map((domain) => ({ domain, access: 'READ' })) },
    });
    const issued = await gqlJson(inProcess, ownerToken, `mutation { issueSurfaceToken(input: { surface: "dashboard" }) { token } }`, {});
    const surfaceToken: string = issued.issueSurfaceToken.token;

    // ---- Load through remember, the real write path, in batches of 1000. ----
    const dataSource = createClusteredSource({ seed: opts.seed, ...DATA });
    const dataTexts = createTextSource({ vocabularySeed: opts.seed, seed: opts.seed ^ 0x7e47 });
    let rememberMs = 0;
    // Time the store's share of remember (Arrow build + mergeInsert) by wrapping the service for the load only.
    const vectors = nexus.services.vectors;
    const upsert = vectors.upsert;
    let upsertMs = 0;
    vectors.upsert = async (...args) => {
      const t0 = performance.now();
      try {
        return await upsert(...args);
      } finally {
        upsertMs += performance.now() - t0;
      }
    };
    const loadStart = performance.now();
    for (const domain of DOMAINS) {
      for (let from = 0; from < opts.rows; from += BATCH) {
        const count = Math.min(BATCH, opts.rows - from);
        const body = `{"query":"mutation($d: String!, $r: [RecordInput!]!) { remember(input: { domain: $d, records: $r }) { records { id } } }","variables":{"d":${JSON.stringify(domain)},"r":${recordsJson(dataSource, dataTexts, domain, from, count)}}}`;
        const t0 = performance.now();
        const res = await inProcess(body, ownerToken);
        const json = (await res.json()) as { data?: { remember?: { records: unknown[] } }; errors?: unknown[] };
        rememberMs += performance.now() - t0;
        if (json.errors || json.data?.remember?.records.length !== count) throw new Error(`remember failed: ${JSON.stringify(json).slice(0, 500)}`);
      }
    }
    const loadWallMs = performance.now() - loadStart;
    vectors.upsert = upsert;
    const totalRows = opts.rows * DOMAINS.length;

    // ---- The gateway indexes each domain in the background; wait for it, and say what each store is. ----
    const indexStart = performance.now();
    await vectors.indexIdle();
    const indexWaitMs = performance.now() - indexStart;
    const states: string[] = [];
    for (const domain of DOMAINS) {
      const seen = await gqlJson(inProcess, ownerToken, `query($d: String!) { domain(key: $d) { index { state indexedRows unindexedRows } } }`, { d: domain });
      const idx = seen.domain.index as { state: string; indexedRows: number; unindexedRows: number };
      states.push(`${domain} ${idx.state} (${idx.indexedRows} indexed, ${idx.unindexedRows} flat)`);
    }
    console.log(`indexes after load (waited ${(indexWaitMs / 1000).toFixed(1)} s more): ${states.join('; ')}`);

    // ---- Raw LanceDB: the gateway's table, opened once; plain connection and the gateway's (readConsistencyInterval 0). ----
    const dir = storeUri(config.storageUri, { scope: 'DOMAIN', tenantId, domainKey: 'health' });
    const rawTable = await (await lancedb.connect(dir)).openTable(TABLE_NAME);
    const rciTable = await (await lancedb.connect(dir, { readConsistencyInterval: 0 })).openTable(TABLE_NAME);
    const allTables = [rawTable];
    for (const domainKey of DOMAINS.slice(1)) {
      allTables.push(await (await lancedb.connect(storeUri(config.storageUri, { scope: 'DOMAIN', tenantId, domainKey }))).openTable(TABLE_NAME));
    }
    tables.push(rciTable, ...allTables);
    const rowCount = await rawTable.countRows();
    if (rowCount !== opts.rows) throw new Error(`health holds ${rowCount} rows, expected ${opts.rows}`);

    // ---- Both indexes as LanceDB itself lists them: rows left outside the full-text index are said, not hidden. ----
    const coverage = await Promise.all(allTables.map(indexCoverage));
    const coverageNotes = coverage.map((c, i) => `${DOMAINS[i]}: ${describeCoverage(c)}`);
    console.log(`indexes in LanceDB's listing:\n  ${coverageNotes.join('\n  ')}`);
    coverage.forEach((c, i) => {
      if (!c.text) throw new Error(`${DOMAINS[i]} has no full-text index`);
      if (!c.vector && opts.rows >= config.index.minRows) throw new Error(`${DOMAINS[i]} holds ${opts.rows} rows and no vector index`);
    });
    const outsideFts = coverage.reduce((n, c) => n + (c.text?.unindexed ?? 0), 0);
    if (outsideFts > 0) {
      console.log(`NOTE: ${outsideFts} rows are outside the full-text indexes (the lifecycle folds them in from ${config.index.textOptimizeRows}); BM25 reads them flat beside the index and the text figures include that.`);
    }
    // What a LanceDB user writes for the same search: the index's metric and the same number of probes.
    const nprobes = config.index.nprobes;
    const rawRows = async (t: lancedb.Table, unit: Float32Array) =>
      (await t.vectorSearch(unit).distanceType('dot').nprobes(nprobes).limit(opts.k).select(GATEWAY_COLUMNS).toArray()) as { id: string; _distance: number }[];
    const exactRows = async (t: lancedb.Table, unit: Float32Array) =>
      (await t.vectorSearch(unit).distanceType('dot').bypassVectorIndex().limit(opts.k).select(['id', '_distance']).toArray()) as { id: string; _distance: number }[];
    const rawSearch = async (t: lancedb.Table, unit: Float32Array) => (await rawRows(t, unit)).map((r) => r.id);
    // The gateway's own BM25 query (same columns), for the k a LanceDB user asks; the gateway asks min(2k, k+50)
    // rows to let the exact-phrase boost reorder them.
    const rawText = async (t: lancedb.Table, text: string, limit: number) =>
      ((await textQuery(t, { text, limit, withVectors: false }).toArray()) as { id: string }[]).map((r) => r.id);

    // ---- Queries: the same numbers go to every path; the raw path gets them normalised exactly as the gateway does. ----
    // Fresh points of the same topics, not copies of stored rows.
    const querySource = createClusteredSource({ seed: opts.seed, noiseSeed: opts.seed ^ 0x5eed, ...DATA });
    // Two or three words of the records' vocabulary: one common, the rest mostly rare.
    const queryTexts = createTextSource({ vocabularySeed: opts.seed, seed: opts.seed ^ 0x9e47 });
    const makeQuery = () => {
      const unit = querySource.next();
      const text = queryTexts.query();
      const vars = { v: b64(unit), k: opts.k };
      const body = (query: string, variables: Record<string, unknown>) => JSON.stringify({ query, variables: { ...variables, k: opts.k } });
      return {
        unit,
        text,
        textSingle: Object.fromEntries(DOMAINS.map((d) => [d, body(TEXT, { t: text, domains: [d] })])) as Record<string, string>,
        hybrid: body(HYBRID, { t: text, v: vars.v, domains: ['health'] }),
        fusedText: body(FUSED_TEXT, { t: text }),
        fusedHybrid: body(FUSED_HYBRID, { t: text, v: vars.v }),
        single: Object.fromEntries(DOMAINS.map((d) => [d, JSON.stringify({ query: SINGLE, variables: { ...vars, domains: [d] } })])) as Record<string, string>,
        singleJson: JSON.stringify({ query: SINGLE_JSON, variables: { vector: Array.from(unit), k: opts.k, domains: ['health'] } }),
        fused: JSON.stringify({ query: FUSED, variables: vars }),
      };
    };
    const warmQueries = Array.from({ length: opts.warmup }, makeQuery);
    const queries = Array.from({ length: opts.queries }, makeQuery);

    type Query = ReturnType<typeof makeQuery>;
    const paths: { name: string; run: (q: Query) => Promise<string[]> }[] = [
      { name: 'raw lancedb (health)', run: (q) => rawSearch(rawTable, q.unit) },
      { name: 'raw lancedb, rci=0 (health)', run: (q) => rawSearch(rciTable, q.unit) },
      { name: 'api in-process (health)', run: (q) => searchIds(inProcess, q.single.health as string, surfaceToken, opts.k) },
      { name: 'api in-process (health, owner token)', run: (q) => searchIds(inProcess, q.single.health as string, ownerToken, opts.k) },
      { name: 'api http (health)', run: (q) => searchIds(overHttp, q.single.health as string, surfaceToken, opts.k) },
      { name: 'api in-process (health, JSON vector)', run: (q) => searchIds(inProcess, q.singleJson, surfaceToken, opts.k) },
      { name: 'api in-process (business)', run: (q) => searchIds(inProcess, q.single.business as string, surfaceToken, opts.k) },
      { name: 'api in-process (finance)', run: (q) => searchIds(inProcess, q.single.finance as string, surfaceToken, opts.k) },
      { name: 'api in-process fused (3 domains)', run: (q) => searchIds(inProcess, q.fused, surfaceToken, opts.k) },
      // The store-level floor of a fused query: the same three flat searches, concurrently, no gateway.
      { name: 'raw lancedb, 3 domains concurrently', run: async (q) => (await Promise.all(allTables.map((t) => rawSearch(t, q.unit)))).flat() },
      { name: 'raw lancedb BM25 (health)', run: (q) => rawText(rawTable, q.text, opts.k) },
      ...DOMAINS.map((d) => ({ name: `api in-process text (${d})`, run: (q: Query) => searchIds(inProcess, q.textSingle[d] as string, surfaceToken, opts.k) })),
      { name: 'api in-process hybrid (health)', run: (q) => searchIds(inProcess, q.hybrid, surfaceToken, opts.k) },
      { name: 'api in-process fused text (3 domains)', run: (q) => searchIds(inProcess, q.fusedText, surfaceToken, opts.k) },
      { name: 'api in-process fused hybrid (3 domains)', run: (q) => searchIds(inProcess, q.fusedHybrid, surfaceToken, opts.k) },
    ];

    // Same answers on every health path, or the comparison means nothing.
    const first = queries[0] ?? warmQueries[0];
    if (first) {
      const answers = await Promise.all(paths.slice(0, 4).map((p) => p.run(first)));
      const expected = JSON.stringify(answers[0]);
      answers.forEach((ids, i) => {
        if (JSON.stringify(ids) !== expected) throw new Error(`${paths[i]?.name} answered ${ids.join(',')}, raw answered ${expected}`);
      });
      // And the fused answer is the top k of the three stores' own answers.
      const merged = (await Promise.all(allTables.map((t) => rawRows(t, first.unit)))).flat().sort((a, b) => a._distance - b._distance);
      const fusedIds = await searchIds(inProcess, first.fused, surfaceToken, opts.k);
      if (JSON.stringify(fusedIds) !== JSON.stringify(merged.slice(0, opts.k).map((r) => r.id))) throw new Error(`fused answer ${fusedIds.join(',')} is not the top ${opts.k} of the three stores`);
      // By text: the gateway's k come from the rows its BM25 query fetched (reordered only by the phrase boost).
      const fetched = new Set(await rawText(rawTable, first.text, Math.min(2 * opts.k, opts.k + 50)));
      const textIds = await searchIds(inProcess, first.textSingle.health as string, surfaceToken, opts.k);
      if (!textIds.every((id) => fetched.has(id))) throw new Error(`text answer ${textIds.join(',')} is not among raw BM25's ${[...fetched].join(',')}`);
    }

    const orderRng = createRng(opts.seed ^ 0x0bde);
    const samples = new Map(paths.map((p) => [p.name, [] as number[]]));
    const runRound = async (q: Query, record: boolean) => {
      for (const p of shuffle([...paths], orderRng)) {
        const t0 = performance.now();
        await p.run(q);
        const elapsed = performance.now() - t0;
        if (record) samples.get(p.name)?.push(elapsed);
      }
    };
    for (const q of warmQueries) await runRound(q, false);
    const measureStart = performance.now();
    for (const q of queries) await runRound(q, true);
    const measureMs = performance.now() - measureStart;

    // ---- Recall@10 against exact search (LanceDB flat, the index bypassed), single domain and fused. ----
    const recallQueries = queries.slice(0, Math.min(opts.recall, queries.length));
    let singleHits = 0;
    let fusedHits = 0;
    for (const q of recallQueries) {
      const exactPerStore = await Promise.all(allTables.map((t) => exactRows(t, q.unit)));
      const exactHealth = new Set((exactPerStore[0] ?? []).map((r) => r.id));
      const exactFused = new Set(exactPerStore.flat().sort((a, b) => a._distance - b._distance).slice(0, opts.k).map((r) => r.id));
      singleHits += (await searchIds(inProcess, q.single.health as string, surfaceToken, opts.k)).filter((id) => exactHealth.has(id)).length;
      fusedHits += (await searchIds(inProcess, q.fused, surfaceToken, opts.k)).filter((id) => exactFused.has(id)).length;
    }
    const recallSingle = singleHits / (recallQueries.length * opts.k);
    const recallFused = fusedHits / (recallQueries.length * opts.k);

    // ---- Report. ----
    const s = (name: string) => summarize(samples.get(name) ?? []);
    const stats = new Map<string, Summary>(paths.map((p) => [p.name, s(p.name)]));
    console.log(
      formatTable(
        ['path', 'n', 'mean ms', 'p50 ms', 'p95 ms', 'p99 ms', 'min ms', 'max ms'],
        [...stats].map(([name, x]) => [name, String(x.n), ms(x.mean), ms(x.p50), ms(x.p95), ms(x.p99), ms(x.min), ms(x.max)]),
      ),
    );

    // Vector, text and hybrid side by side, each place searched in the same rounds.
    const at = (name: string): Summary => {
      const x = stats.get(name);
      if (!x) throw new Error(`no path ${name}`);
      return x;
    };
    const singleModes = DOMAINS.map((d) => ({
      domain: d,
      stats: { vector: at(`api in-process (${d})`), text: at(`api in-process text (${d})`), hybrid: d === 'health' ? at('api in-process hybrid (health)') : undefined },
    }));
    const godView = { vector: at('api in-process fused (3 domains)'), text: at('api in-process fused text (3 domains)'), hybrid: at('api in-process fused hybrid (3 domains)') };
    const rawModes = { vector: at('raw lancedb (health)'), text: at('raw lancedb BM25 (health)') };
    console.log(`\n${modeTable([['raw LanceDB (health)', rawModes], ...singleModes.map((s) => [`API in-process (${s.domain})`, s.stats] as const), ['God View, API in-process (3 domains)', godView]])}`);

    const raw = stats.get('raw lancedb (health)') as Summary;
    const singles = DOMAINS.map((d) => ({ d, x: stats.get(`api in-process (${d})`) as Summary }));
    const slowest = singles.reduce((a, b) => (b.x.p50 > a.x.p50 ? b : a));
    const fused = stats.get('api in-process fused (3 domains)') as Summary;
    const figures: Figure[] = [];
    const versus = (label: string, path: string, target?: number) => {
      const x = stats.get(path) as Summary;
      for (const [q, key] of [['p50', 'p50'], ['p95', 'p95'], ['p99', 'p99']] as const) {
        figures.push({
          name: `(1) ${label} ${q}`,
          value: x[key],
          unit: 'ms',
          baseline: { name: `raw LanceDB ${q}`, value: raw[key] },
          target: target !== undefined && q === 'p50' ? { text: `≤ ${target}×`, met: x[key] / raw[key] <= target } : undefined,
        });
      }
    };
    versus('search, API in-process', 'api in-process (health)', GATEWAY_TARGET);
    versus('search, API over HTTP', 'api http (health)', GATEWAY_TARGET);
    figures.push({ name: '(1) search, API in-process, owner token p50', value: stats.get('api in-process (health, owner token)')!.p50, unit: 'ms', baseline: { name: 'raw LanceDB p50', value: raw.p50 } });
    figures.push({ name: '(1) search, API in-process, JSON vector p50', value: stats.get('api in-process (health, JSON vector)')!.p50, unit: 'ms', baseline: { name: 'raw LanceDB p50', value: raw.p50 } });
    figures.push({
      name: '(2) God View, fused over 3 domains, p50',
      value: fused.p50,
      unit: 'ms',
      baseline: { name: `slowest single domain (${slowest.d}) p50`, value: slowest.x.p50 },
      target: { text: `≤ ${FUSED_TARGET}×`, met: fused.p50 / slowest.x.p50 <= FUSED_TARGET },
    });
    const concurrent = stats.get('raw lancedb, 3 domains concurrently') as Summary;
    figures.push({ name: '(2) raw LanceDB, 3 domains concurrently, p50 (the floor)', value: concurrent.p50, unit: 'ms', baseline: { name: 'raw LanceDB single p50', value: raw.p50 } });
    figures.push({ name: '(3) recall@10, one domain (health)', value: recallSingle, unit: '', target: { text: `≥ ${RECALL_TARGET}`, met: recallSingle >= RECALL_TARGET } });
    figures.push({ name: '(3) recall@10, fused over 3 domains', value: recallFused, unit: '', target: { text: `≥ ${RECALL_TARGET}`, met: recallFused >= RECALL_TARGET } });
    report('search (1-3)', figures, [
      `${DOMAINS.length} domains × ${opts.rows} rows × ${DIM}, clustered; k ${opts.k}; ${queries.length} query rounds; recall over ${recallQueries.length} queries against LanceDB flat search.`,
      `indexes: ${states.join('; ')}; nprobes ${nprobes}; database ${nexus.services.db.backend}.`,
    ]);
    report('search by text and hybrid', modeFigures({ raw: rawModes, singles: singleModes, godView }), [
      `records of 8-16 made-up words drawn Zipf-like from 4000; queries of 2-3 words (one common, the rest mostly rare); hybrid takes each store's vector and BM25 top ${HYBRID_CANDIDATES}.`,
      `raw LanceDB BM25: the gateway's query (textQuery, same columns) with limit k; the gateway fetches min(2k, k+50) rows for its phrase boost.`,
      `no targets for text; for reference only, the vector path's gateway target is ≤ ${GATEWAY_TARGET}× raw LanceDB p50.`,
      `query text and query vector are drawn independently, so the hybrid rankings rarely share records.`,
      ...coverageNotes.map((n) => `index coverage, ${n}`),
    ]);

    console.log(
      `\nload: ${totalRows} rows through remember in ${(loadWallMs / 1000).toFixed(1)} s wall ` +
        `(${Math.round(totalRows / (loadWallMs / 1000))} rows/s; ${Math.round(totalRows / (rememberMs / 1000))} rows/s counting only remember calls)`,
    );
    console.log(
      `  remember calls ${(rememberMs / 1000).toFixed(1)} s, of which vectors.upsert (Arrow build + mergeInsert) ${(upsertMs / 1000).toFixed(1)} s ` +
        `(${Math.round(totalRows / (upsertMs / 1000))} rows/s); the rest is the request: JSON, GraphQL coercion, validation, events`,
    );
    const textMs = paths.filter((p) => / text | hybrid |BM25/.test(p.name)).reduce((sum, p) => sum + (samples.get(p.name) ?? []).reduce((a, b) => a + b, 0), 0);
    console.log(
      `measurement: ${queries.length} rounds × ${paths.length} paths in ${(measureMs / 1000).toFixed(1)} s (text and hybrid paths ${(textMs / 1000).toFixed(1)} s of it); ` +
        `health table has ${rowCount} rows; whole run so far ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
    console.log(`load average at end: ${load()} (on ${availableParallelism()} cores; other processes share them)`);
  } finally {
    await Promise.allSettled(tables.map((t) => t.close()));
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await nexus.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBenchmark(main);
