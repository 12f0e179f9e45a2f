// Erasure on the S3 test server: how long deleteTenant takes for a tenant with 3 domains of 10k records each, and
// how many objects it removes; the ledger, surfaces and a private store come along. No target: the figure is for the
// closing note and for operators sizing erasures.
//
//   npm run bench:erasure -- --rows 10000 --dim 384 --seed 42
import { nodeEnv } from './lib/production-env.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/log/logger.js';
import { createNexusServer } from '../src/server/create-nexus-server.js';
import { float32Base64 as b64 } from '../src/vectors/records.js';
import { parseIntArgs } from './lib/args.js';
import { benchConfig, runBenchmark } from './lib/bench-config.js';
import { createRng, randomUnitVector } from './lib/random.js';
import { report } from './lib/report.js';
import { startS3ServerProcess } from '../test/helpers/s3-server-process.js';

const opts = parseIntArgs(process.argv.slice(2), { rows: 10_000, dim: 384, seed: 42 });
const DOMAINS = ['health', 'business', 'finance'];
const BATCH = 1000;

async function main(): Promise<void> {
  const s3 = await startS3ServerProcess();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-bench-erasure-'));
  const config = benchConfig(dataDir, opts.dim, {
    NEXUS_STORAGE_URI: 's3://nexus/erasure',
    AWS_ENDPOINT_URL: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
  });
  const nexus = await createNexusServer(config, { log: createLogger('silent') });
  try {
    const gql = async (query: string, variables: unknown, token?: string) => {
      const res = await nexus.yoga.fetch('http://bench/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: any; errors?: unknown[] };
      if (body.errors) throw new Error(JSON.stringify(body.errors).slice(0, 500));
      return body.data;
    };
    const signUp = await gql('mutation { signUp(input: { email: "erasure-bench@example.com" }) { ownerToken tenant { id } } }', {});
    const token: string = signUp.signUp.ownerToken;
    const tenantId: string = signUp.signUp.tenant.id;
    const rng = createRng(opts.seed);
    const loadStarted = performance.now();
    for (const domain of DOMAINS) {
      for (let from = 0; from < opts.rows; from += BATCH) {
        const records = Array.from({ length: Math.min(BATCH, opts.rows - from) }, (_, i) => ({ kind: 'note', text: `${domain} note ${from + i}`, vectorBase64: b64(randomUnitVector(rng, opts.dim)) }));
        await gql('mutation($d: String!, $r: [RecordInput!]!) { remember(input: { domain: $d, records: $r }) { records { id } } }', { d: domain, r: records }, token);
      }
    }
    await nexus.services.vectors.indexIdle();
    const loadS = (performance.now() - loadStarted) / 1000;
    const usage = await nexus.services.usage(tenantId);

    const started = performance.now();
    await gql('mutation($c: String!) { deleteTenant(confirm: $c) }', { c: tenantId }, token);
    const erasureMs = performance.now() - started;
    let left = 0;
    for await (const page of nexus.services.objects.list([tenantId])) left += page.length;
    if (left !== 0) throw new Error(`${left} objects left under the tenant's prefix`);

    console.log(`loaded ${DOMAINS.length} × ${opts.rows} records (${opts.dim} dims) in ${loadS.toFixed(1)} s; ${usage.stores.reduce((n, s) => n + s.files, 0)} objects, ${(usage.bytes / 1024 / 1024).toFixed(1)} MiB`);
    report(
      'erasure on the S3 test server',
      [
        { name: `deleteTenant, ${DOMAINS.length} domains × ${opts.rows} records`, value: erasureMs, unit: 'ms' },
        { name: 'objects removed', value: usage.stores.reduce((n, s) => n + s.files, 0), unit: '' },
        { name: 'bytes removed', value: usage.bytes, unit: 'B' },
      ],
      [`S3 test server (s3rver) on loopback, in its own process; NODE_ENV=${nodeEnv}; database ${nexus.services.db.backend}; 0 objects left under the prefix afterwards.`],
    );
  } finally {
    await nexus.close();
    await s3.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBenchmark(main);
