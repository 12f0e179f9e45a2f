// Operations: /health, /ready and /metrics as an operator and a scraper see them, and /ready while PostgreSQL or
// the S3 server is away and once it is back (a cluster and an S3 server of this file's own; the shared ones stay up).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { signUpTenant, type TestTenant } from '../helpers/fixtures.js';
import { startGatewayProcess } from '../helpers/gateway-process.js';
import { postgresAvailable, serviceAvailable, startNexus, type TestNexus } from '../helpers/nexus.js';
import { freePort, postgresBinaries, startPostgresCluster, type PostgresCluster } from '../helpers/postgres-cluster.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { parsePrometheusText, sampleValue, type Family } from '../helpers/prometheus-text.js';
import { readSse } from '../helpers/sse.js';

const TOKEN = 'metrics-scraper-secret-0123456789';
const DIM = 8;
const vec = (i: number) => Array.from({ length: DIM }, (_, j) => (j === i ? 1 : 0.1));

interface ReadyBody {
  status: 'ready' | 'not ready';
  checks: Record<string, { ok: boolean; ms: number; error?: string }>;
}

const get = (nexus: TestNexus, route: string, headers: Record<string, string> = {}) => nexus.server.yoga.fetch(`http://nexus.test${route}`, { headers });

async function ready(nexus: TestNexus): Promise<{ status: number; body: ReadyBody; text: string; ms: number }> {
  const started = performance.now();
  const res = await get(nexus, '/ready');
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as ReadyBody, text, ms: Math.round(performance.now() - started) };
}

/** Polls /ready until it answers `status`; how long that took. */
async function readyAgain(nexus: TestNexus, status: number, withinMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const r = await ready(nexus);
    if (r.status === status) return Math.round(performance.now() - started);
    if (performance.now() - started > withinMs) throw new Error(`/ready still ${r.status} after ${withinMs} ms: ${r.text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const parseMetrics = parsePrometheusText;
const value = sampleValue;
/** A histogram series' observation count (0 when it does not exist yet). */
const observations = (families: Map<string, Family>, name: string, labels: Record<string, string>) => sampleValue(families, `${name}_count`, labels);

async function scrape(nexus: TestNexus): Promise<Map<string, Family>> {
  const res = await get(nexus, '/metrics', { authorization: `Bearer ${TOKEN}` });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

describe('health, readiness and metrics on PGlite and local storage', () => {
  let nexus: TestNexus;
  let t: TestTenant;
  beforeAll(async () => {
    nexus = await startNexus({ env: { NEXUS_METRICS_TOKEN: TOKEN } });
    t = await signUpTenant(nexus);
  });
  afterAll(async () => {
    await nexus?.close();
  });

  it('answers /health with 200 and a JSON body', async () => {
    const res = await get(nexus, '/health');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /ready with 200 when the database, its migrations and the storage directory are ready', async () => {
    const r = await ready(nexus);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('ready');
    expect(Object.keys(r.body.checks).sort()).toEqual(['database', 'migrations', 'storage']);
    for (const check of Object.values(r.body.checks)) expect(check).toEqual({ ok: true, ms: expect.any(Number) });
  });

  it('is not ready while a migration of this build is not recorded as finished', async () => {
    const prisma = nexus.server.services.db.prisma;
    const [last] = await prisma.$queryRaw<{ id: string; migration_name: string }[]>`
      SELECT id, migration_name FROM "_prisma_migrations" ORDER BY migration_name DESC LIMIT 1`;
    if (!last) throw new Error('no migrations recorded');
    await prisma.$executeRaw`UPDATE "_prisma_migrations" SET finished_at = NULL WHERE id = ${last.id}`;
    try {
      const r = await ready(nexus);
      expect(r.status).toBe(503);
      expect(r.body.status).toBe('not ready');
      expect(r.body.checks.migrations).toMatchObject({ ok: false, error: expect.stringContaining(last.migration_name) });
      expect(r.body.checks.database?.ok).toBe(true);
    } finally {
      await prisma.$executeRaw`UPDATE "_prisma_migrations" SET finished_at = now() WHERE id = ${last.id}`;
    }
    expect((await ready(nexus)).status).toBe(200);
  });

  it('reads /metrics with a parser that refuses what the text format forbids', () => {
    expect(() => parseMetrics('a_total 1')).toThrow(/line feed/);
    expect(() => parseMetrics('a{x="1} 1\n')).toThrow(/label/);
    expect(() => parseMetrics('a{x="1"} 1\nb 1\na{x="2"} 2\n')).toThrow(/split/);
    expect(() => parseMetrics('a{x="1"} 1\na{x="1"} 2\n')).toThrow(/repeated/);
    expect(() => parseMetrics('a 1\n# TYPE a counter\n')).toThrow(/after its samples/);
    const histogram = (inf: number) => `# TYPE h histogram\nh_bucket{le="1",k="v"} 2\nh_bucket{le="+Inf",k="v"} ${inf}\nh_sum{k="v"} 3\nh_count{k="v"} 2\n`;
    expect(() => parseMetrics(histogram(1))).toThrow(/cumulative/);
    expect(observations(parseMetrics(histogram(2)), 'h', { k: 'v' })).toBe(2);
  });

  it('answers /metrics 401 without the token or with another, and Prometheus text with it', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-secret-0123456789abcdef' }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }]) {
      const res = await get(nexus, '/metrics', headers);
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain('nexus_');
    }
    const families = await scrape(nexus);
    const names = [...families.keys()];
    for (const name of [
      'nexus_graphql_requests_total', 'nexus_graphql_request_duration_seconds', 'nexus_graphql_errors_total', 'nexus_search_duration_seconds',
      'nexus_vector_open_tables', 'nexus_index_builds_total', 'nexus_credit_operations_total', 'nexus_credits_total', 'nexus_subscriptions_open',
    ]) expect(names).toContain(name);
  });

  it('counts requests per operation, errors by code, searches per store kind and credits', async () => {
    const before = await scrape(nexus);
    const remember = await nexus.gql(
      'mutation Remember($input: RememberInput!) { remember(input: $input) { records { id } } }',
      { input: { domain: 'health', records: [{ kind: 'workout', text: 'heavy leg day', vector: vec(0) }] } },
      t.ownerToken,
    );
    expect(remember.errors).toBeUndefined();
    const search = await nexus.gql('query Search($v: [Float!]) { domain(key: "health") { search(input: { vector: $v, k: 1 }) { score } } }', { v: vec(0) }, t.ownerToken);
    expect(search.data?.domain?.search).toHaveLength(1);
    const key = `ops-${Date.now()}`;
    const credit = (verb: string, amount: string, suffix: string) =>
      `mutation ${verb[0]?.toUpperCase()}${verb.slice(1)} { ${verb}Credits(input: { amount: "${amount}", reason: "ops test", idempotencyKey: "${key}-${suffix}" }) { wallet { balance } } }`;
    expect((await nexus.gql(credit('topUp', '100', 'top'), {}, t.ownerToken)).errors).toBeUndefined();
    expect((await nexus.gql(credit('burn', '10', 'burn'), {}, t.ownerToken)).errors).toBeUndefined();
    // A replay of the same key moves nothing, and is not counted again.
    expect((await nexus.gql(credit('burn', '10', 'burn'), {}, t.ownerToken)).errors).toBeUndefined();
    const overdraw = await nexus.gql(credit('burn', '1000000', 'over'), {}, t.ownerToken);
    expect(overdraw.errors?.[0]?.extensions?.code).toBe('INSUFFICIENT_CREDITS');
    expect((await nexus.gql('{ serverInfo {', {})).errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect((await nexus.gql('{ serverInfo { version } }', {})).errors).toBeUndefined();
    const after = await scrape(nexus);

    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(delta('nexus_graphql_requests_total', { operation: 'Remember', type: 'mutation' })).toBe(1);
    expect(delta('nexus_graphql_requests_total', { operation: 'Search', type: 'query' })).toBe(1);
    expect(delta('nexus_graphql_requests_total', { operation: 'Burn', type: 'mutation' })).toBe(3);
    expect(delta('nexus_graphql_requests_total', { operation: 'anonymous', type: 'query' })).toBe(1);
    expect(delta('nexus_graphql_requests_total', { operation: 'anonymous', type: 'unknown' })).toBe(1);
    const latency = (a: Map<string, Family>) => observations(a, 'nexus_graphql_request_duration_seconds', { operation: 'Remember', type: 'mutation' });
    expect(latency(after) - latency(before)).toBe(1);
    expect(delta('nexus_graphql_errors_total', { code: 'INSUFFICIENT_CREDITS' })).toBe(1);
    expect(delta('nexus_graphql_errors_total', { code: 'GRAPHQL_PARSE_FAILED' })).toBe(1);
    const searches = (a: Map<string, Family>, kind: string) => observations(a, 'nexus_search_duration_seconds', { kind });
    expect(searches(after, 'DOMAIN') - searches(before, 'DOMAIN')).toBe(1);
    expect(searches(after, 'GLOBAL') - searches(before, 'GLOBAL')).toBe(0);
    expect(delta('nexus_credit_operations_total', { kind: 'burn' })).toBe(1);
    expect(delta('nexus_credits_total', { kind: 'burn' })).toBe(10);
    expect(delta('nexus_credit_operations_total', { kind: 'top_up' })).toBe(1);
    expect(delta('nexus_credits_total', { kind: 'top_up' })).toBe(100);
    expect(value(after, 'nexus_vector_open_tables')).toBeGreaterThanOrEqual(1);
    // A store's first write of text builds its full-text index.
    expect(delta('nexus_index_builds_total', { index: 'text' })).toBeGreaterThanOrEqual(1);
  });

  it('keeps operation names a client invents from minting unbounded series', async () => {
    await Promise.all(Array.from({ length: 220 }, (_, i) => nexus.gql(`query Made${i} { serverInfo { version } }`, {})));
    const families = await scrape(nexus);
    const operations = new Set(families.get('nexus_graphql_requests_total')?.samples.map((s) => s.labels.operation));
    // 200 names at most, "anonymous" and "other".
    expect(operations.size).toBeLessThanOrEqual(202);
    expect(value(families, 'nexus_graphql_requests_total', { operation: 'other', type: 'query' })).toBeGreaterThan(0);
  });

  it('counts live subscriptions while they are open', async () => {
    const open = async () => value(await scrape(nexus), 'nexus_subscriptions_open');
    expect(await open()).toBe(0);
    const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.ownerToken}` },
      body: JSON.stringify({ query: 'subscription Live { nexusEvents { type } }' }),
    });
    expect(res.status).toBe(200);
    const stream = readSse(res);
    await new Promise((r) => setTimeout(r, 150));
    expect(await open()).toBe(1);
    await stream.close();
    for (let i = 0; i < 50 && (await open()) !== 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await open()).toBe(0);
  });
});

describe('metrics switched off, and on a port of their own', () => {
  it('refuses a weak token without echoing it, and a metrics port that is the main port', () => {
    const refusal = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        if (error instanceof ConfigError) return error;
      }
      throw new Error('accepted');
    };
    const weak = refusal({ NEXUS_METRICS_TOKEN: 'hunter2 weak' });
    expect(weak.variable).toBe('NEXUS_METRICS_TOKEN');
    expect(weak.message).not.toContain('hunter2');
    expect(refusal({ PORT: '9100', NEXUS_METRICS_PORT: '9100' }).variable).toBe('NEXUS_METRICS_PORT');
    expect(loadConfig({}).metrics).toEqual({ token: undefined, port: undefined });
    expect(loadConfig({ NEXUS_METRICS_TOKEN: TOKEN, NEXUS_METRICS_PORT: '9100' }).metrics).toEqual({ token: TOKEN, port: 9100 });
  });

  it('answers /metrics 404 when neither NEXUS_METRICS_TOKEN nor NEXUS_METRICS_PORT is set; /health and /ready still answer', async () => {
    if (!(await postgresAvailable())) return;
    // On the shared PostgreSQL server (fast to start), with a storage path that cannot be created: not ready.
    const dir = await mkdtemp(path.join(tmpdir(), 'nexus-ops-'));
    await writeFile(path.join(dir, 'a-file'), 'not a directory');
    const nexus = await startNexus({ backend: 'postgresql', env: { NEXUS_STORAGE_URI: path.join(dir, 'a-file', 'vectors') } });
    try {
      expect(nexus.server.metrics).toBeNull();
      const res = await get(nexus, '/metrics', { authorization: `Bearer ${TOKEN}` });
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('nexus_');
      expect((await get(nexus, '/health')).status).toBe(200);
      const r = await ready(nexus);
      expect(r.status).toBe(503);
      expect(r.body.checks.storage).toMatchObject({ ok: false, error: expect.stringMatching(/not a directory/) });
      expect(r.text).not.toContain(dir);
      expect(r.body.checks.database?.ok).toBe(true);
    } finally {
      await nexus.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves /metrics on NEXUS_METRICS_PORT without a token, process metrics included, and not on the main port', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-ops-'));
    const gateway = await startGatewayProcess({ NEXUS_DATA_DIR: dataDir, NEXUS_VECTOR_DIM: String(DIM), NEXUS_METRICS_PORT: '0' });
    try {
      const port = Number(/"metricsPort":(\d+)/.exec(gateway.output())?.[1]);
      expect(port).toBeGreaterThan(0);
      const base = gateway.url.replace(/\/graphql$/, '');
      const health = await fetch(`${base}/health`);
      expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
      expect((await fetch(`${base}/ready`)).status).toBe(200);
      await gateway.gql('query Info { serverInfo { version } }');
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      const families = parseMetrics(await res.text());
      expect(value(families, 'nexus_graphql_requests_total', { operation: 'Info', type: 'query' })).toBe(1);
      expect(families.get('nexus_process_resident_memory_bytes')?.type).toBe('gauge');
      expect((await fetch(`http://127.0.0.1:${port}/graphql`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`)).status).toBe(404);
    } finally {
      await gateway.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('readiness while PostgreSQL and the S3 server go away and come back', () => {
  const DB_PASSWORD = 'hunter2-db-password';
  const S3_SECRET = 'do-not-print-this-s3-secret';
  let cluster: PostgresCluster | undefined;
  let s3: S3TestServer | undefined;
  let s3Dir: string;
  let nexus: TestNexus | undefined;
  let available = false;
  beforeAll(async () => {
    available = await serviceAvailable('initdb and pg_ctl under /usr/lib/postgresql', async () => {
      if (!postgresBinaries()) throw new Error('missing');
    });
    if (!available) return;
    cluster = await startPostgresCluster();
    s3Dir = await mkdtemp(path.join(tmpdir(), 'nexus-ops-s3-'));
    s3 = await startS3Server({ directory: s3Dir });
    nexus = await startNexus({
      env: {
        // Trust auth ignores the password: it is there to prove that /ready never shows it.
        DATABASE_URL: cluster.url().replace('postgres@', `postgres:${DB_PASSWORD}@`),
        NEXUS_STORAGE_URI: 's3://nexus/ops',
        AWS_ENDPOINT_URL: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3_SECRET,
        AWS_REGION: s3.region,
      },
    });
  }, 60_000);
  afterAll(async () => {
    await nexus?.close();
    await s3?.stop();
    await cluster?.close();
    if (s3Dir) await rm(s3Dir, { recursive: true, force: true });
  });

  it('is ready on PostgreSQL and S3, every check passing', async () => {
    if (!available || !nexus) return;
    const r = await ready(nexus);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body.checks).sort()).toEqual(['database', 'migrations', 'storage']);
    expect(Object.values(r.body.checks).every((c) => c.ok)).toBe(true);
  });

  it('turns 503 within the check timeout when PostgreSQL stops, and 200 soon after it is back', async () => {
    if (!available || !nexus || !cluster) return;
    await cluster.stop('fast');
    let down;
    let again;
    try {
      down = await ready(nexus);
      again = await ready(nexus);
    } finally {
      await cluster.start();
    }
    console.log(`/ready with PostgreSQL down: ${down.status} in ${down.ms} ms, then ${again.status} in ${again.ms} ms: ${down.text}`);
    expect(down.status).toBe(503);
    expect(again.status).toBe(503);
    expect(down.body.checks.database?.ok).toBe(false);
    expect(down.body.checks.migrations?.ok).toBe(false);
    expect(down.body.checks.storage?.ok).toBe(true);
    expect(down.body.checks.database?.error).toMatch(/\S/);
    expect(Math.max(down.ms, again.ms)).toBeLessThan(3000);
    expect(down.text).not.toContain(DB_PASSWORD);
    expect(down.text).not.toMatch(/postgres(ql)?:\/\//);
    const back = await readyAgain(nexus, 200, 15_000);
    console.log(`/ready 200 again ${back} ms after PostgreSQL was back`);
    expect(back).toBeLessThan(10_000);
  });

  it('answers 503 within the check timeout while PostgreSQL hangs, and 200 once it resumes', async () => {
    if (!available || !nexus || !cluster) return;
    await cluster.pause();
    let hung;
    try {
      hung = await ready(nexus);
    } finally {
      await cluster.resume();
    }
    console.log(`/ready with PostgreSQL hung (SIGSTOP): ${hung.status} in ${hung.ms} ms`);
    expect(hung.status).toBe(503);
    expect(hung.body.checks.database).toMatchObject({ ok: false, error: 'timed out after 2000 ms' });
    expect(hung.ms).toBeGreaterThanOrEqual(1900);
    expect(hung.ms).toBeLessThan(3000);
    const back = await readyAgain(nexus, 200, 15_000);
    console.log(`/ready 200 again ${back} ms after PostgreSQL resumed`);
    expect(back).toBeLessThan(5_000);
  });

  it('turns 503 when the S3 server stops, and 200 once it is back on the same port', async () => {
    if (!available || !nexus || !s3) return;
    // Something stored first, so the bucket holds data that must still be there afterwards.
    const tenant = await signUpTenant(nexus);
    const wrote = await nexus.gql('mutation($i: RememberInput!) { remember(input: $i) { records { id } } }', { i: { domain: 'health', records: [{ id: 'kept', kind: 'note', vector: vec(1) }] } }, tenant.ownerToken);
    expect(wrote.errors).toBeUndefined();
    const port = s3.port;
    await s3.stop();
    s3 = undefined;
    const down = await ready(nexus);
    console.log(`/ready with the S3 server down: ${down.status} in ${down.ms} ms`);
    expect(down.status).toBe(503);
    expect(down.body.checks.storage?.ok).toBe(false);
    expect(down.body.checks.database?.ok).toBe(true);
    expect(down.ms).toBeLessThan(3000);
    expect(down.text).not.toContain(S3_SECRET);

    // Then something on the port that accepts connections and never answers: the check's timeout bounds the wait.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    let hung;
    try {
      hung = await ready(nexus);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
    console.log(`/ready with the S3 endpoint silent: ${hung.status} in ${hung.ms} ms`);
    expect(hung.status).toBe(503);
    expect(hung.body.checks.storage).toMatchObject({ ok: false, error: 'timed out after 2000 ms' });
    expect(hung.ms).toBeLessThan(3000);

    s3 = await startS3Server({ directory: s3Dir, port });
    const back = await readyAgain(nexus, 200, 15_000);
    console.log(`/ready 200 again ${back} ms after the S3 server was back`);
    expect(back).toBeLessThan(5_000);
    const found = await nexus.gql('query($v: [Float!]) { domain(key: "health") { search(input: { vector: $v, k: 1 }) { record { id } } } }', { v: vec(1) }, tenant.ownerToken);
    expect(found.data?.domain?.search?.[0]?.record?.id).toBe('kept');
  });
});

const REDIS_PASSWORD = 'redis-secret-pw';

/** A redis-server of this test's own on `port` (with a password), answering PING before this resolves. */
async function startRedis(port: number): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', REDIS_PASSWORD];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  for (;;) {
    const probe = new Redis(`redis://127.0.0.1:${port}`, { password: REDIS_PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return child;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw error;
      }
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}

describe('readiness with Redis', () => {
  it('checks Redis when REDIS_URL is set: 503 while it is away, 200 once it is back on the same port', async () => {
    const redisThere = await serviceAvailable('redis-server', async () => {
      await new Promise<void>((resolve, reject) => spawn('redis-server', ['--version'], { stdio: 'ignore' }).once('exit', (code) => (code === 0 ? resolve() : reject(new Error(String(code))))).once('error', reject));
    });
    if (!redisThere) return;
    const port = await freePort();
    let redis = await startRedis(port);
    let nexus: TestNexus | undefined;
    try {
      nexus = await startNexus({ backend: (await postgresAvailable()) ? 'postgresql' : 'pglite', env: { REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${port}` } });
      const up = await ready(nexus);
      expect(up.status).toBe(200);
      expect(up.body.checks.redis).toEqual({ ok: true, ms: expect.any(Number) });
      const gone = new Promise((r) => redis.once('exit', r));
      redis.kill('SIGKILL');
      await gone;
      const down = await ready(nexus);
      console.log(`/ready with Redis down: ${down.status} in ${down.ms} ms: ${JSON.stringify(down.body.checks.redis)}`);
      expect(down.status).toBe(503);
      expect(down.body.checks.redis?.ok).toBe(false);
      expect(down.body.checks.database?.ok).toBe(true);
      expect(down.ms).toBeLessThan(3000);
      expect(down.text).not.toContain(REDIS_PASSWORD);
      redis = await startRedis(port);
      const back = await readyAgain(nexus, 200, 15_000);
      console.log(`/ready 200 again ${back} ms after Redis was back`);
      expect(back).toBeLessThan(5_000);
      // Let the event bus reconnect too before closing: ioredis resubscribes on reconnect without catching a failure.
      for (let i = 0; i < 100 && !nexus.server.services.events.viewersChannelUp(); i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await nexus?.close();
      redis.kill('SIGKILL');
    }
  });
});
