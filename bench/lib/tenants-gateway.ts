// Shared by bench/tenants.ts and bench/cold-s3.ts: an in-process gateway on local disk or on the S3 test server,
// a GraphQL helper, the raw-LanceDB cold path, storage footprints, an RSS sampler and argument parsing.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import * as lancedb from '@lancedb/lancedb';
import { loadConfig, type Config } from '../../src/config/env.js';
import { createLogger } from '../../src/log/logger.js';
import { createNexusServer, type NexusServer } from '../../src/server/create-nexus-server.js';
import { storageOptionsFor } from '../../src/server/storage-options.js';
import { storeUri, TABLE_NAME } from '../../src/vectors/layout.js';
import { VECTOR_INDEX_PREFIX } from '../../src/vectors/indexes.js';
import { searchQuery } from '../../src/vectors/store.js';
import { parseIntArgs } from './args.js';
import { startS3ServerProcess, type S3ServerProcess } from '../../test/helpers/s3-server-process.js';

export type Backend = 'local' | 's3';
export const BUCKET = 'nexus';

/** `--backend local|s3|both` beside the whole-number options of parseIntArgs. */
export function parseArgs<T extends Record<string, number>>(argv: readonly string[], defaults: T, backend: 'local' | 's3' | 'both'): T & { backends: Backend[] } {
  const rest: string[] = [];
  let chosen: string = backend;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const match = /^--backend(?:=(.*))?$/.exec(arg);
    if (!match) {
      rest.push(arg);
      continue;
    }
    chosen = match[1] ?? argv[++i] ?? '';
    if (!['local', 's3', 'both'].includes(chosen)) throw new Error(`--backend must be local, s3 or both (got ${JSON.stringify(chosen)})`);
  }
  const backends: Backend[] = chosen === 'both' ? ['local', 's3'] : [chosen as Backend];
  return { ...parseIntArgs(rest, defaults), backends };
}

export type Gql = (query: string, variables?: unknown, token?: string) => Promise<Record<string, any>>;

export interface BenchGateway {
  readonly backend: Backend;
  readonly nexus: NexusServer;
  readonly config: Config;
  /** What the gateway passes LanceDB (undefined on local disk). */
  readonly storageOptions: Record<string, string> | undefined;
  /** The S3 test server, in a child process (s3 only). */
  readonly s3: S3ServerProcess | undefined;
  /** The key prefix of the storage root in the bucket (s3 only), e.g. "bench". */
  readonly prefix: string;
  readonly dataDir: string;
  gql: Gql;
  /** Store directory (local) or URI (s3) of a tenant's domain. */
  domainUri(tenantId: string, domainKey: string): string;
  /** Where a tenant's objects live on the local file system: its directory, or its folder inside the S3 server's. */
  tenantDir(tenantId: string): string;
  /** Closes the gateway only (the data and the S3 server stay, for a next gateway on them). */
  closeGateway(): Promise<void>;
  /** Starts a new gateway on the same data directory, storage and S3 server (after closeGateway). */
  restart(): Promise<void>;
  /** Closes everything and removes the data. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  dim: number;
  cacheSize: number;
  /** Extra gateway variables (e.g. NEXUS_INDEX_MIN_ROWS). */
  env?: Record<string, string>;
}

/** An in-process gateway (PGlite control plane) with its vectors on local disk or on a fresh S3 test server (a child process). */
export async function startBenchGateway(backend: Backend, options: GatewayOptions): Promise<BenchGateway> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `nexus-bench-${backend}-`));
  let s3: S3ServerProcess | undefined;
  try {
    if (backend === 's3') s3 = await startS3ServerProcess();
    const prefix = 'bench';
    const env: Record<string, string> = {
      NEXUS_DATA_DIR: dataDir,
      NEXUS_VECTOR_DIM: String(options.dim),
      NEXUS_TABLE_CACHE_SIZE: String(options.cacheSize),
      NEXUS_SIGNUP: 'open',
      LOG_LEVEL: 'silent',
      // Rate limits off: the benchmark signs up and searches thousands of times from one address.
      NEXUS_RATE_LIMIT_PER_MINUTE: '0',
      NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '0',
      NEXUS_SIGNUP_RATE_LIMIT_PER_HOUR: '0',
      ...(s3
        ? {
            NEXUS_STORAGE_URI: `s3://${BUCKET}/${prefix}`,
            AWS_ENDPOINT_URL: s3.endpoint,
            AWS_ACCESS_KEY_ID: s3.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
            AWS_REGION: s3.region,
          }
        : {}),
      ...options.env,
    };
    const config = loadConfig(env);
    let nexus: NexusServer | undefined = await createNexusServer(config, { log: createLogger('silent') });
    const headers = (token: string): Record<string, string> =>
      token ? { 'content-type': 'application/json', authorization: `Bearer ${token}` } : { 'content-type': 'application/json' };
    const gw: BenchGateway = {
      backend,
      get nexus() {
        if (!nexus) throw new Error('the gateway is closed');
        return nexus;
      },
      config,
      storageOptions: storageOptionsFor(config),
      s3,
      prefix,
      dataDir,
      async gql(query, variables = {}, token = '') {
        const res = await gw.nexus.yoga.fetch('http://nexus.bench/graphql', { method: 'POST', headers: headers(token), body: JSON.stringify({ query, variables }) });
        const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
        if (!res.ok || body.errors || !body.data) throw new Error(`GraphQL call failed (${res.status}): ${JSON.stringify(body.errors ?? body).slice(0, 500)}`);
        return body.data;
      },
      domainUri: (tenantId, domainKey) => storeUri(config.storageUri, { scope: 'DOMAIN', tenantId, domainKey }),
      tenantDir: (tenantId) => (s3 ? path.join(s3.directory, BUCKET, prefix, tenantId) : path.join(config.storageUri, tenantId)),
      async closeGateway() {
        const n = nexus;
        nexus = undefined;
        await n?.close();
      },
      async restart() {
        if (nexus) throw new Error('close the gateway before restarting it');
        nexus = await createNexusServer(config, { log: createLogger('silent') });
      },
      async close() {
        try {
          await gw.closeGateway();
        } finally {
          await s3?.stop();
          await rm(dataDir, { recursive: true, force: true });
        }
      },
    };
    return gw;
  } catch (error) {
    await s3?.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** Little-endian float32 bytes in base64, as `vectorBase64` takes them. */
export { float32Base64 as b64 } from '../../src/vectors/records.js';

/**
 * Raw LanceDB, cold: a fresh connection (the gateway's storage options and connect options, so it writes nothing and
 * checks versions the same way), openTable, then the gateway's own query (searchQuery). Returns the hit ids.
 */
export async function rawColdSearch(
  uri: string,
  storageOptions: Record<string, string> | undefined,
  unit: Float32Array,
  k: number,
  nprobes: number,
  opts: { readConsistencyInterval?: number } = { readConsistencyInterval: 0 },
): Promise<{ ids: string[]; table: lancedb.Table }> {
  const db = await lancedb.connect(uri, { storageOptions, ...opts, namespaceClientProperties: { manifest_enabled: 'false' } });
  const table = await db.openTable(TABLE_NAME);
  const rows = (await searchQuery(table, { unit, k, withVectors: false }, nprobes).toArray()) as { id: string }[];
  return { ids: rows.map((r) => r.id), table };
}

/**
 * Raw cold open + search as above, plus what the gateway's index maintainer does on a store's first open
 * (src/vectors/indexes.ts, noteOpened → needed(): listIndices, then indexStats or countRows), started a turn of the
 * event loop later and run concurrently with the search, as the gateway runs it. Returns the hit ids.
 */
export async function rawColdSearchWithCheck(uri: string, storageOptions: Record<string, string> | undefined, unit: Float32Array, k: number, nprobes: number): Promise<string[]> {
  const db = await lancedb.connect(uri, { storageOptions, readConsistencyInterval: 0, namespaceClientProperties: { manifest_enabled: 'false' } });
  const table = await db.openTable(TABLE_NAME);
  try {
    const check = (async () => {
      await new Promise((resolve) => setImmediate(resolve));
      const found = (await table.listIndices()).find((i) => i.name.startsWith(VECTOR_INDEX_PREFIX));
      if (found) await table.indexStats(found.name);
      else await table.countRows();
    })();
    const [rows] = await Promise.all([searchQuery(table, { unit, k, withVectors: false }, nprobes).toArray() as Promise<{ id: string }[]>, check]);
    return rows.map((r) => r.id);
  } finally {
    table.close();
  }
}

export interface Footprint {
  files: number;
  bytes: number;
}

/** What a tenant leaves on storage: files and bytes under its directory (local), or objects and bytes under its prefix (S3, ListObjectsV2). */
export async function tenantFootprint(gw: BenchGateway, tenantId: string, client?: S3Client): Promise<Footprint> {
  if (gw.backend === 's3') {
    if (!client) throw new Error('an S3 client is needed for an S3 footprint');
    let files = 0;
    let bytes = 0;
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${gw.prefix}/${tenantId}/`, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        files += 1;
        bytes += o.Size ?? 0;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return { files, bytes };
  }
  return walkFootprint(gw.tenantDir(tenantId));
}

/** Files (and their bytes) under a directory; 0 for one that does not exist. Directories are counted apart. */
export async function walkFootprint(dir: string): Promise<Footprint & { dirs: number }> {
  const out = { files: 0, bytes: 0, dirs: 0 };
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    out.dirs += 1;
    await Promise.all(
      entries.map(async (e) => {
        const p = path.join(d, e.name);
        if (e.isDirectory()) return walk(p);
        const { size } = await stat(p);
        out.files += 1;
        out.bytes += size;
      }),
    );
  };
  await walk(dir);
  return out;
}

export function s3Client(gw: BenchGateway): S3Client | undefined {
  if (!gw.s3) return undefined;
  return new S3Client({
    endpoint: gw.s3.endpoint,
    region: gw.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: gw.s3.accessKeyId, secretAccessKey: gw.s3.secretAccessKey },
  });
}

/** Samples process RSS every few milliseconds; peak and the latest value. */
export function rssSampler(everyMs = 20) {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, everyMs);
  timer.unref();
  return {
    now: () => {
      const rss = process.memoryUsage().rss;
      peak = Math.max(peak, rss);
      return rss;
    },
    peak: () => peak,
    resetPeak: () => {
      peak = process.memoryUsage().rss;
    },
    stop: () => clearInterval(timer),
  };
}

export const MB = 2 ** 20;

/** Runs fn over items with at most `limit` in flight; results in item order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}
