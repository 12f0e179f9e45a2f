// The server-side embedder (NEXUS_EMBEDDER=openai) through the public API on both backends: text without a vector
// is embedded in batches, a text search is hybrid, failures are EMBEDDER_UNAVAILABLE, and every embedding is paid for.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { createLogger } from '../../src/log/logger.js';
import { createNexusServer } from '../../src/server/create-nexus-server.js';
import { RecordCountDocument, TopUpDocument } from '../generated/graphql.js';
import { fakeEmbedding, startEmbeddingsServer, type EmbeddingsServer } from '../helpers/embeddings-server.js';
import { addSurface, signUpTenant, type TestTenant } from '../helpers/fixtures.js';
import { backends, codes, createTestDatabase, startNexus, type Backend, type GqlResult, type TestNexus } from '../helpers/nexus.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BACKENDS = await backends();
const DIM = 8;
const MODEL = 'nexus-test-embed-1';
const API_KEY = 'sk-nexus-test-7c1f93e2-do-not-leak';

const embedderEnv = (url: string, extra: Record<string, string> = {}): Record<string, string> => ({
  NEXUS_EMBEDDER: 'openai',
  NEXUS_EMBEDDINGS_URL: url,
  NEXUS_EMBEDDINGS_MODEL: MODEL,
  NEXUS_EMBEDDINGS_API_KEY: API_KEY,
  ...extra,
});

const unit = (i: number): number[] => Array.from({ length: DIM }, (_, j) => (j === i ? 1 : 0));
const expectVector = (got: number[], want: number[]) => {
  expect(got).toHaveLength(want.length);
  got.forEach((x, i) => expect(Math.abs(x - (want[i] ?? Number.NaN))).toBeLessThan(1e-6));
};

const REMEMBER = 'mutation($input: RememberInput!) { remember(input: $input) { records { id text hasVector vector } } }';
const SEARCH = 'query($input: SearchInput!) { search(input: $input) { hits { distance score record { id text hasVector } } } }';
const WALLET = '{ wallet { balance ledger(first: 20) { amount reason surface { key } } } }';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What createNexusServer (as startNexus calls it) rejects with; the data directory and database are removed either way. */
async function startUpError(backend: Backend, env: Record<string, string>): Promise<unknown> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-embedder-'));
  const database = backend === 'postgresql' ? await createTestDatabase() : undefined;
  try {
    const config = loadConfig({ NEXUS_DATA_DIR: dataDir, NEXUS_VECTOR_DIM: String(DIM), LOG_LEVEL: 'silent', ...(database ? { DATABASE_URL: database.url } : {}), ...env });
    const server = await createNexusServer(config, { log: createLogger('silent') });
    await server.close();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
  }
}

describe.each(BACKENDS)('the embedder on %s', (backend) => {
  let embeddings: EmbeddingsServer;
  let nexus: TestNexus;
  let probe: EmbeddingsServer['requests'];
  /** Every answer the server gave, to look for the API key in. */
  const bodies: string[] = [];

  beforeAll(async () => {
    embeddings = await startEmbeddingsServer({ dimension: DIM, shuffle: true, apiKey: API_KEY });
    nexus = await startNexus({
      backend,
      env: embedderEnv(embeddings.url, { NEXUS_EMBEDDINGS_BATCH: '2', NEXUS_EMBEDDINGS_RETRIES: '1', NEXUS_EMBEDDING_CREDITS: '2' }),
    });
    probe = [...embeddings.requests];
  });
  afterAll(async () => {
    await nexus?.close();
    await embeddings?.close();
  });
  beforeEach(() => embeddings.reset());

  const gql = async (query: string, variables: Record<string, unknown>, token?: string): Promise<GqlResult> => {
    const res = await nexus.gql(query, variables, token);
    bodies.push(JSON.stringify(res));
    return res;
  };
  const remember = (token: string, input: Record<string, unknown>) => gql(REMEMBER, { input }, token);
  const count = async (token: string, key = 'health') => (await nexus.gql(RecordCountDocument, { key }, token)).data?.domain?.recordCount;
  const wallet = async (token: string) => (await gql(WALLET, {}, token)).data?.wallet as { balance: string; ledger: { amount: string; reason: string; surface: { key: string } | null }[] };
  const funded = async (amount: string): Promise<TestTenant> => {
    const t = await signUpTenant(nexus, ['health', 'business', 'views']);
    const top = await nexus.gql(TopUpDocument, { input: { amount, reason: 't', idempotencyKey: 'k1' } }, t.ownerToken);
    expect(top.errors).toBeUndefined();
    return t;
  };
  /** Balance and the sum of every ledger entry, read straight from the database. */
  const books = async (tenantId: string) => {
    const prisma = nexus.server.services.db.prisma;
    const w = await prisma.wallet.findUniqueOrThrow({ where: { tenantId } });
    const entries = await prisma.ledgerEntry.findMany({ where: { walletId: w.id } });
    return { balance: w.balance, sum: entries.reduce((s, e) => s + e.amount, 0n), entries: entries.length };
  };

  it('probes the service once at start-up, with the key as a bearer token, and says so in serverInfo', async () => {
    expect(probe).toHaveLength(1);
    expect(probe[0]).toMatchObject({ authorization: `Bearer ${API_KEY}`, model: MODEL });
    const info = await gql('{ serverInfo { vectorDimension embedder { provider model creditsPerEmbedding } } }', {});
    expect(info.data?.serverInfo).toEqual({ vectorDimension: DIM, embedder: { provider: 'openai', model: MODEL, creditsPerEmbedding: '2' } });
  });

  it('embeds text-only records in batches of NEXUS_EMBEDDINGS_BATCH, each getting its own vector, and leaves given vectors alone', async () => {
    const t = await funded('100');
    const texts = ['heavy leg day', 'easy recovery jog', 'slept nine hours', 'ate a big salad', 'long bike ride'];
    const records = [...texts.map((text, i) => ({ id: `t${i}`, kind: 'note', text })), { id: 'given', kind: 'note', text: 'brought its own vector', vector: unit(3) }];
    const res = await remember(t.ownerToken, { domain: 'health', records });
    expect(res.errors).toBeUndefined();
    // 5 texts at 2 per request: 3 requests; the record with a vector is not sent.
    expect(embeddings.requests.map((r) => r.inputs.length).sort()).toEqual([1, 2, 2]);
    expect(embeddings.requests.flatMap((r) => r.inputs).sort()).toEqual([...texts].sort());
    for (const r of embeddings.requests) expect(r).toMatchObject({ authorization: `Bearer ${API_KEY}`, model: MODEL });
    const byId = new Map((res.data?.remember.records as { id: string; hasVector: boolean; vector: number[] }[]).map((r) => [r.id, r]));
    texts.forEach((text, i) => {
      expect(byId.get(`t${i}`)?.hasVector).toBe(true);
      expectVector(byId.get(`t${i}`)?.vector ?? [], fakeEmbedding(text, DIM));
    });
    expectVector(byId.get('given')?.vector ?? [], unit(3));

    // Read back from storage: a vector search for one text's embedding finds that record at distance 0.
    const found = await gql('query($input: SearchInput!) { search(input: $input) { hits { distance record { id vector } } } }', {
      input: { vector: fakeEmbedding(texts[2] ?? '', DIM), k: 1, domains: ['health'] },
    }, t.ownerToken);
    expect(found.data?.search.hits[0].record.id).toBe('t2');
    expect(found.data?.search.hits[0].distance).toBeLessThan(1e-5);
    expectVector(found.data?.search.hits[0].record.vector, fakeEmbedding(texts[2] ?? '', DIM));

    embeddings.reset();
    const two = await remember(t.ownerToken, { domain: 'health', records: [{ id: 'u0', kind: 'note', text: 'stretching' }, { id: 'u1', kind: 'note', text: 'yoga class' }] });
    expect(two.errors).toBeUndefined();
    expect(embeddings.requests.map((r) => r.inputs)).toEqual([['stretching', 'yoga class']]);
    expect(await count(t.ownerToken)).toBe(8);
    const w = await wallet(t.ownerToken);
    expect(w.balance).toBe('86');
    expect(w.ledger.slice(0, 2)).toEqual([
      { amount: '-4', reason: 'embedding: 2 texts (remember)', surface: null },
      { amount: '-10', reason: 'embedding: 5 texts (remember)', surface: null },
    ]);
  });

  describe('a text search', () => {
    const QUERY = 'morning trail run';
    let t: TestTenant;
    let god: { token: string };

    beforeAll(async () => {
      t = await funded('100');
      god = await addSurface(nexus, t.ownerToken, {
        key: 'god-view',
        kind: 'DASHBOARD',
        homeDomain: 'views',
        mounts: ['health', 'business'].map((domain) => ({ domain, access: 'READ' as const })),
      });
      const health = await remember(t.ownerToken, {
        domain: 'health',
        records: [
          { id: 'run', kind: 'workout', text: QUERY },
          { id: 'swim', kind: 'workout', text: 'evening pool laps' },
          { id: 'lift', kind: 'workout', text: 'heavy barbell squats' },
          // Found by its words, though its vector points away from the query's.
          { id: 'text-far', kind: 'note', text: 'trail run notes', vector: fakeEmbedding(QUERY, DIM).map((x) => -x) },
          { id: 'vec-only', kind: 'note', vector: fakeEmbedding('morning trail', DIM) },
        ],
      });
      expect(health.errors).toBeUndefined();
      const business = await remember(t.ownerToken, { domain: 'business', records: [{ id: 'deal', kind: 'note', text: 'closed a big deal' }] });
      expect(business.errors).toBeUndefined();
    });

    it('is hybrid: the record with the same text ranks first in both rankings, at distance 0', async () => {
      const res = await gql(SEARCH, { input: { text: QUERY, k: 10, domains: ['health'] } }, t.ownerToken);
      expect(res.errors).toBeUndefined();
      expect(embeddings.requests.map((r) => r.inputs)).toEqual([[QUERY]]);
      const hits = res.data?.search.hits as { distance: number | null; score: number; record: { id: string; text: string | null } }[];
      expect(hits.map((h) => h.record.id).sort()).toEqual(['lift', 'run', 'swim', 'text-far', 'vec-only']);
      expect(hits[0]?.record.id).toBe('run');
      expect(hits[0]?.distance).toBeLessThan(1e-5);
      expect(hits[0]?.score).toBeCloseTo(2 / 61, 9);
      // Last by vector, yet in both rankings: more than any one ranking can give (1/61), so second.
      expect(hits[1]?.record.id).toBe('text-far');
      expect(hits[1]?.distance).toBeGreaterThan(1.9);
      expect(hits[1]?.score).toBeGreaterThan(1 / 61);
      const vecOnly = hits.find((h) => h.record.id === 'vec-only');
      expect(vecOnly?.record.text).toBeNull();
      expect(vecOnly?.score).toBeLessThanOrEqual(1 / 61 + 1e-12);
      for (const h of hits) expect(h.distance).not.toBeNull();
    });

    it('embeds the same text once for a God View query with search and two domain searches', async () => {
      const res = await gql(
        `query($t: String!) {
          search(input: { text: $t, k: 5 }) { hits { distance record { id } } }
          health: domain(key: "health") { search(input: { text: $t, k: 5 }) { distance record { id } } }
          business: domain(key: "business") { search(input: { text: $t, k: 5 }) { distance record { id } } }
        }`,
        { t: QUERY },
        god.token,
      );
      expect(res.errors).toBeUndefined();
      expect(embeddings.requests.map((r) => r.inputs)).toEqual([[QUERY]]);
      expect(res.data?.search.hits[0].record.id).toBe('run');
      expect(res.data?.search.hits[0].distance).toBeLessThan(1e-5);
      expect(res.data?.health.search[0].record.id).toBe('run');
      expect(res.data?.business.search.map((h: { record: { id: string } }) => h.record.id)).toEqual(['deal']);
      expect(res.data?.business.search[0].distance).not.toBeNull();
      const w = await wallet(t.ownerToken);
      expect(w.ledger[0]).toEqual({ amount: '-2', reason: 'embedding: 1 text (search)', surface: { key: 'god-view' } });
    });
  });

  describe('when the service fails', () => {
    const text = (id: string) => ({ id, kind: 'note', text: `note ${id}` });

    it('answers EMBEDDER_UNAVAILABLE to remember while it answers 500, after one retry, and writes and burns nothing', async () => {
      const t = await funded('100');
      embeddings.fail('status500');
      const res = await remember(t.ownerToken, { domain: 'health', records: [text('a'), text('b')] });
      expect(codes(res)).toEqual(['EMBEDDER_UNAVAILABLE']);
      expect(res.data).toBeNull();
      expect(embeddings.requests).toHaveLength(2);
      expect(await count(t.ownerToken)).toBe(0);
      expect(await books(t.tenantId)).toEqual({ balance: 100n, sum: 100n, entries: 1 });
    });

    it('retries a single 500 and succeeds', async () => {
      const t = await funded('100');
      embeddings.fail('status500', 1);
      const res = await remember(t.ownerToken, { domain: 'health', records: [text('a'), text('b')] });
      expect(res.errors).toBeUndefined();
      expect(embeddings.requests).toHaveLength(2);
      expect(res.data?.remember.records.map((r: { hasVector: boolean }) => r.hasVector)).toEqual([true, true]);
      expect(await count(t.ownerToken)).toBe(2);
      expect((await wallet(t.ownerToken)).balance).toBe('96');
    });

    it.each(['wrongDimension', 'malformed'] as const)('answers EMBEDDER_UNAVAILABLE to remember and search for a %s answer, and writes and burns nothing', async (mode) => {
      const t = await funded('100');
      embeddings.fail(mode);
      const res = await remember(t.ownerToken, { domain: 'health', records: [text('a'), text('b'), text('c')] });
      expect(codes(res)).toEqual(['EMBEDDER_UNAVAILABLE']);
      expect(embeddings.requests.length).toBeGreaterThanOrEqual(1);
      const search = await gql(SEARCH, { input: { text: 'note a' } }, t.ownerToken);
      expect(codes(search)).toEqual(['EMBEDDER_UNAVAILABLE']);
      expect(await count(t.ownerToken)).toBe(0);
      expect(await books(t.tenantId)).toEqual({ balance: 100n, sum: 100n, entries: 1 });
    });

    it('answers EMBEDDER_UNAVAILABLE to a text search, fused or of one domain, and burns nothing', async () => {
      const t = await funded('100');
      const vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
      embeddings.fail('status500');
      expect(codes(await gql(SEARCH, { input: { text: 'leg day' } }, vo2.token))).toEqual(['EMBEDDER_UNAVAILABLE']);
      const one = await gql('{ domain(key: "health") { search(input: { text: "leg day" }) { distance } } }', {}, vo2.token);
      expect(codes(one)).toEqual(['EMBEDDER_UNAVAILABLE']);
      expect(await books(t.tenantId)).toEqual({ balance: 100n, sum: 100n, entries: 1 });
    });

    it('never shows the API key in an answer', () => {
      expect(bodies.filter((b) => b.includes('EMBEDDER_UNAVAILABLE')).length).toBeGreaterThanOrEqual(7);
      for (const body of bodies) expect(body).not.toContain(API_KEY);
    });
  });

  describe('metering at 2 credits per embedding', () => {
    it('burns per text from the surface that asked, refuses what the balance cannot pay, and charges nothing for given vectors', async () => {
      const t = await funded('10');
      const vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
      const three = (prefix: string) => [0, 1, 2].map((i) => ({ id: `${prefix}${i}`, kind: 'note', text: `${prefix} entry ${i}` }));

      expect((await remember(vo2.token, { records: three('a') })).errors).toBeUndefined();
      let w = await wallet(t.ownerToken);
      expect(w.balance).toBe('4');
      expect(w.ledger).toHaveLength(2);
      expect(w.ledger[0]).toMatchObject({ amount: '-6', surface: { key: 'vo2' } });
      expect(w.ledger[0]?.reason).toMatch(/\b3 texts\b.*remember/);

      // Refused before the model runs: a wallet that cannot pay never costs an embedding.
      embeddings.reset();
      expect(codes(await remember(vo2.token, { records: three('b') }))).toEqual(['INSUFFICIENT_CREDITS']);
      expect(embeddings.requests).toHaveLength(0);
      expect(await count(vo2.token)).toBe(3);
      expect(await books(t.tenantId)).toEqual({ balance: 4n, sum: 4n, entries: 2 });

      const given = await remember(vo2.token, { records: [{ id: 'v0', kind: 'note', text: 'with a vector', vector: unit(0) }, { id: 'v1', kind: 'note', vector: unit(1) }] });
      expect(given.errors).toBeUndefined();
      expect(await count(vo2.token)).toBe(5);
      expect(await books(t.tenantId)).toEqual({ balance: 4n, sum: 4n, entries: 2 });

      embeddings.reset();
      const twice = await gql('query($t: String!) { search(input: { text: $t }) { hits { record { id } } } domain(key: "health") { search(input: { text: $t }) { record { id } } } }', { t: 'a entry 1' }, vo2.token);
      expect(twice.errors).toBeUndefined();
      expect(twice.data?.search.hits[0].record.id).toBe('a1');
      expect(embeddings.requests.map((r) => r.inputs)).toEqual([['a entry 1']]);
      w = await wallet(t.ownerToken);
      expect(w.balance).toBe('2');
      expect(w.ledger[0]).toMatchObject({ amount: '-2', surface: { key: 'vo2' } });
      expect(w.ledger[0]?.reason).toMatch(/\b1 text\b.*search/);

      // A search that brings its own vector is not embedded, so it is free.
      embeddings.reset();
      expect((await gql(SEARCH, { input: { text: 'a entry 2', vector: unit(0) } }, vo2.token)).errors).toBeUndefined();
      expect(embeddings.requests).toHaveLength(0);
      expect(await books(t.tenantId)).toEqual({ balance: 2n, sum: 2n, entries: 3 });

      expect((await gql(SEARCH, { input: { text: 'a entry 2' } }, vo2.token)).errors).toBeUndefined();
      embeddings.reset();
      expect(codes(await gql(SEARCH, { input: { text: 'a entry 0' } }, vo2.token))).toEqual(['INSUFFICIENT_CREDITS']);
      expect(embeddings.requests).toHaveLength(0);
      expect(await books(t.tenantId)).toEqual({ balance: 0n, sum: 0n, entries: 4 });
    });

    it('lets exactly as many concurrent remembers through as the balance pays for, never below 0', async () => {
      const t = await funded('10');
      const vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => remember(vo2.token, { records: [{ id: `c${i}`, kind: 'note', text: `burst ${i}` }] })));
      expect(results.filter((r) => !r.errors)).toHaveLength(5);
      expect(results.filter((r) => codes(r).join() === 'INSUFFICIENT_CREDITS')).toHaveLength(3);
      expect(await count(vo2.token)).toBe(5);
      expect(await books(t.tenantId)).toEqual({ balance: 0n, sum: 0n, entries: 6 });
    });
  });
});

describe.each(BACKENDS)('a hanging embedding service on %s', (backend) => {
  let embeddings: EmbeddingsServer;
  let nexus: TestNexus;
  beforeAll(async () => {
    embeddings = await startEmbeddingsServer({ dimension: DIM });
    nexus = await startNexus({ backend, env: embedderEnv(embeddings.url, { NEXUS_EMBEDDINGS_TIMEOUT_MS: '300', NEXUS_EMBEDDINGS_RETRIES: '1' }) });
  });
  afterAll(async () => {
    await nexus?.close();
    await embeddings?.close();
  });

  it('answers EMBEDDER_UNAVAILABLE after the timeout and one retry, and writes nothing', async () => {
    const t = await signUpTenant(nexus, ['health']);
    embeddings.reset();
    embeddings.fail('hang');
    let started = performance.now();
    const res = await nexus.gql(REMEMBER, { input: { domain: 'health', records: [{ kind: 'note', text: 'never answered' }] } }, t.ownerToken);
    let ms = performance.now() - started;
    expect(codes(res)).toEqual(['EMBEDDER_UNAVAILABLE']);
    expect(ms).toBeGreaterThanOrEqual(500);
    expect(ms).toBeLessThan(5_000);
    expect(embeddings.requests).toHaveLength(2);
    expect((await nexus.gql(RecordCountDocument, { key: 'health' }, t.ownerToken)).data?.domain?.recordCount).toBe(0);

    started = performance.now();
    expect(codes(await nexus.gql(SEARCH, { input: { text: 'never answered' } }, t.ownerToken))).toEqual(['EMBEDDER_UNAVAILABLE']);
    ms = performance.now() - started;
    expect(ms).toBeLessThan(5_000);
  });
});

describe.each(BACKENDS)('start-up with an embedder on %s', (backend) => {
  it('refuses a service whose vectors have another dimension, naming NEXUS_VECTOR_DIM', async () => {
    const embeddings = await startEmbeddingsServer({ dimension: 9 });
    try {
      const error = await startUpError(backend, embedderEnv(embeddings.url));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('NEXUS_VECTOR_DIM');
      expect((error as ConfigError).message).toMatch(/\b8\b.*\b9\b/);
      expect((error as ConfigError).message).not.toContain(API_KEY);
      expect(embeddings.requests).toHaveLength(1);
    } finally {
      await embeddings.close();
    }
  });

  it('refuses an unreachable service, naming NEXUS_EMBEDDINGS_URL', async () => {
    const error = await startUpError(backend, embedderEnv(`http://127.0.0.1:${await freePort()}/v1`, { NEXUS_EMBEDDINGS_RETRIES: '0' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('NEXUS_EMBEDDINGS_URL');
    expect((error as ConfigError).message).not.toContain(API_KEY);
  });
});

describe('the gateway process with a mismatched embedder', () => {
  it('exits with code 2 and one line naming NEXUS_VECTOR_DIM, without the API key', async () => {
    const embeddings = await startEmbeddingsServer({ dimension: 9, apiKey: API_KEY });
    const dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-embedder-process-'));
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), PORT: '0', NEXUS_DATA_DIR: dataDir, NEXUS_VECTOR_DIM: String(DIM), ...embedderEnv(embeddings.url) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      expect(code).toBe(2);
      expect(stderr.split('\n').filter((line) => line !== '')).toHaveLength(1);
      expect(stderr).toMatch(/^nexus: invalid configuration: NEXUS_VECTOR_DIM [^\n]*\b8\b[^\n]*\b9\b[^\n]*\n$/);
      expect(stdout + stderr).not.toContain(API_KEY);
      expect(embeddings.requests).toEqual([expect.objectContaining({ authorization: `Bearer ${API_KEY}`, model: MODEL })]);
    } finally {
      await embeddings.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
