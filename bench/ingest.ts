// Ingest: rows/s of `remember` through the API (vectors as base64 and as JSON numbers, with and without ids,
// in-process and over HTTP) against LanceDB's own `add` of the same rows into a table of the same schema.
//
//   npm run bench:ingest -- --rows 50000 --batch 1000 --seed 7
//
// Every path writes the same rows, batch by batch, into a store of its own, in rounds whose path order is shuffled
// so background noise lands on all of them. The request bodies are built before the clock starts (a client's
// serialisation is not the server's cost); the raw baseline gets Arrow tables built before the clock too, which
// is the fastest LanceDB can be fed. Target: API (base64) ≥ 0.5× raw `add`.
import { nodeEnv } from './lib/production-env.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { createLogger } from '../src/log/logger.js';
import { createNexusServer } from '../src/server/create-nexus-server.js';
import { toArrowBatch } from '../src/vectors/rows.js';
import { tableSchema } from '../src/vectors/table-schema.js';
import { createClusteredSource } from '../test/helpers/clustered.js';
import { parseIntArgs } from './lib/args.js';
import { benchConfig, runBenchmark } from './lib/bench-config.js';
import { createRng, shuffle } from './lib/random.js';
import { report, type Figure } from './lib/report.js';
import { float32Base64 as b64 } from '../src/vectors/records.js';

const opts = parseIntArgs(process.argv.slice(2), { rows: 50_000, batch: 1000, seed: 7 });
const DIM = 384;
const TARGET = 0.5;

interface Batch {
  ids: string[];
  vectors: Float32Array[];
}

const REMEMBER = 'mutation($d: String!, $r: [RecordInput!]!) { remember(input: { domain: $d, records: $r }) { records { id } } }';

function body(domain: string, b: Batch, form: 'base64' | 'json', withIds: boolean): string {
  const records = b.vectors.map((v, i) => ({
    ...(withIds ? { id: b.ids[i] } : {}),
    kind: 'note',
    text: `note ${b.ids[i]}`,
    ...(form === 'base64' ? { vectorBase64: b64(v) } : { vector: Array.from(v) }),
  }));
  return JSON.stringify({ query: REMEMBER, variables: { d: domain, r: records } });
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-bench-ingest-'));
  // Indexing is measured by the search benchmark; here it would only add background work to some paths.
  const config = benchConfig(dataDir, DIM, { NEXUS_INDEX_MIN_ROWS: '0' });
  const nexus = await createNexusServer(config, { log: createLogger('silent') });
  const http = createServer(nexus.yoga);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;
  const rawDir = path.join(dataDir, 'raw');
  try {
    console.log(`nexus ingest bench: ${opts.rows} rows × ${DIM} per path, batches of ${opts.batch}, seed ${opts.seed}, node ${process.version}, NODE_ENV=${nodeEnv}, database ${nexus.services.db.backend}`);
    const paths = [
      { name: 'API in-process, base64, ids', domain: 'b64ids', form: 'base64', withIds: true, http: false },
      { name: 'API in-process, base64, no ids', domain: 'b64new', form: 'base64', withIds: false, http: false },
      { name: 'API over HTTP, base64, ids', domain: 'b64http', form: 'base64', withIds: true, http: true },
      { name: 'API in-process, JSON numbers, ids', domain: 'jsonids', form: 'json', withIds: true, http: false },
    ] as const;
    const signUp = await nexus.yoga.fetch('http://bench/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($i: SignUpInput!) { signUp(input: $i) { ownerToken } }',
        variables: { i: { email: `ingest-${Date.now()}@example.com`, displayName: 'Bench', domains: paths.map((p) => p.domain) } },
      }),
    });
    const token = ((await signUp.json()) as { data: { signUp: { ownerToken: string } } }).data.signUp.ownerToken;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };

    const source = createClusteredSource({ seed: opts.seed, dim: DIM, clusters: 200, subclusters: 50, subSpread: 0.8, spread: 0.5 });
    const batches: Batch[] = [];
    for (let from = 0; from < opts.rows; from += opts.batch) {
      const n = Math.min(opts.batch, opts.rows - from);
      batches.push({ ids: Array.from({ length: n }, (_, i) => `r-${from + i}`), vectors: source.vectors(n) });
    }

    // The raw baseline: LanceDB's add of Arrow tables built (before the clock) in the gateway's own schema.
    const schema = tableSchema(DIM);
    const rawTable = await (await lancedb.connect(rawDir)).createEmptyTable('vectors', schema);
    const rawData = batches.map((b) =>
      toArrowBatch(schema, b.vectors.map((unit, i) => ({ id: b.ids[i] as string, idGiven: true, kind: 'note', text: `note ${b.ids[i]}`, metadata: null, occurredAt: 0, unit, norm: 1 })), null, 0),
    );
    // And LanceDB fed plain objects, as its documentation shows (it builds the Arrow table itself).
    const objectsTable = await (await lancedb.connect(path.join(dataDir, 'raw-objects'))).createEmptyTable('vectors', schema);
    const objectRows = (b: Batch) =>
      b.vectors.map((v, i) => ({ id: b.ids[i], kind: 'note', text: `note ${b.ids[i]}`, metadata: null, occurred_at: 0n, created_at: 0n, writer: null, norm: 1, vector: Array.from(v) }));

    const bodies = new Map(paths.map((p) => [p.name, batches.map((b) => body(p.domain, b, p.form, p.withIds))]));
    const ms = new Map<string, number>([...paths.map((p) => [p.name, 0] as [string, number]), ['raw add (Arrow)', 0], ['raw add (objects)', 0]]);
    const timed = async (name: string, fn: () => Promise<void>) => {
      const t0 = performance.now();
      await fn();
      ms.set(name, (ms.get(name) ?? 0) + performance.now() - t0);
    };
    const orderRng = createRng(opts.seed ^ 0x1a2b);
    for (let i = 0; i < batches.length; i++) {
      const steps: [string, () => Promise<void>][] = [
        ['raw add (Arrow)', async () => void (await rawTable.add(rawData[i]!))],
        ['raw add (objects)', async () => void (await objectsTable.add(objectRows(batches[i]!)))],
        ...paths.map((p): [string, () => Promise<void>] => [
          p.name,
          async () => {
            // A fresh headers object each time: Yoga's in-process fetch writes content-length into the one it is given.
            const init = { method: 'POST', headers: { ...headers }, body: bodies.get(p.name)![i]! };
            const res = p.http ? await fetch(url, init) : await nexus.yoga.fetch('http://bench/graphql', init);
            const text = await res.text();
            if (!text) throw new Error(`${p.name}: HTTP ${res.status} with an empty body`);
            const json = JSON.parse(text) as { data?: { remember?: { records: unknown[] } }; errors?: unknown };
            if (json.errors || json.data?.remember?.records.length !== batches[i]!.ids.length) throw new Error(`${p.name}: ${JSON.stringify(json).slice(0, 300)}`);
          },
        ]),
      ];
      for (const [name, run] of shuffle(steps, orderRng)) await timed(name, run);
    }

    // Every path stored every row.
    for (const p of paths) {
      const res = await nexus.yoga.fetch('http://bench/graphql', { method: 'POST', headers: { ...headers }, body: JSON.stringify({ query: `{ domain(key: "${p.domain}") { recordCount } }` }) });
      const count = ((await res.json()) as { data: { domain: { recordCount: number } } }).data.domain.recordCount;
      if (count !== opts.rows) throw new Error(`${p.name} stored ${count} rows, expected ${opts.rows}`);
    }
    if ((await rawTable.countRows()) !== opts.rows) throw new Error('the raw table lost rows');

    const rate = (name: string) => opts.rows / ((ms.get(name) as number) / 1000);
    const raw = { name: 'raw LanceDB add (Arrow)', value: rate('raw add (Arrow)') };
    const figures: Figure[] = paths.map((p) => {
      const value = rate(p.name);
      const primary = p.form === 'base64';
      return { name: `ingest, ${p.name}`, value, unit: 'rows/s', baseline: raw, target: primary ? { text: `≥ ${TARGET}×`, met: value / raw.value >= TARGET } : undefined };
    });
    figures.push({ name: 'ingest, raw LanceDB add (plain objects)', value: rate('raw add (objects)'), unit: 'rows/s', baseline: raw });
    report('ingest (4)', figures, [
      `${opts.rows} rows × ${DIM} per path in batches of ${opts.batch}; each path into a fresh store; bodies and Arrow tables built before the clock.`,
      'Target applies to the base64 paths; JSON numbers are shown for comparison (GraphQL coerces each number).',
    ]);
  } finally {
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await nexus.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBenchmark(main);
