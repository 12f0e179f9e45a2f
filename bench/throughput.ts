// Throughput: requests/s (and p50, p99, server CPU per request) at 16 concurrent clients over HTTP of
//   (a) a bare Yoga server (createYoga({ schema }) with a trivial schema answering serverInfo's shape): the floor,
//   (b) Nexus `serverInfo { vectorDimension version }` with no token,
//   (c) the same with a surface token (the token path: hash, viewer cache, rate-limit bucket),
//   (d) Nexus `search` with that token (one domain of --rows × 384, k 10, a vectorBase64 query),
//   (e) raw LanceDB searches at the same concurrency on the same table (the store's floor, no HTTP),
// then this process under the V8 sampling profiler during one more slice each of (c) and (d), and of their
// floors (a) and (e) so that each package's µs per request can be set beside the floor's.
//
//   node --import tsx bench/throughput.ts --rows 20000 --clients 16 --rounds 10 --slice-ms 1000 --profile-ms 3000
//
// The servers (a) and Nexus listen with node:http on 127.0.0.1 in this process; the load generator runs in a child
// process (--child 0 runs it in this one), so its JSON and socket work does not share the server's event loop;
// on 2 cores they still share the machine, which is why the figures are ratios within one run. Each path runs in
// fixed-duration slices, rounds × paths with the path order shuffled per round, so background noise lands on all.
// Every answer is checked (exact serverInfo body; k hits per search). Profiles are written to bench/results/:
// throughput-profile.txt (top self-time frames, mapped to TypeScript lines) and the raw .cpuprofile files.
// It runs with NODE_ENV=production unless NODE_ENV is set (see lib/production-env.ts).
import { nodeEnv } from './lib/production-env.js';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as lancedb from '@lancedb/lancedb';
import { createSchema as createBareSchema, createYoga } from 'graphql-yoga';
import { createLogger } from '../src/log/logger.js';
import { createNexusServer } from '../src/server/create-nexus-server.js';
import { storeUri, TABLE_NAME } from '../src/vectors/layout.js';
import { searchQuery } from '../src/vectors/store.js';
import { parseIntArgs } from './lib/args.js';
import { benchConfig, runBenchmark } from './lib/bench-config.js';
import { createRng, randomUnitVector, shuffle } from './lib/random.js';
import { ratioOf, report, type Figure } from './lib/report.js';
import { formatTable, percentile } from './lib/stats.js';
import { runSlice, type ChildReply, type ChildRequest, type SliceResult, type Target } from './lib/throughput-client.js';
import { createProfiler, frameLines, inclusiveLines, ownerLines, summarizeProfile, type CpuProfile, type ProfileSummary } from './lib/throughput-profile.js';
import { float32Base64 as b64 } from '../src/vectors/records.js';

const opts = parseIntArgs(process.argv.slice(2), {
  rows: 20_000,
  clients: 16,
  rounds: 10,
  'slice-ms': 1000,
  'warmup-ms': 1000,
  'profile-ms': 3000,
  'profile-interval-us': 1000,
  queries: 64,
  k: 10,
  seed: 42,
  child: 1,
});
const DIM = 384;
const BATCH = 1000;
const DOMAIN = 'health';
const TOP_FILE = 30;
const TOP_NOTES = 10;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const CLIENT_MODULE = fileURLToPath(new URL('./lib/throughput-client.ts', import.meta.url));
// With the token cache, a surface token costs a SHA-256 and a map hit: (c) should stay within 10% of (b).
const TOKEN_TARGET = 0.9;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

const SERVER_INFO = JSON.stringify({ query: 'query ServerInfo { serverInfo { vectorDimension version } }' });
const SEARCH = `query Search($v: String!) { search(input: { vectorBase64: $v, k: ${opts.k}, domains: ["${DOMAIN}"] }) { hits { distance score record { id } } } }`;

type PathKey = 'a' | 'b' | 'c' | 'd' | 'e';
interface PathDef {
  key: PathKey;
  label: string;
  /** An HTTP target for the load generator, or an in-process runner (the raw LanceDB path). */
  target?: Target;
  local?: (ms: number) => Promise<SliceResult>;
}

interface Slice {
  result: SliceResult;
  /** This process's CPU (user + system, every thread) during the slice, ms. */
  serverCpuMs: number;
  /** Event-loop utilisation of this process's main thread during the slice (0–1). */
  elu: number;
}


async function listen(server: Server): Promise<string> {
  // Long keep-alive: a socket idle while the other paths run must not be closed under the client's next request.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The load generator in a child process, driven over IPC. */
async function startChild(): Promise<{ run: (target: Target, clients: number, ms: number) => Promise<SliceResult>; stop: () => Promise<void> }> {
  const child: ChildProcess = fork(CLIENT_MODULE, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, NEXUS_THROUGHPUT_CHILD: '1' }, stdio: 'inherit' });
  const pending = new Map<number, { resolve: (r: SliceResult) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let ready: () => void = () => undefined;
  const readyP = new Promise<void>((resolve, reject) => {
    ready = resolve;
    child.once('error', reject);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (m: ChildReply) => {
    if (m.type === 'ready') return ready();
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.type === 'done') p?.resolve(m.result);
    else p?.reject(new Error(`load generator: ${m.error}`));
  });
  child.once('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`the load generator exited (${code})`));
    pending.clear();
  });
  await readyP;
  return {
    run: (target, clients, ms) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        child.send({ type: 'run', id, target, clients, ms } satisfies ChildRequest);
      }),
    stop: async () => {
      if (child.exitCode === null && child.connected) child.send({ type: 'exit' } satisfies ChildRequest);
      const timer = setTimeout(() => child.kill(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function main(): Promise<void> {
  const wallStart = performance.now();
  const clients = opts.clients;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-bench-'));
  const tokenCache = process.env.NEXUS_TOKEN_CACHE_SECONDS;
  const config = benchConfig(dataDir, DIM, tokenCache ? { NEXUS_TOKEN_CACHE_SECONDS: tokenCache } : {});
  const nexus = await createNexusServer(config, { log: createLogger('silent') });
  const nexusHttp = createServer(nexus.yoga);
  const bareYoga = createYoga({
    schema: createBareSchema({
      typeDefs: 'type Query { serverInfo: ServerInfo! } type ServerInfo { vectorDimension: Int! version: String! }',
      resolvers: { Query: { serverInfo: () => ({ vectorDimension: config.vectorDimension, version: config.version }) } },
    }),
  });
  const bareHttp = createServer(bareYoga);
  const tables: lancedb.Table[] = [];
  let loadGen: Awaited<ReturnType<typeof startChild>> | undefined;
  let profiler: Awaited<ReturnType<typeof createProfiler>> | undefined;
  try {
    const nexusUrl = await listen(nexusHttp);
    const bareUrl = await listen(bareHttp);
    console.log(
      `nexus throughput bench: ${clients} clients, ${opts.rounds} rounds × ${opts['slice-ms']} ms per path (+${opts['warmup-ms']} ms warm-up), ` +
        `search over ${opts.rows} rows × ${DIM}, k ${opts.k}, seed ${opts.seed}; load generator ${opts.child ? 'in a child process' : 'in this process'}`,
    );
    console.log(`node ${process.version}, NODE_ENV=${nodeEnv}, database ${nexus.services.db.backend}, token cache ${config.tokenCacheSeconds} s, data in ${dataDir}`);
    console.log(`load average at start: ${load()} (on ${availableParallelism()} cores)\n`);

    const inProcess = async (token: string, query: string, variables: unknown = {}) => {
      const res = await nexus.yoga.fetch('http://nexus.bench/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
      if (!res.ok || body.errors || !body.data) throw new Error(`GraphQL call failed (${res.status}): ${JSON.stringify(body.errors ?? body).slice(0, 500)}`);
      return body.data;
    };

    // ---- Tenant, surface and token, all through the API. ----
    const signUp = await inProcess('', `mutation($input: SignUpInput!) { signUp(input: $input) { ownerToken tenant { id } } }`, {
      input: { email: `bench-${Date.now()}@example.com`, displayName: 'Bench', domains: [DOMAIN] },
    });
    const ownerToken: string = signUp.signUp.ownerToken;
    const tenantId: string = signUp.signUp.tenant.id;
    await inProcess(ownerToken, `mutation($input: CreateSurfaceInput!) { createSurface(input: $input) { id } }`, {
      input: { key: 'dashboard', kind: 'DASHBOARD', homeDomain: DOMAIN, mounts: [{ domain: DOMAIN, access: 'READ' }] },
    });
    const surfaceToken: string = (await inProcess(ownerToken, `mutation { issueSurfaceToken(input: { surface: "dashboard" }) { token } }`)).issueSurfaceToken.token;

    // ---- Records through remember, vectorBase64, batches of 1000; then wait for the background index build. ----
    const dataRng = createRng(opts.seed);
    const loadStart = performance.now();
    for (let from = 0; from < opts.rows; from += BATCH) {
      const count = Math.min(BATCH, opts.rows - from);
      const records = Array.from({ length: count }, (_, j) => ({ id: `${DOMAIN}-${from + j}`, kind: 'note', text: `${DOMAIN} record ${from + j}`, vectorBase64: b64(randomUnitVector(dataRng, DIM)) }));
      const out = await inProcess(ownerToken, `mutation($d: String!, $r: [RecordInput!]!) { remember(input: { domain: $d, records: $r }) { records { id } } }`, { d: DOMAIN, r: records });
      if (out.remember.records.length !== count) throw new Error(`remember wrote ${out.remember.records.length} of ${count}`);
    }
    const loadMs = performance.now() - loadStart;
    // The index built in the background covers whatever rows had arrived when it ran; an operator rebuild makes it
    // cover all of them, so every run searches the same index (√rows partitions, no rows searched flat).
    const indexStart = performance.now();
    await nexus.services.vectors.indexIdle();
    await nexus.services.vectors.rebuildIndex({ scope: 'DOMAIN', tenantId, domainKey: DOMAIN });
    const index = (await inProcess(ownerToken, `query { domain(key: "${DOMAIN}") { recordCount index { state indexedRows unindexedRows } } }`)).domain;
    const indexMs = performance.now() - indexStart;
    if (index.recordCount !== opts.rows) throw new Error(`${DOMAIN} holds ${index.recordCount} rows, expected ${opts.rows}`);
    console.log(
      `loaded ${opts.rows} rows through remember in ${(loadMs / 1000).toFixed(1)} s; index ${index.index.state} ` +
        `(${index.index.indexedRows} indexed, ${index.index.unindexedRows} flat) after ${(indexMs / 1000).toFixed(1)} s more (rebuilt over every row)`,
    );

    // ---- Raw LanceDB: the same table, opened as the gateway opens it, queried with the gateway's query builder. ----
    const rawDb = await lancedb.connect(storeUri(config.storageUri, { scope: 'DOMAIN', tenantId, domainKey: DOMAIN }), {
      readConsistencyInterval: 0,
      namespaceClientProperties: { manifest_enabled: 'false' },
    });
    const rawTable = await rawDb.openTable(TABLE_NAME);
    tables.push(rawTable);
    const queryRng = createRng(opts.seed ^ 0x5eed);
    const units = Array.from({ length: opts.queries }, () => randomUnitVector(queryRng, DIM));
    const searchBodies = units.map((u) => JSON.stringify({ query: SEARCH, variables: { v: b64(u) } }));
    const rawSearch = async (unit: Float32Array) =>
      (await searchQuery(rawTable, { unit, k: opts.k, withVectors: false }, config.index.nprobes).toArray()) as { id: string }[];
    const runRaw = async (ms: number): Promise<SliceResult> => {
      const latencies: number[] = [];
      let errors = 0;
      let firstError: string | undefined;
      const start = performance.now();
      const deadline = start + ms;
      await Promise.all(
        Array.from({ length: clients }, async (_, i) => {
          for (let n = i; performance.now() < deadline; n += clients) {
            const t0 = performance.now();
            // The ids read, as a client of LanceDB would use its answer (search.ts does the same).
            const ids = (await rawSearch(units[n % units.length] as Float32Array)).map((r) => r.id);
            latencies.push(performance.now() - t0);
            if (ids.length !== opts.k) {
              errors += 1;
              firstError ??= `raw search answered ${ids.length} rows`;
            }
          }
        }),
      );
      return { requests: latencies.length, errors, firstError, elapsedMs: performance.now() - start, latencies, clientCpuMs: 0 };
    };

    // ---- The same answers from every path, or the comparison means nothing. ----
    const post = async (url: string, body: string, token = '') =>
      (
        await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body })
      ).text();
    const expectedInfo = await post(bareUrl, SERVER_INFO);
    for (const token of ['', surfaceToken]) {
      const got = await post(nexusUrl, SERVER_INFO, token);
      if (got !== expectedInfo) throw new Error(`Nexus serverInfo answered ${got}, bare Yoga ${expectedInfo}`);
    }
    for (let i = 0; i < Math.min(3, units.length); i++) {
      const gw = JSON.parse(await post(nexusUrl, searchBodies[i] as string, surfaceToken)) as { data: { search: { hits: { record: { id: string } }[] } } };
      const got = gw.data.search.hits.map((h) => h.record.id).join(',');
      const raw = (await rawSearch(units[i] as Float32Array)).map((r) => r.id).join(',');
      if (got !== raw) throw new Error(`query ${i}: the gateway answered ${got}, raw LanceDB ${raw}`);
    }

    const json = { 'content-type': 'application/json' };
    const withToken = { ...json, authorization: `Bearer ${surfaceToken}` };
    const paths: PathDef[] = [
      { key: 'a', label: '(a) bare Yoga serverInfo', target: { name: 'a', url: bareUrl, headers: json, bodies: [SERVER_INFO], expect: { exact: expectedInfo } } },
      { key: 'b', label: '(b) Nexus serverInfo, no token', target: { name: 'b', url: nexusUrl, headers: json, bodies: [SERVER_INFO], expect: { exact: expectedInfo } } },
      { key: 'c', label: '(c) Nexus serverInfo, surface token', target: { name: 'c', url: nexusUrl, headers: withToken, bodies: [SERVER_INFO], expect: { exact: expectedInfo } } },
      { key: 'd', label: `(d) Nexus search, k ${opts.k}`, target: { name: 'd', url: nexusUrl, headers: withToken, bodies: searchBodies, expect: { hits: opts.k } } },
      { key: 'e', label: `(e) raw LanceDB search, in-process`, local: runRaw },
    ];
    const byKey = (key: PathKey) => paths.find((p) => p.key === key) as PathDef;

    if (opts.child) loadGen = await startChild();
    const runPath = async (p: PathDef, ms: number): Promise<Slice> => {
      const cpu0 = process.cpuUsage();
      const elu0 = performance.eventLoopUtilization();
      const result = p.local ? await p.local(ms) : loadGen ? await loadGen.run(p.target as Target, clients, ms) : await runSlice(p.target as Target, clients, ms);
      const elu = performance.eventLoopUtilization(elu0).utilization;
      const cpu = process.cpuUsage(cpu0);
      if (result.errors) throw new Error(`${p.label}: ${result.errors} of ${result.requests} requests failed; first: ${result.firstError}`);
      return { result, serverCpuMs: (cpu.user + cpu.system) / 1000, elu };
    };

    // ---- Warm-up (JIT, caches, sockets), then the measured rounds. ----
    for (const p of paths) await runPath(p, opts['warmup-ms']);
    const orderRng = createRng(opts.seed ^ 0x0bde);
    const slices = new Map<PathKey, Slice[]>(paths.map((p) => [p.key, []]));
    const measureStart = performance.now();
    for (let round = 0; round < opts.rounds; round++) {
      for (const p of shuffle([...paths], orderRng)) slices.get(p.key)?.push(await runPath(p, opts['slice-ms']));
    }
    const measureMs = performance.now() - measureStart;

    // ---- Profiles of the server side, separate slices (the profiler's own cost stays out of the figures above):
    // (c) and (d), and their floors (a) and (e), so that each package's µs per request can be set beside the floor's. ----
    await mkdir(RESULTS, { recursive: true });
    profiler = await createProfiler(opts['profile-interval-us']);
    const profiles = new Map<PathKey, { file: string; slice: Slice; summary: ProfileSummary }>();
    for (const [key, file] of [
      ['a', 'throughput-bare.cpuprofile'],
      ['c', 'throughput-token.cpuprofile'],
      ['e', 'throughput-raw.cpuprofile'],
      ['d', 'throughput-search.cpuprofile'],
    ] as const) {
      await profiler.start();
      const slice = await runPath(byKey(key), opts['profile-ms']);
      const profile: CpuProfile = await profiler.stop();
      await writeFile(path.join(RESULTS, file), JSON.stringify(profile));
      profiles.set(key, { file, slice, summary: summarizeProfile(profile, ROOT) });
    }

    // ---- Figures. ----
    interface Agg {
      rps: number;
      sliceRps: number[];
      p50: number;
      p99: number;
      n: number;
      cpuUsPerReq: number;
      clientCpuUsPerReq: number;
      elu: number;
    }
    const agg = (list: readonly Slice[]): Agg => {
      const lat = list.flatMap((s) => s.result.latencies).sort((x, y) => x - y);
      const n = list.reduce((s, x) => s + x.result.requests, 0);
      const elapsed = list.reduce((s, x) => s + x.result.elapsedMs, 0);
      return {
        rps: n / (elapsed / 1000),
        sliceRps: list.map((s) => s.result.requests / (s.result.elapsedMs / 1000)),
        p50: percentile(lat, 50),
        p99: percentile(lat, 99),
        n,
        cpuUsPerReq: (1000 * list.reduce((s, x) => s + x.serverCpuMs, 0)) / (n || 1),
        clientCpuUsPerReq: (1000 * list.reduce((s, x) => s + x.result.clientCpuMs, 0)) / (n || 1),
        elu: list.reduce((s, x) => s + x.elu * x.result.elapsedMs, 0) / (elapsed || 1),
      };
    };
    const stats = new Map(paths.map((p) => [p.key, agg(slices.get(p.key) ?? [])]));
    const st = (key: PathKey) => stats.get(key) as Agg;
    const label = (key: PathKey) => byKey(key).label;
    const [a, b, c, d, e] = (['a', 'b', 'c', 'd', 'e'] as const).map(st) as [Agg, Agg, Agg, Agg, Agg];

    console.log(
      `\n${formatTable(
        ['path', 'requests', 'req/s', 'slice min–max req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'server ELU', 'client CPU µs/req'],
        paths.map((p) => {
          const x = st(p.key);
          return [
            p.label,
            String(x.n),
            x.rps.toFixed(0),
            `${Math.min(...x.sliceRps).toFixed(0)}–${Math.max(...x.sliceRps).toFixed(0)}`,
            x.p50.toFixed(2),
            x.p99.toFixed(2),
            x.cpuUsPerReq.toFixed(0),
            x.elu.toFixed(2),
            p.local ? '' : x.clientCpuUsPerReq.toFixed(0),
          ];
        }),
      )}`,
    );

    const figures: Figure[] = [];
    const add = (name: string, value: number, unit: string, base: { name: string; value: number }, target?: { min: number }) => {
      const f: Figure = { name, value, unit, baseline: base };
      if (target) f.target = { text: `≥ ${target.min}×`, met: ratioOf(f) >= target.min };
      figures.push(f);
    };
    add(`serverInfo req/s ${label('b')}`, b.rps, 'req/s', { name: label('a'), value: a.rps });
    add(`serverInfo req/s ${label('c')}`, c.rps, 'req/s', { name: label('a'), value: a.rps });
    add(`serverInfo req/s, token vs no token`, c.rps, 'req/s', { name: label('b'), value: b.rps }, { min: TOKEN_TARGET });
    add(`search req/s ${label('d')}`, d.rps, 'req/s', { name: label('e'), value: e.rps });
    for (const [key, base] of [
      ['b', 'a'],
      ['c', 'a'],
      ['d', 'e'],
    ] as const) {
      const x = st(key);
      const y = st(base);
      add(`p50 ${label(key)}`, x.p50, 'ms', { name: label(base), value: y.p50 });
      add(`p99 ${label(key)}`, x.p99, 'ms', { name: label(base), value: y.p99 });
      add(`server CPU per request ${label(key)}`, x.cpuUsPerReq, 'µs', { name: label(base), value: y.cpuUsPerReq });
    }

    // ---- Profiles: the file, and the top frames in the notes. ----
    const profileText: string[] = [
      `Nexus throughput bench: V8 CPU profiles of the server process (main thread), ${clients} clients, ${opts['profile-ms']} ms per path,`,
      `sampled every ${opts['profile-interval-us']} µs; node ${process.version}, NODE_ENV=${nodeEnv}, database ${nexus.services.db.backend}, ${new Date().toISOString()}.`,
      `Self time per function (all call sites summed), % of the sampled busy (non-idle) time; lines are TypeScript lines where tsx left a source map.`,
      `LanceDB's own threads (Rust) are not sampled: their work shows only as the main thread's time in the native calls.`,
      `The load generator ran ${opts.child ? 'in a child process (not in these profiles)' : 'in this process (its frames are in these profiles)'}.`,
    ];
    const notes: string[] = [];
    for (const [key, base] of [
      ['c', 'a'],
      ['d', 'e'],
      ['a', null],
      ['e', null],
    ] as const) {
      const p = profiles.get(key);
      if (!p) continue;
      const s = p.summary;
      const r = p.slice.result;
      const head = `${label(key)}: ${r.requests} requests in ${(r.elapsedMs / 1000).toFixed(1)} s under the profiler (${(r.requests / (r.elapsedMs / 1000)).toFixed(0)} req/s), main thread busy ${s.busyMs.toFixed(0)} ms of ${s.totalMs.toFixed(0)} ms sampled (idle ${((100 * s.idleMs) / (s.totalMs || 1)).toFixed(1)}%), ${((1000 * s.busyMs) / (r.requests || 1)).toFixed(0)} µs busy per request`;
      const b = base ? profiles.get(base) : undefined;
      const versus = b ? { s: b.summary, requests: b.slice.result.requests, label: base as string } : undefined;
      profileText.push(
        '',
        `== ${head}`,
        `raw profile: bench/results/${p.file}`,
        '',
        `top ${TOP_FILE} self-time frames (self ms, % of busy):`,
        ...frameLines(s, TOP_FILE),
        '',
        `self time by package / source folder${versus ? `, beside the same in the profile of ${label(versus.label as PathKey)}` : ''}:`,
        ...ownerLines(s, r.requests, 25, versus),
        '',
        "the project's own functions by inclusive time (with everything they call; async functions: each resumed part):",
        ...inclusiveLines(s, r.requests, 25),
      );
      if (key === 'c' || key === 'd') notes.push(`profile ${head}; top ${TOP_NOTES} self-time frames:`, ...frameLines(s, TOP_NOTES).map((l) => `  ${l}`));
    }
    const profileFile = path.join(RESULTS, 'throughput-profile.txt');
    await writeFile(profileFile, `${profileText.join('\n')}\n`);

    // The same ratio round by round (each round runs every path once): how much of it is noise.
    const perRound = (x: Agg, y: Agg) => {
      const r = x.sliceRps.map((v, i) => v / (y.sliceRps[i] ?? Number.NaN)).sort((p, q) => p - q);
      return `${percentile(r, 50).toFixed(3)} (${(r[0] ?? Number.NaN).toFixed(2)}–${(r[r.length - 1] ?? Number.NaN).toFixed(2)})`;
    };
    notes.unshift(
      `ratios: (b)/(a) ${(b.rps / a.rps).toFixed(3)}, (c)/(a) ${(c.rps / a.rps).toFixed(3)}, (c)/(b) ${(c.rps / b.rps).toFixed(3)}, (d)/(e) ${(d.rps / e.rps).toFixed(3)} (req/s; 1 = no gateway overhead)`,
      `the same per round, median (min–max) over ${opts.rounds} rounds: (b)/(a) ${perRound(b, a)}, (c)/(a) ${perRound(c, a)}, (c)/(b) ${perRound(c, b)}, (d)/(e) ${perRound(d, e)}`,
      `no fixed req/s target in the issue: the figures are informational except token vs no token (≥ ${TOKEN_TARGET}×: with the token cache a surface token costs a SHA-256 and a map hit)`,
      `server CPU per request: this process's CPU (all threads, LanceDB's included) over the requests answered; ${opts.child ? 'the load generator is a child process, not counted' : 'the load generator runs here and is counted'}`,
      `(e) runs in this process with no HTTP, on a connection opened as the gateway opens it (readConsistencyInterval 0), with the gateway's query builder (dot, nprobes ${config.index.nprobes}, its columns)`,
      `index: ${index.index.state}, ${index.index.indexedRows} indexed + ${index.index.unindexedRows} flat rows; ${opts.queries} distinct query vectors in turn`,
      `measured ${opts.rounds} rounds × ${paths.length} paths × ${opts['slice-ms']} ms in ${(measureMs / 1000).toFixed(1)} s; whole run ${((performance.now() - wallStart) / 1000).toFixed(1)} s; load average at end ${load()} on ${availableParallelism()} cores`,
      `profiles: ${path.relative(ROOT, profileFile)} and bench/results/throughput-{bare,token,raw,search}.cpuprofile (separate ${opts['profile-ms']} ms slices, not in the figures)`,
    );
    report('throughput', figures, notes);
  } finally {
    profiler?.close();
    await loadGen?.stop().catch(() => undefined);
    await Promise.allSettled(tables.map((t) => t.close()));
    await closeServer(nexusHttp);
    await closeServer(bareHttp);
    await nexus.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBenchmark(main);
