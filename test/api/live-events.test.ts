// Live events that survive a reconnect: ids, resuming with Last-Event-ID or since (on one gateway and across two
// through Redis), the retention's RESYNC, access checked again for what is replayed, streams that go on when access
// grows and say why they end, heartbeats, and a slow reader ended TOO_SLOW that resumes without a gap.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { addSurface, signUpTenant, type TestSurface, type TestTenant } from '../helpers/fixtures.js';
import { postgresAvailable, redisAvailable, startNexus, type TestNexus } from '../helpers/nexus.js';
import { readSse, type SseEvent, type SseStream } from '../helpers/sse.js';
import { redisServerAvailable, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const DIM = 8;
const vec = (i: number) => Array.from({ length: DIM }, (_, j) => (j === i % DIM ? 1 : 0.1));
const SUBSCRIPTION = 'subscription($d: [String!], $s: ID) { nexusEvents(domains: $d, since: $s) { id type recordId domain { key } record { id } } }';
const REMEMBER = 'mutation($d: String, $r: [RecordInput!]!) { remember(input: { domain: $d, records: $r }) { records { id } } }';

interface Subscribe {
  domains?: string[];
  since?: string;
  lastEventId?: string;
}

async function subscribe(nexus: TestNexus, token: string, options: Subscribe = {}): Promise<SseStream> {
  const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
      ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}),
    },
    body: JSON.stringify({ query: SUBSCRIPTION, variables: { d: options.domains, s: options.since } }),
  });
  expect(res.status).toBe(200);
  const stream = readSse(res);
  // Give the server a moment to open the stream before anything is published.
  await new Promise((r) => setTimeout(r, 150));
  return stream;
}

async function remember(nexus: TestNexus, token: string, domain: string, ids: string[]): Promise<void> {
  const res = await nexus.gql(REMEMBER, { d: domain, r: ids.map((id, i) => ({ id, kind: 'note', vector: vec(i) })) }, token);
  expect(res.errors).toBeUndefined();
}

/** The next n events' record ids (and the events themselves). */
async function take(stream: SseStream, n: number, timeoutMs = 5000): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for (let i = 0; i < n; i++) events.push(await stream.next(timeoutMs));
  return events;
}
const recordIds = (events: SseEvent[]) => events.map((e) => e.data?.nexusEvents?.record?.id ?? e.data?.nexusEvents?.type);

async function expectEnd(stream: SseStream, reason: string, timeoutMs = 3000): Promise<void> {
  const last = await stream.next(timeoutMs);
  expect(last).toMatchObject({ data: null, errors: [{ extensions: { code: 'STREAM_ENDED', reason } }] });
  await expect(stream.next(timeoutMs)).rejects.toThrow(/stream ended/);
}

/** Nothing more arrives within the time. */
async function expectQuiet(stream: SseStream, ms = 400): Promise<void> {
  await expect(stream.next(ms)).rejects.toThrow(/timed out/);
}

const redisUp = await redisAvailable();
const pgUp = await postgresAvailable();

type Log = 'in-process' | 'redis';
const logs: Log[] = redisUp ? ['in-process', 'redis'] : ['in-process'];
const envFor = (log: Log): Record<string, string> => (log === 'redis' ? { REDIS_URL: 'redis://127.0.0.1:6379', NEXUS_EVENT_RETENTION: '10m' } : {});

describe.each(logs)('resuming a stream (%s log)', (log) => {
  let nexus: TestNexus;
  let t: TestTenant;
  let vo2: TestSurface;
  let sleep: TestSurface;
  beforeAll(async () => {
    nexus = await startNexus({ env: { ...envFor(log), NEXUS_EVENT_RETENTION_EVENTS: '12' } });
    t = await signUpTenant(nexus);
    vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
    sleep = await addSurface(nexus, t.ownerToken, { key: 'sleep', homeDomain: 'finance', mounts: [{ domain: 'health', access: 'READ' }] });
  });
  afterAll(async () => {
    await nexus?.close();
  });

  it('gives every event an id, on the SSE id: line and in NexusEvent.id', async () => {
    const stream = await subscribe(nexus, sleep.token, { domains: ['health'] });
    try {
      await remember(nexus, vo2.token, 'health', ['a1', 'a2']);
      const events = await take(stream, 2);
      expect(recordIds(events)).toEqual(['a1', 'a2']);
      for (const event of events) {
        expect(event.id).toMatch(/^\d+-\d+$/);
        expect(event.data.nexusEvents.id).toBe(event.id);
      }
      expect(events[0]!.id).not.toBe(events[1]!.id);
    } finally {
      await stream.close();
    }
  });

  it('replays what a reconnecting subscriber missed, in order, then the live flow: no duplicate, no gap', async () => {
    const first = await subscribe(nexus, sleep.token, { domains: ['health'] });
    await remember(nexus, vo2.token, 'health', ['b1', 'b2', 'b3']);
    const seen = await take(first, 3);
    await first.close();
    await remember(nexus, vo2.token, 'health', ['b4', 'b5']);
    await remember(nexus, vo2.token, 'health', ['b6']);

    // EventSource's way: the Last-Event-ID header.
    const resumed = await subscribe(nexus, sleep.token, { domains: ['health'], lastEventId: seen[1]!.id });
    try {
      expect(recordIds(await take(resumed, 4))).toEqual(['b3', 'b4', 'b5', 'b6']);
      await remember(nexus, vo2.token, 'health', ['b7']);
      const live = await take(resumed, 1);
      expect(recordIds(live)).toEqual(['b7']);
      await expectQuiet(resumed);
      // since overrides the header.
      const fromSince = await subscribe(nexus, sleep.token, { domains: ['health'], since: live[0]!.id, lastEventId: seen[0]!.id });
      try {
        await remember(nexus, vo2.token, 'health', ['b8']);
        expect(recordIds(await take(fromSince, 1))).toEqual(['b8']);
        await expectQuiet(fromSince);
      } finally {
        await fromSince.close();
      }
    } finally {
      await resumed.close();
    }
  });

  it('answers BAD_USER_INPUT to a since that is not an event id', async () => {
    for (const since of ['abc', '1-2-3', '-1', `${'9'.repeat(30)}-0`]) {
      const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${sleep.token}` },
        body: JSON.stringify({ query: SUBSCRIPTION, variables: { s: since } }),
      });
      const first = await readSse(res).next();
      expect(first.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('says RESYNC, once per domain, when the resume point is older than the retention, then gives what is kept', async () => {
    const first = await subscribe(nexus, sleep.token, { domains: ['health'] });
    await remember(nexus, vo2.token, 'health', ['c0']);
    const [start] = await take(first, 1);
    await first.close();
    // 12 kept (NEXUS_EVENT_RETENTION_EVENTS): c1 … c15 pushes c0 … c3 out.
    await remember(nexus, vo2.token, 'health', Array.from({ length: 15 }, (_, i) => `c${i + 1}`));
    const resumed = await subscribe(nexus, sleep.token, { domains: ['health'], since: start!.id });
    try {
      const [resync, ...kept] = await take(resumed, 13);
      expect(resync!.data.nexusEvents).toMatchObject({ type: 'RESYNC', domain: { key: 'health' }, record: null, recordId: null });
      expect(recordIds(kept)).toEqual(Array.from({ length: 12 }, (_, i) => `c${i + 4}`));
      await expectQuiet(resumed);
      // Resuming from the RESYNC marker itself is no gap.
      const again = await subscribe(nexus, sleep.token, { domains: ['health'], since: resync!.id });
      try {
        expect(recordIds(await take(again, 12))).toEqual(Array.from({ length: 12 }, (_, i) => `c${i + 4}`));
        await expectQuiet(again);
      } finally {
        await again.close();
      }
    } finally {
      await resumed.close();
    }
  });
});

describe('access and the lifetime of a stream', () => {
  let nexus: TestNexus;
  let t: TestTenant;
  beforeAll(async () => {
    nexus = await startNexus();
    t = await signUpTenant(nexus);
  });
  afterAll(async () => {
    await nexus?.close();
  });

  it('replays only what the token may read now', async () => {
    const coach = await addSurface(nexus, t.ownerToken, { key: 'coach', homeDomain: 'finance', mounts: [{ domain: 'health', access: 'READ' }, { domain: 'business', access: 'READ' }] });
    const first = await subscribe(nexus, coach.token, { domains: ['health', 'business'] });
    await remember(nexus, t.ownerToken, 'health', ['h1']);
    const [mark] = await take(first, 1);
    await first.close();
    const narrowed = await nexus.gql('mutation { setMounts(input: { surface: "coach", mounts: [{ domain: "health", access: READ }] }) { key } }', {}, t.ownerToken);
    expect(narrowed.errors).toBeUndefined();
    await remember(nexus, t.ownerToken, 'business', ['b-secret']);
    await remember(nexus, t.ownerToken, 'health', ['h2']);
    // Asking for business again is refused; the default (every readable domain) replays health only.
    const refused = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${coach.token}` },
      body: JSON.stringify({ query: SUBSCRIPTION, variables: { d: ['business'], s: mark!.id } }),
    });
    expect((await readSse(refused).next()).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const resumed = await subscribe(nexus, coach.token, { since: mark!.id });
    try {
      expect(recordIds(await take(resumed, 1))).toEqual(['h2']);
      await expectQuiet(resumed);
    } finally {
      await resumed.close();
    }
  });

  it('goes on when a mount is added elsewhere; a stream of every readable domain gains it', async () => {
    const planner = await addSurface(nexus, t.ownerToken, { key: 'planner', homeDomain: 'finance', mounts: [{ domain: 'health', access: 'READ' }] });
    const everything = await subscribe(nexus, planner.token);
    const listed = await subscribe(nexus, planner.token, { domains: ['health'] });
    try {
      const widened = await nexus.gql(
        'mutation { setMounts(input: { surface: "planner", mounts: [{ domain: "health", access: READ }, { domain: "business", access: READ }] }) { key } }',
        {},
        t.ownerToken,
      );
      expect(widened.errors).toBeUndefined();
      await new Promise((r) => setTimeout(r, 200));
      await remember(nexus, t.ownerToken, 'business', ['deal']);
      await remember(nexus, t.ownerToken, 'health', ['run']);
      expect(recordIds(await take(everything, 2))).toEqual(['deal', 'run']);
      expect(recordIds(await take(listed, 1))).toEqual(['run']);
      await expectQuiet(listed);
    } finally {
      await everything.close();
      await listed.close();
    }
  });

  it('ends ACCESS_CHANGED when a domain it follows is unmounted, and delivers nothing of it after', async () => {
    const reader = await addSurface(nexus, t.ownerToken, { key: 'reader', homeDomain: 'finance', mounts: [{ domain: 'health', access: 'READ' }] });
    const stream = await subscribe(nexus, reader.token);
    await nexus.gql('mutation { setMounts(input: { surface: "reader", mounts: [] }) { key } }', {}, t.ownerToken);
    await remember(nexus, t.ownerToken, 'health', ['after-unmount']);
    await expectEnd(stream, 'ACCESS_CHANGED');
  });

  it('ends SHUTDOWN when the server stops its streams', async () => {
    const stream = await subscribe(nexus, t.ownerToken);
    await nexus.server.endStreams();
    await expectEnd(stream, 'SHUTDOWN');
  });

  it('sends a heartbeat comment down an idle stream (NEXUS_EVENT_HEARTBEAT, 1 s here)', async () => {
    const stream = await subscribe(nexus, t.ownerToken);
    try {
      const before = stream.comments();
      await new Promise((r) => setTimeout(r, 2600));
      expect(stream.comments() - before).toBeGreaterThanOrEqual(2);
    } finally {
      await stream.close();
    }
  });
});

/** An SSE reader over real HTTP that can stop reading (its socket then fills and the server's writes back up). */
function rawStream(port: number, token: string, lastEventId?: string) {
  const events: SseEvent[] = [];
  let buffer = '';
  let response: IncomingMessage | undefined;
  let ended = false;
  const opened = new Promise<void>((resolve, reject) => {
    const req = httpRequest(
      {
        port,
        host: '127.0.0.1',
        path: '/graphql',
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      },
      (res) => {
        response = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const lines = buffer.slice(0, end).split('\n');
            buffer = buffer.slice(end + 2);
            const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
            const id = lines.find((l) => l.startsWith('id: '))?.slice(4);
            if (data && lines.includes('event: next')) events.push({ ...(JSON.parse(data) as SseEvent), ...(id ? { id } : {}) });
          }
        });
        res.on('end', () => (ended = true));
        resolve();
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ query: 'subscription { nexusEvents { id type record { id metadata } } }' }));
  });
  return {
    opened,
    events,
    ended: () => ended,
    pause: () => response?.pause(),
    resume: () => response?.resume(),
    close: () => response?.destroy(),
  };
}

describe('a reader that falls behind', () => {
  let nexus: TestNexus;
  let http: Server;
  let port: number;
  beforeAll(async () => {
    nexus = await startNexus({ env: { NEXUS_EVENT_QUEUE: '20' } });
    http = createServer(nexus.server.yoga);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  });
  afterAll(async () => {
    http?.closeAllConnections();
    await new Promise((r) => http?.close(r));
    await nexus?.close();
  });

  it('is ended TOO_SLOW past NEXUS_EVENT_QUEUE, and resumes by id with nothing lost', async () => {
    const t = await signUpTenant(nexus);
    const slow = rawStream(port, t.ownerToken);
    await slow.opened;
    slow.pause();
    // 480 events of ~60 KB each on the wire: far more than the sockets' buffers hold, so the server's stream backs up.
    const metadata = { pad: 'x'.repeat(60_000) };
    const ids = Array.from({ length: 480 }, (_, i) => `slow-${String(i).padStart(3, '0')}`);
    // Batches smaller than the queue: a reader that keeps up is never ended by a burst.
    for (let from = 0; from < ids.length; from += 10) {
      const batch = ids.slice(from, from + 10).map((id, i) => ({ id, kind: 'note', metadata, vector: vec(i) }));
      const res = await nexus.gql(REMEMBER, { d: 'health', r: batch }, t.ownerToken);
      expect(res.errors).toBeUndefined();
    }
    slow.resume();
    for (let i = 0; i < 200 && !slow.ended(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(slow.ended()).toBe(true);
    const last = slow.events.at(-1)!;
    expect(last).toMatchObject({ data: null, errors: [{ extensions: { code: 'STREAM_ENDED', reason: 'TOO_SLOW' } }] });
    const delivered = slow.events.slice(0, -1);
    expect(delivered.length).toBeLessThan(ids.length);
    const lastId = delivered.at(-1)?.id;
    console.log(`slow reader: ${delivered.length} of ${ids.length} events delivered before TOO_SLOW (queue 20)`);

    const resumed = rawStream(port, t.ownerToken, lastId);
    await resumed.opened;
    for (let i = 0; i < 200 && resumed.events.length < ids.length - delivered.length; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    resumed.close();
    const all = [...delivered, ...resumed.events].map((e) => e.data?.nexusEvents?.record?.id);
    expect(all).toEqual(ids);
  }, 60_000);
});

(redisUp && pgUp ? describe : describe.skip)('resuming on another gateway through Redis', () => {
  let a: TestNexus;
  let b: TestNexus;
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('replays on gateway B what was written on A and B while the subscriber was away', async () => {
    a = await startNexus({ backend: 'postgresql', env: envFor('redis') });
    b = await startNexus({ env: { DATABASE_URL: a.server.services.config.databaseUrl!, NEXUS_STORAGE_URI: a.server.services.config.storageUri, ...envFor('redis') } });
    const t = await signUpTenant(a);
    const first = await subscribe(a, t.ownerToken, { domains: ['health'] });
    await remember(b, t.ownerToken, 'health', ['x1']);
    const [mark] = await take(first, 1, 8000);
    await first.close();
    await remember(a, t.ownerToken, 'health', ['x2']);
    await remember(b, t.ownerToken, 'health', ['x3']);
    const resumed = await subscribe(b, t.ownerToken, { domains: ['health'], lastEventId: mark!.id });
    try {
      expect(recordIds(await take(resumed, 2, 8000))).toEqual(['x2', 'x3']);
      await remember(a, t.ownerToken, 'health', ['x4']);
      expect(recordIds(await take(resumed, 1, 8000))).toEqual(['x4']);
      await expectQuiet(resumed);
    } finally {
      await resumed.close();
    }
  });

  it('erasing the tenant drops its kept events from Redis', async () => {
    const t = await signUpTenant(a);
    await remember(a, t.ownerToken, 'health', ['e1']);
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      expect(await redis.exists(`nexus-log:${t.tenantId}`)).toBe(1);
      const erased = await a.gql('mutation($c: String!) { deleteTenant(confirm: $c) }', { c: t.tenantId }, t.ownerToken);
      expect(erased.errors).toBeUndefined();
      expect(await redis.exists(`nexus-log:${t.tenantId}`, `nexus-log-floor:${t.tenantId}`)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});

(redisServerAvailable() ? describe : describe.skip)('a Redis outage, with a Redis of the test\'s own', () => {
  let redis: RedisServer;
  let nexus: TestNexus;
  afterAll(async () => {
    await nexus?.close();
    await redis?.close();
  });

  it('refuses new streams SERVICE_UNAVAILABLE quickly, and open ones catch up (RESYNC for what was lost) once it is back', async () => {
    redis = await startRedisServer();
    nexus = await startNexus({ env: { REDIS_URL: redis.url } });
    const t = await signUpTenant(nexus);
    const open = await subscribe(nexus, t.ownerToken, { domains: ['health'] });
    await remember(nexus, t.ownerToken, 'health', ['before']);
    expect(recordIds(await take(open, 1))).toEqual(['before']);

    await redis.stop();
    // Writes go on without Redis; their events cannot be logged.
    await remember(nexus, t.ownerToken, 'health', ['during']);
    const started = performance.now();
    const refused = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.ownerToken}` },
      body: JSON.stringify({ query: SUBSCRIPTION, variables: { d: ['health'] } }),
    });
    const answer = await readSse(refused).next(10_000);
    const refusedMs = performance.now() - started;
    expect(answer.errors?.map((e) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(refusedMs).toBeLessThan(5000);

    await redis.start();
    const back = performance.now();
    // The open stream is told it missed something (Redis came back empty), then carries on live.
    const resync = await open.next(10_000);
    const caughtUpMs = performance.now() - back;
    expect(resync.data?.nexusEvents).toMatchObject({ type: 'RESYNC', domain: { key: 'health' } });
    await remember(nexus, t.ownerToken, 'health', ['after']);
    expect(recordIds(await take(open, 1))).toEqual(['after']);
    await expectQuiet(open);
    await open.close();
    console.log(`redis outage: new stream refused SERVICE_UNAVAILABLE in ${Math.round(refusedMs)} ms; open stream told RESYNC ${Math.round(caughtUpMs)} ms after Redis returned`);
    // And new streams open again.
    const fresh = await subscribe(nexus, t.ownerToken, { domains: ['health'] });
    await remember(nexus, t.ownerToken, 'health', ['later']);
    expect(recordIds(await take(fresh, 1))).toEqual(['later']);
    await fresh.close();
  }, 60_000);

  it('counts a Redis that hangs as down for viewer changes (no token is remembered meanwhile), and up once it answers', async () => {
    const events = nexus.server.services.events;
    await waitUntil(() => events.viewersChannelUp(), 10_000);
    redis.pause();
    try {
      const paused = performance.now();
      await waitUntil(() => !events.viewersChannelUp(), 6000);
      console.log(`redis frozen: viewer-change channel reported down after ${Math.round(performance.now() - paused)} ms`);
    } finally {
      redis.resume();
    }
    await waitUntil(() => events.viewersChannelUp(), 10_000);
  }, 30_000);
});

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
