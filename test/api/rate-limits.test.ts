// Rate limits through the API: per token, per address without a valid token, and sign-ups per address;
// answered RATE_LIMITED (HTTP 429) with Retry-After, counted once for every gateway when they share Redis.
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/env.js';
import { signUpTenant, type TestTenant } from '../helpers/fixtures.js';
import { backends, postgresAvailable, serviceAvailable, startNexus, uniqueEmail, type TestNexus } from '../helpers/nexus.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const VIEWER = '{ viewer { role } }';

/** A loopback address no other run uses, so counts kept in the shared Redis never meet. */
const freshAddress = () => `127.${randomInt(1, 255)}.${randomInt(0, 255)}.${randomInt(1, 255)}`;

interface Answer {
  status: number;
  retryAfter: string | null;
  codes: (string | undefined)[];
}

async function ask(nexus: TestNexus, query: string, options: { token?: string; from?: string; variables?: unknown } = {}): Promise<Answer> {
  const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.from ? { 'x-forwarded-for': `198.51.100.7, ${options.from}` } : {}),
    },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
  return { status: res.status, retryAfter: res.headers.get('retry-after'), codes: (body.errors ?? []).map((e) => e.extensions?.code) };
}

const limited = (a: Answer) => a.status === 429 && a.codes.includes('RATE_LIMITED') && Number(a.retryAfter) >= 1;

it('has the documented defaults', () => {
  expect(loadConfig({}).rateLimits).toEqual({ perTokenPerMinute: 1200, anonymousPerMinute: 120, signUpsPerHour: 20 });
});

describe.each(await backends())('rate limits on %s', (backend) => {
  let nexus: TestNexus;
  let t: TestTenant;
  beforeAll(async () => {
    nexus = await startNexus({
      backend,
      env: { NEXUS_RATE_LIMIT_PER_MINUTE: '5', NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '3', NEXUS_SIGNUP_RATE_LIMIT_PER_HOUR: '2', NEXUS_TRUST_PROXY: 'true' },
    });
    t = await signUpTenant(nexus); // from the in-process "local" address, which no test below uses
  });
  afterAll(async () => {
    await nexus?.close();
  });

  it('lets a token make 5 requests a minute, then answers RATE_LIMITED with Retry-After, and leaves other tokens be', async () => {
    const other = await signUpTenant(nexus);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await ask(nexus, VIEWER, { token: t.ownerToken, from: freshAddress() }));
    expect(answers.slice(0, 5).map((a) => a.codes)).toEqual(Array(5).fill([]));
    expect(limited(answers[5]!)).toBe(true);
    expect(Number(answers[5]!.retryAfter)).toBeLessThanOrEqual(60);
    // Changing address does not help a token, and another token has its own count.
    expect((await ask(nexus, VIEWER, { token: other.ownerToken })).codes).toEqual([]);
  });

  it('counts requests without a token by address: 3 a minute, then RATE_LIMITED; another address is not affected', async () => {
    const here = freshAddress();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await ask(nexus, '{ serverInfo { version } }', { from: here }));
    expect(answers.slice(0, 3).map((a) => a.codes)).toEqual([[], [], []]);
    expect(limited(answers[3]!)).toBe(true);
    expect((await ask(nexus, '{ serverInfo { version } }', { from: freshAddress() })).codes).toEqual([]);
  });

  it('counts made-up tokens against their address, so inventing tokens buys no requests', async () => {
    const here = freshAddress();
    const madeUp = () => `nxo_${randomBytes(32).toString('base64url')}`;
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await ask(nexus, VIEWER, { token: madeUp(), from: here }));
    expect(answers.slice(0, 3).map((a) => a.codes)).toEqual(Array(3).fill(['UNAUTHENTICATED']));
    expect(limited(answers[3]!)).toBe(true);
  });

  it('allows 2 sign-ups an hour from one address; the third is RATE_LIMITED and creates nothing', async () => {
    const here = freshAddress();
    const signUp = 'mutation($e: String!) { signUp(input: { email: $e }) { tenant { id } } }';
    const emails = [uniqueEmail(), uniqueEmail(), uniqueEmail()];
    const answers = [];
    for (const e of emails) answers.push(await ask(nexus, signUp, { from: here, variables: { e } }));
    expect(answers.slice(0, 2).map((a) => a.codes)).toEqual([[], []]);
    expect(limited(answers[2]!)).toBe(true);
    expect(Number(answers[2]!.retryAfter)).toBeGreaterThan(60);
    expect(await nexus.server.services.db.prisma.identity.count({ where: { email: emails[2] } })).toBe(0);
  });
});

const shared = (await postgresAvailable()) && (await serviceAvailable('Redis at 127.0.0.1:6379', async () => {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0 });
  try {
    await probe.connect();
    await probe.ping();
  } finally {
    probe.disconnect();
  }
}));

describe.each(shared ? ['postgresql' as const] : [])('rate limits shared through Redis (%s)', (backend) => {
  let a: TestNexus;
  let b: TestNexus;
  beforeAll(async () => {
    a = await startNexus({ backend, env: { REDIS_URL, NEXUS_RATE_LIMIT_PER_MINUTE: '4' } });
    // The second gateway shares the first's database, storage and Redis.
    b = await startNexus({
      env: { REDIS_URL, NEXUS_RATE_LIMIT_PER_MINUTE: '4', DATABASE_URL: a.server.services.config.databaseUrl ?? '', NEXUS_STORAGE_URI: a.server.services.config.storageUri },
    });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('counts one token\'s requests on every gateway together', async () => {
    const t = await signUpTenant(a);
    const answers = [];
    for (const gateway of [a, b, a, b, b]) answers.push(await ask(gateway, VIEWER, { token: t.ownerToken }));
    expect(answers.slice(0, 4).map((x) => x.codes)).toEqual(Array(4).fill([]));
    expect(limited(answers[4]!)).toBe(true);
  });
});
