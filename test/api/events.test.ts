// Live events: a surface subscribed to a domain sees what others remember and
// forget there, never anything of a domain it cannot read; through Redis across gateways.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RememberDocument } from '../generated/graphql.js';
import { addSurface, signUpTenant, type TestSurface, type TestTenant } from '../helpers/fixtures.js';
import { postgresAvailable, redisAvailable, startNexus, type TestNexus } from '../helpers/nexus.js';
import { readSse, type SseStream } from '../helpers/sse.js';

const DIM = 8;
const vec = (i: number) => Array.from({ length: DIM }, (_, j) => (j === i ? 1 : 0.1));
const SUBSCRIPTION = 'subscription($d: [String!]) { nexusEvents(domains: $d) { type recordId domain { key } surface { key } record { id text scope } } }';

async function subscribe(nexus: TestNexus, token: string, domains?: string[]): Promise<SseStream> {
  const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: SUBSCRIPTION, variables: { d: domains } }),
  });
  expect(res.status).toBe(200);
  const stream = readSse(res);
  // Give the server a moment to register the subscription before anything is published.
  await new Promise((r) => setTimeout(r, 150));
  return stream;
}

describe('nexusEvents on one gateway', () => {
  let nexus: TestNexus;
  let t: TestTenant;
  let vo2: TestSurface;
  let sleep: TestSurface;
  let agnx: TestSurface;
  beforeAll(async () => {
    nexus = await startNexus();
    t = await signUpTenant(nexus);
    vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
    sleep = await addSurface(nexus, t.ownerToken, { key: 'sleep', homeDomain: 'finance', mounts: [{ domain: 'health', access: 'READ' }] });
    agnx = await addSurface(nexus, t.ownerToken, { key: 'agnx', homeDomain: 'business' });
  });
  afterAll(async () => {
    await nexus?.close();
  });

  it('delivers VO2\'s leg day to Sleep, and its forgetting', async () => {
    const stream = await subscribe(nexus, sleep.token, ['health']);
    try {
      await nexus.gql(RememberDocument, { input: { records: [{ id: 'leg', kind: 'workout', text: 'heavy leg day', vector: vec(0) }] } }, vo2.token);
      const event = await stream.next();
      expect(event.data?.nexusEvents).toEqual({
        type: 'REMEMBERED',
        recordId: null,
        domain: { key: 'health' },
        surface: { key: 'vo2' },
        record: { id: 'leg', text: 'heavy leg day', scope: 'DOMAIN' },
      });
      await nexus.gql('mutation { forget(input: { ids: ["leg"] }) { deleted } }', {}, vo2.token);
      const gone = await stream.next();
      expect(gone.data?.nexusEvents).toMatchObject({ type: 'FORGOTTEN', recordId: 'leg', domain: { key: 'health' }, record: null });
    } finally {
      await stream.close();
    }
  });

  it('never shows AGNx a health event, and refuses to subscribe it to health', async () => {
    const denied = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${agnx.token}` },
      body: JSON.stringify({ query: SUBSCRIPTION, variables: { d: ['health'] } }),
    });
    const first = await readSse(denied).next();
    expect(first.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const stream = await subscribe(nexus, agnx.token);
    try {
      await nexus.gql(RememberDocument, { input: { records: [{ id: 'secret-run', kind: 'workout', vector: vec(1) }] } }, vo2.token);
      await nexus.gql(RememberDocument, { input: { scope: 'SURFACE', records: [{ id: 'vo2-draft', kind: 'draft', vector: vec(2) }] } }, vo2.token);
      await nexus.gql(RememberDocument, { input: { records: [{ id: 'deal', kind: 'note', vector: vec(3) }] } }, agnx.token);
      const event = await stream.next();
      // The first event AGNx sees is its own business write: the health and private writes before it never arrived.
      expect(event.data?.nexusEvents).toMatchObject({ type: 'REMEMBERED', domain: { key: 'business' }, record: { id: 'deal' } });
    } finally {
      await stream.close();
    }
  });

  it('keeps private-store writes off every stream', async () => {
    const stream = await subscribe(nexus, t.ownerToken);
    try {
      await nexus.gql(RememberDocument, { input: { scope: 'SURFACE', records: [{ id: 'private', kind: 'draft', vector: vec(2) }] } }, vo2.token);
      await nexus.gql(RememberDocument, { input: { domain: 'finance', records: [{ id: 'invoice', kind: 'invoice', vector: vec(4) }] } }, t.ownerToken);
      const event = await stream.next();
      expect(event.data?.nexusEvents.record.id).toBe('invoice');
    } finally {
      await stream.close();
    }
  });

  it('ends Sleep\'s stream when its health mount is removed, and will not reopen it', async () => {
    const s2 = await addSurface(nexus, t.ownerToken, { key: 'sleep-2', homeDomain: 'finance', mounts: [{ domain: 'health', access: 'READ' }] });
    const stream = await subscribe(nexus, s2.token, ['health']);
    const unmounted = await nexus.gql('mutation { setMounts(input: { surface: "sleep-2", mounts: [] }) { key } }', {}, t.ownerToken);
    expect(unmounted.errors).toBeUndefined();
    await expectEnd(stream, 'ACCESS_CHANGED');
    await nexus.gql(RememberDocument, { input: { records: [{ id: 'after-unmount', kind: 'workout', vector: vec(0) }] } }, vo2.token);
    const again = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${s2.token}` },
      body: JSON.stringify({ query: SUBSCRIPTION, variables: { d: ['health'] } }),
    });
    expect((await readSse(again).next()).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('ends a stream when its token is revoked', async () => {
    const s3 = await addSurface(nexus, t.ownerToken, { key: 'sleep-3', homeDomain: 'finance', mounts: [{ domain: 'health', access: 'READ' }] });
    const stream = await subscribe(nexus, s3.token, ['health']);
    await nexus.gql('mutation($id: ID!) { revokeToken(id: $id) }', { id: s3.tokenId }, t.ownerToken);
    await expectEnd(stream, 'TOKEN_REVOKED');
  });

  it('ends a stream when its token expires', async () => {
    const s4 = await addSurface(nexus, t.ownerToken, { key: 'sleep-4', homeDomain: 'finance', mounts: [{ domain: 'health', access: 'READ' }], expiresInSeconds: 1 });
    const stream = await subscribe(nexus, s4.token, ['health']);
    await expectEnd(stream, 'TOKEN_EXPIRED', 4000);
  });

  it('answers UNAUTHENTICATED to a subscription without a token', async () => {
    const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: SUBSCRIPTION }),
    });
    const first = await readSse(res).next();
    expect(first.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers FORBIDDEN to a subscription of a domain the token cannot read, as a client error (not HTTP 500)', async () => {
    const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${agnx.token}` },
      body: JSON.stringify({ query: SUBSCRIPTION, variables: { d: ['health'] } }),
    });
    expect(res.status).toBeLessThan(500);
    const first = await readSse(res).next();
    expect(first.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });
});

const redisUp = await redisAvailable();
const pgUp = await postgresAvailable();

(redisUp && pgUp ? describe : describe.skip)('nexusEvents across two gateways through Redis', () => {
  let a: TestNexus;
  let b: TestNexus;
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('delivers a write on gateway B to a subscriber on gateway A', async () => {
    a = await startNexus({ backend: 'postgresql', env: { REDIS_URL: 'redis://127.0.0.1:6379' } });
    const shared = { DATABASE_URL: a.server.services.config.databaseUrl!, NEXUS_STORAGE_URI: a.server.services.config.storageUri, REDIS_URL: 'redis://127.0.0.1:6379' };
    b = await startNexus({ env: shared });
    const t = await signUpTenant(a);
    const vo2 = await addSurface(a, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
    const sleep = await addSurface(a, t.ownerToken, { key: 'sleep', homeDomain: 'finance', mounts: [{ domain: 'health', access: 'READ' }] });
    const stream = await subscribe(a, sleep.token, ['health']);
    try {
      await new Promise((r) => setTimeout(r, 200));
      const wrote = await b.gql(RememberDocument, { input: { records: [{ id: 'leg', kind: 'workout', text: 'heavy leg day', vector: vec(0) }] } }, vo2.token);
      expect(wrote.errors).toBeUndefined();
      const event = await stream.next(8000);
      expect(event.data?.nexusEvents).toMatchObject({ type: 'REMEMBERED', domain: { key: 'health' }, surface: { key: 'vo2' }, record: { id: 'leg', text: 'heavy leg day' } });
      // And the write is searchable from the other gateway at once.
      const found = await a.gql('query($v: [Float!]) { search(input: { vector: $v, k: 1 }) { hits { record { id } } } }', { v: vec(0) }, sleep.token);
      expect(found.data?.search.hits[0]?.record.id).toBe('leg');
    } finally {
      await stream.close();
    }
  });
});

(redisUp ? describe : describe.skip)('a Redis outage', () => {
  it('refuses to start when REDIS_URL does not answer, naming it', async () => {
    await expect(startNexus({ env: { REDIS_URL: 'redis://127.0.0.1:1' } })).rejects.toThrow(/^REDIS_URL: cannot connect to Redis/);
  });

  it('costs live events, never a request or the process', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const gone = new Promise((r) => redis.once('exit', r));
    let nexus: TestNexus | undefined;
    try {
      await waitFor(async () => {
        const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        try {
          await probe.connect();
        } finally {
          probe.disconnect();
        }
      });
      nexus = await startNexus({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
      const t = await signUpTenant(nexus);
      redis.kill('SIGKILL');
      await gone;
      const wrote = await nexus.gql(RememberDocument, { input: { domain: 'health', records: [{ id: 'r1', kind: 'k', vector: vec(0) }] } }, t.ownerToken);
      expect(wrote.errors).toBeUndefined();
      // Give a failed publish time to surface as an unhandled rejection, which would end this process.
      await new Promise((r) => setTimeout(r, 1500));
      const count = await nexus.gql('{ domain(key: "health") { recordCount } }', {}, t.ownerToken);
      expect(count.data?.domain?.recordCount).toBe(1);
    } finally {
      redis.kill('SIGKILL');
      await nexus?.close();
    }
  });
});

/** The stream's last item says why it ended, and nothing follows it. */
async function expectEnd(stream: SseStream, reason: string, timeoutMs = 3000): Promise<void> {
  const last = await stream.next(timeoutMs);
  expect(last).toMatchObject({ data: null, errors: [{ extensions: { code: 'STREAM_ENDED', reason } }] });
  await expect(stream.next(timeoutMs)).rejects.toThrow(/stream ended/);
}

async function waitFor(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
