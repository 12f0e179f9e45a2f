// Export: records/s of GET /export over HTTP (the JSON Lines a person takes away, read as fast as the client
// reads) against a raw scan of the same store (LanceDB's batches made into records, nothing written), with the
// process's peak RSS and heap while it streams; then tenant:import's records/s for the same file.
//
//   npm run bench:export -- --rows 100000 --batch 1000 --seed 7
//
// The store is written through the API first (vectorBase64, short text, 384 dimensions, no ANN index); memory is
// sampled every 20 ms from just before the export starts (no GC forced: garbage counts). The HTTP client shares this
// process (its parsing and file writes are on the clock too). Targets: the export streams at ≥ 0.2× the raw scan,
// and its heap grows by less than 64 MiB however many rows (the body is never held).
import { nodeEnv } from './lib/production-env.js';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { createLogger } from '../src/log/logger.js';
import { createNexusServer } from '../src/server/create-nexus-server.js';
import { splitLines } from '../src/tenancy/export-lines.js';
import { importTenant } from '../src/tenancy/import.js';
import { float32Base64 as b64 } from '../src/vectors/records.js';
import { createClusteredSource } from '../test/helpers/clustered.js';
import { parseIntArgs } from './lib/args.js';
import { benchConfig, runBenchmark } from './lib/bench-config.js';
import { report, type Figure } from './lib/report.js';

const opts = parseIntArgs(process.argv.slice(2), { rows: 100_000, batch: 1000, seed: 7 });
const DIM = 384;
const TARGET = 0.2;
const HEAP_TARGET = 64 * 1024 * 1024;
const MiB = 1024 * 1024;

const REMEMBER = 'mutation($r: [RecordInput!]!) { remember(input: { domain: "health", records: $r }) { records { id } } }';

/** Peak RSS and heap (heapUsed + array buffers) while fn runs, sampled every 20 ms, and their values just before. */
async function sampled<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number; rss: { before: number; peak: number }; heap: { before: number; peak: number } }> {
  const heapNow = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const rss = { before: process.memoryUsage().rss, peak: 0 };
  const heap = { before: heapNow(), peak: 0 };
  const sample = () => {
    rss.peak = Math.max(rss.peak, process.memoryUsage().rss);
    heap.peak = Math.max(heap.peak, heapNow());
  };
  const timer = setInterval(sample, 20);
  const t0 = performance.now();
  try {
    const result = await fn();
    sample();
    return { result, ms: performance.now() - t0, rss, heap };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-bench-export-'));
  const config = benchConfig(dataDir, DIM, { NEXUS_INDEX_MIN_ROWS: '0' });
  const nexus = await createNexusServer(config, { log: createLogger('silent') });
  const http = createServer(nexus.yoga);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  try {
    console.log(`nexus export bench: ${opts.rows} records × ${DIM}, written in batches of ${opts.batch}, seed ${opts.seed}, node ${process.version}, NODE_ENV=${nodeEnv}, database ${nexus.services.db.backend}`);
    const signUp = await nexus.yoga.fetch('http://bench/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation($i: SignUpInput!) { signUp(input: $i) { ownerToken tenant { id } } }', variables: { i: { email: `export-${Date.now()}@example.com`, domains: ['health'] } } }),
    });
    const answer = ((await signUp.json()) as { data: { signUp: { ownerToken: string; tenant: { id: string } } } }).data.signUp;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${answer.ownerToken}` };
    const source = createClusteredSource({ seed: opts.seed, dim: DIM, clusters: 200, subclusters: 50, subSpread: 0.8, spread: 0.5 });
    const writing = performance.now();
    for (let from = 0; from < opts.rows; from += opts.batch) {
      const n = Math.min(opts.batch, opts.rows - from);
      const records = source.vectors(n).map((v, i) => ({ id: `r-${from + i}`, kind: 'note', text: `note ${from + i} of the export bench`, vectorBase64: b64(v), metadata: { i: from + i } }));
      const res = await nexus.yoga.fetch('http://bench/graphql', { method: 'POST', headers: { ...headers }, body: JSON.stringify({ query: REMEMBER, variables: { r: records } }) });
      const json = (await res.json()) as { errors?: unknown };
      if (json.errors) throw new Error(JSON.stringify(json.errors).slice(0, 300));
    }
    console.log(`  ${opts.rows} records written in ${((performance.now() - writing) / 1000).toFixed(1)} s`);
    const store = { scope: 'DOMAIN', tenantId: answer.tenant.id, domainKey: 'health' } as const;

    // The baseline: every batch of the store made into records, as the export reads them, and nothing else.
    global.gc?.();
    const raw = await sampled(() => nexus.services.vectors.scanStore(store, async () => undefined));
    if (raw.result !== opts.rows) throw new Error(`the raw scan read ${raw.result} records`);

    // GET /export over HTTP, the body read to its end and written to a file, as a client saving it would.
    const file = path.join(dataDir, 'export.jsonl');
    global.gc?.();
    const exported = await sampled(async () => {
      const res = await fetch(`${base}/export`, { headers: { authorization: `Bearer ${answer.ownerToken}` } });
      if (res.status !== 200 || !res.body) throw new Error(`GET /export answered ${res.status}`);
      await pipeline(Readable.fromWeb(res.body as NodeReadableStream), createWriteStream(file));
    });
    const { size } = await stat(file);
    let last = '';
    for await (const line of splitLines(createReadStream(file, { encoding: 'utf8' }))) last = line;
    if (last !== JSON.stringify({ type: 'end', records: opts.rows, ledgerEntries: 0 })) throw new Error(`the export ends with ${last.slice(0, 200)}`);

    // tenant:import of that file into a fresh tenant (the command's own path, in this process).
    global.gc?.();
    const imported = await sampled(() =>
      importTenant(
        { prisma: nexus.services.db.prisma, vectors: nexus.services.vectors, objects: nexus.services.objects, vectorDimension: DIM },
        () => splitLines(createReadStream(file, { encoding: 'utf8' })),
        { email: `imported-${Date.now()}@example.com` },
      ),
    );
    if (imported.result.records !== opts.rows) throw new Error(`the import wrote ${imported.result.records} records`);

    const rate = (ms: number) => opts.rows / (ms / 1000);
    const baseline = { name: 'raw scan of the store', value: rate(raw.ms) };
    const exportRate = rate(exported.ms);
    const heapGrowth = exported.heap.peak - exported.heap.before;
    const figures: Figure[] = [
      { name: 'export, GET /export over HTTP to a file', value: exportRate, unit: 'records/s', baseline, target: { text: `≥ ${TARGET}×`, met: exportRate / baseline.value >= TARGET } },
      { name: 'export, heap growth while streaming', value: heapGrowth / MiB, unit: 'MiB', target: { text: `< ${HEAP_TARGET / MiB} MiB`, met: heapGrowth < HEAP_TARGET } },
      { name: 'export, peak RSS', value: exported.rss.peak / MiB, unit: 'MiB' },
      { name: 'import, tenant:import of the file', value: rate(imported.ms), unit: 'records/s', baseline },
    ];
    report('export (1)', figures, [
      `${opts.rows} records × ${DIM} with text and metadata: ${(size / MiB).toFixed(1)} MiB of JSON Lines, ${(size / MiB / (exported.ms / 1000)).toFixed(1)} MiB/s.`,
      `heap (heapUsed + array buffers): ${(exported.heap.before / MiB).toFixed(0)} MiB before, ${(exported.heap.peak / MiB).toFixed(0)} MiB at peak; RSS ${(exported.rss.before / MiB).toFixed(0)} → ${(exported.rss.peak / MiB).toFixed(0)} MiB.`,
      `import: peak heap ${(imported.heap.peak / MiB).toFixed(0)} MiB, peak RSS ${(imported.rss.peak / MiB).toFixed(0)} MiB (it reads the file twice: checked whole, then written).`,
    ]);
  } finally {
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await nexus.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBenchmark(main);
