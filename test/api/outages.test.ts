// Outages fail fast and recover by themselves. With PostgreSQL or the bucket stopped (or frozen with SIGSTOP:
// connections open, nothing answers), a gateway process answers the requests that need the service
// SERVICE_UNAVAILABLE (HTTP 503, Retry-After) within its bound, stays up, says so on /ready, and serves again by
// itself once the service is back; with Redis stopped or frozen, requests go on (rate limits counted per gateway).
// Every service here is the test's own: its own PostgreSQL cluster, S3 server process and Redis, started and stopped
// at will (the shared ones are never touched). Each outage prints how fast requests failed and how soon they recovered.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { serviceAvailable } from '../helpers/nexus.js';
import { postgresBinaries, startPostgresCluster, type PostgresCluster } from '../helpers/postgres-cluster.js';
import { redisServerAvailable, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startS3ServerProcess, type S3ServerProcess } from '../helpers/s3-server-process.js';

/** NEXUS_DATABASE_TIMEOUT_MS and NEXUS_STORAGE_TIMEOUT_MS of the gateway under test. */
const TIMEOUT_MS = 2000;
/** What a request that needs a service that is down may take to fail: the service's bound and a margin for a busy machine. */
const FAIL_BOUND_MS = TIMEOUT_MS + 2000;
/** How soon after a service is back requests must succeed again (the pool, the bucket's handles, Redis reconnect). */
const RECOVERY_BOUND_MS = 15_000;
/** NEXUS_REDIS_TIMEOUT_MS of the gateway under test: a hung Redis may slow a request by this much, never fail it. */
const REDIS_TIMEOUT_MS = 500;
const DIM = 8;

const available =
  (await serviceAvailable('PostgreSQL binaries (initdb, pg_ctl under /usr/lib/postgresql)', async () => {
    if (!postgresBinaries()) throw new Error('absent');
  })) &&
  (await serviceAvailable('redis-server (/usr/bin/redis-server)', async () => {
    if (!redisServerAvailable()) throw new Error('absent');
  }));

const WALLET = '{ wallet { balance } }';
const SEARCH = 'query($v: [Float!]) { domain(key: "health") { search(input: { vector: $v, k: 3 }) { record { id } } } }';
const REMEMBER = 'mutation($v: [Float!]) { remember(input: { domain: "health", records: [{ kind: "note", text: "outage", vector: $v }] }) { records { id } } }';
const BURN = 'mutation($k: String!) { burnCredits(input: { amount: "1", reason: "outage test", idempotencyKey: $k }) { entry { id } } }';
const vector = () => Array.from({ length: DIM }, () => Math.random() - 0.5);

interface Answer {
  status: number;
  retryAfter: string | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  data?: Record<string, unknown> | null;
  ms: number;
}

describe('outages of PostgreSQL, the bucket and Redis', () => {
  let pg: PostgresCluster;
  let s3: S3ServerProcess;
  let s3Dir: string;
  let redis: RedisServer;
  let gw: GatewayProcess;
  let owner: string;
  let burns = 0;

  const post = async (query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Answer> => {
    const started = performance.now();
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as Pick<Answer, 'errors' | 'data'>;
    return { ...body, status: res.status, retryAfter: res.headers.get('retry-after'), ms: Math.round(performance.now() - started) };
  };
  const origin = () => new URL(gw.url).origin;
  const ready = async () => {
    const res = await fetch(`${origin()}/ready`);
    return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> } };
  };
  const requests: Record<'wallet' | 'search' | 'remember' | 'burn', () => Promise<Answer>> = {
    wallet: () => post(WALLET, {}, owner),
    search: () => post(SEARCH, { v: vector() }, owner),
    remember: () => post(REMEMBER, { v: vector() }, owner),
    burn: () => post(BURN, { k: `outage-${++burns}` }, owner),
  };

  /** The request answers SERVICE_UNAVAILABLE for the service, as a 503 with Retry-After, within the bound. */
  async function expectUnavailable(label: string, name: keyof typeof requests, service: 'database' | 'storage'): Promise<void> {
    const answer = await requests[name]();
    console.log(`outage: ${label} → ${name}: ${answer.errors?.[0]?.extensions?.code ?? `HTTP ${answer.status}`} in ${answer.ms} ms`);
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', service });
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('1');
    expect(answer.ms).toBeLessThan(FAIL_BOUND_MS);
  }

  /** The process is up: /health and a request that needs no service of the outage answer. */
  async function expectUp(): Promise<void> {
    expect((await fetch(`${origin()}/health`)).status).toBe(200);
    const info = await post('{ serverInfo { vectorDimension } }');
    expect(info.data).toEqual({ serverInfo: { vectorDimension: DIM } });
  }

  /** Polls the requests until each succeeds; prints and returns the time from `since` (the service back) to the last first success. */
  async function expectRecovery(label: string, since: number, names: (keyof typeof requests)[]): Promise<void> {
    for (const name of names) {
      let last: Answer | undefined;
      while (performance.now() - since < RECOVERY_BOUND_MS) {
        last = await requests[name]();
        if (last.status === 200 && !last.errors) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(last?.errors).toBeUndefined();
      expect(last?.status).toBe(200);
    }
    const ms = Math.round(performance.now() - since);
    console.log(`recovery: ${label} back → ${names.join(', ')} succeed after ${ms} ms`);
    expect(ms).toBeLessThan(RECOVERY_BOUND_MS);
    // /ready follows: every check passes again.
    let report = await ready();
    for (let i = 0; i < 50 && report.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      report = await ready();
    }
    expect(report).toMatchObject({ status: 200, body: { status: 'ready' } });
  }

  async function expectNotReady(check: string): Promise<void> {
    const report = await ready();
    expect(report.status).toBe(503);
    expect(report.body.checks[check]?.ok).toBe(false);
  }

  beforeAll(async () => {
    if (!available) return;
    s3Dir = await mkdtemp(path.join(tmpdir(), 'nexus-outage-s3-'));
    [pg, s3, redis] = await Promise.all([startPostgresCluster(), startS3ServerProcess({ directory: s3Dir }), startRedisServer()]);
    gw = await startGatewayProcess({
      DATABASE_URL: pg.url(),
      NEXUS_STORAGE_URI: 's3://nexus/outages',
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
      REDIS_URL: redis.url,
      NEXUS_DATA_DIR: path.join(s3Dir, 'data'),
      NEXUS_VECTOR_DIM: String(DIM),
      NEXUS_DATABASE_TIMEOUT_MS: String(TIMEOUT_MS),
      NEXUS_STORAGE_TIMEOUT_MS: String(TIMEOUT_MS),
      NEXUS_REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS),
      // Every request looks its token up in PostgreSQL, so each one needs the database.
      NEXUS_TOKEN_CACHE_SECONDS: '0',
      // Rate limits on (counted in Redis), high enough never to refuse this test.
      NEXUS_RATE_LIMIT_PER_MINUTE: '100000',
      NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '100000',
      NEXUS_SIGNUP_RATE_LIMIT_PER_HOUR: '100000',
    });
    const signUp = await post('mutation($e: String!) { signUp(input: { email: $e }) { ownerToken } }', { e: `outage-${Date.now()}@example.com` });
    owner = (signUp.data?.signUp as { ownerToken: string }).ownerToken;
    await post('mutation { topUpCredits(input: { amount: "1000", reason: "outage test", idempotencyKey: "top-up" }) { entry { id } } }', {}, owner);
    for (const name of ['remember', 'search', 'wallet', 'burn'] as const) {
      const answer = await requests[name]();
      expect(answer.errors).toBeUndefined();
    }
    expect((await ready()).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    // OUTAGES_LOG=1 prints the gateway's log, to see what it said during each outage.
    if (process.env.OUTAGES_LOG) console.log(gw?.output());
    await gw?.stop();
    await Promise.all([pg?.close(), s3?.stop(), redis?.close()]);
    if (s3Dir) await rm(s3Dir, { recursive: true, force: true });
  });

  (available ? it : it.skip)('PostgreSQL stopped: SERVICE_UNAVAILABLE at once, and served again once it is back', async () => {
    await pg.stop('fast');
    await expectUnavailable('postgresql stopped', 'wallet', 'database');
    await expectUnavailable('postgresql stopped', 'search', 'database');
    await expectUnavailable('postgresql stopped', 'burn', 'database');
    await expectUp();
    await expectNotReady('database');
    await pg.start();
    await expectRecovery('postgresql', performance.now(), ['wallet', 'search', 'burn']);
  });

  (available ? it : it.skip)('PostgreSQL frozen: SERVICE_UNAVAILABLE within the bound, and served again once it answers', async () => {
    await pg.pause();
    try {
      await expectUnavailable('postgresql frozen', 'wallet', 'database');
      await expectUnavailable('postgresql frozen', 'burn', 'database');
      await expectUp();
      await expectNotReady('database');
    } finally {
      await pg.resume();
    }
    await expectRecovery('postgresql (thawed)', performance.now(), ['wallet', 'burn']);
  });

  (available ? it : it.skip)('the bucket stopped: searches and writes SERVICE_UNAVAILABLE, and served again on its restart', async () => {
    const { port } = s3;
    await s3.stop();
    await expectUnavailable('s3 stopped', 'search', 'storage');
    await expectUnavailable('s3 stopped', 'remember', 'storage');
    await expectUp();
    // What needs only PostgreSQL still works.
    expect((await requests.wallet()).errors).toBeUndefined();
    await expectNotReady('storage');
    s3 = await startS3ServerProcess({ directory: s3Dir, port });
    await expectRecovery('s3', performance.now(), ['search', 'remember']);
  });

  (available ? it : it.skip)('the bucket frozen: searches and writes SERVICE_UNAVAILABLE within the bound, and served again once it answers', async () => {
    process.kill(s3.pid, 'SIGSTOP');
    try {
      await expectUnavailable('s3 frozen', 'search', 'storage');
      await expectUnavailable('s3 frozen', 'remember', 'storage');
      await expectUp();
      await expectNotReady('storage');
    } finally {
      process.kill(s3.pid, 'SIGCONT');
    }
    await expectRecovery('s3 (thawed)', performance.now(), ['search', 'remember']);
  });

  (available ? it : it.skip)('Redis stopped: requests go on (rate limits counted per gateway), /ready says so, and Redis is used again on its restart', async () => {
    await redis.stop();
    for (const name of ['search', 'remember', 'burn', 'wallet'] as const) {
      const answer = await requests[name]();
      console.log(`outage: redis stopped → ${name}: ${answer.errors?.[0]?.extensions?.code ?? 'ok'} in ${answer.ms} ms`);
      expect(answer.errors).toBeUndefined();
      expect(answer.ms).toBeLessThan(FAIL_BOUND_MS);
    }
    await expectUp();
    await expectNotReady('redis');
    await redis.start();
    await expectRecovery('redis', performance.now(), ['search', 'remember', 'burn']);
    // The gateway's log shows the outage, and no crash.
    expect(gw.output()).toMatch(/redis unavailable/);
    expect(gw.output()).not.toMatch(/unhandled|uncaught/i);
  });

  (available ? it : it.skip)('Redis frozen: requests go on, each slower by at most NEXUS_REDIS_TIMEOUT_MS, and Redis is used again once it answers', async () => {
    redis.pause();
    try {
      for (const name of ['search', 'remember', 'burn'] as const) {
        const answer = await requests[name]();
        console.log(`outage: redis frozen → ${name}: ${answer.errors?.[0]?.extensions?.code ?? 'ok'} in ${answer.ms} ms`);
        expect(answer.errors).toBeUndefined();
        expect(answer.ms).toBeLessThan(REDIS_TIMEOUT_MS + 1500);
      }
      await expectUp();
      await expectNotReady('redis');
    } finally {
      redis.resume();
    }
    await expectRecovery('redis (thawed)', performance.now(), ['search', 'remember', 'burn']);
    expect(gw.output()).not.toMatch(/unhandled|uncaught/i);
  });
});
