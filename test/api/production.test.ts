// Production mode (NODE_ENV=production) is closed by default: no introspection, no GraphiQL, no field
// suggestions, no cross-origin callers, and nothing of an unexpected error's cause in any environment's answers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/env.js';
import { signUpTenant, type TestTenant } from '../helpers/fixtures.js';
import { backends, startNexus, type TestNexus } from '../helpers/nexus.js';

const INTROSPECTION = '{ __schema { queryType { name } } }';

async function raw(nexus: TestNexus, init: { method?: string; body?: string; headers?: Record<string, string>; token?: string }) {
  const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
    method: init.method ?? 'POST',
    headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers },
    body: init.body,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
const post = (nexus: TestNexus, query: string, token?: string, headers?: Record<string, string>) => raw(nexus, { body: JSON.stringify({ query }), token, headers });

/** Makes the vectors layer fail with a message full of internals, as a driver error might. */
function breakVectors(nexus: TestNexus): void {
  const vectors = nexus.server.services.vectors as { count: (...a: unknown[]) => Promise<number> };
  vectors.count = async () => {
    throw new Error('ERROR: relation "Token" does not exist: SELECT t.hash FROM "Token" t at /srv/nexus/src/vectors/store.ts:97 (PrismaClientKnownRequestError P2021)');
  };
}

it('defaults to a closed deployment in production and an open one elsewhere', () => {
  const production = loadConfig({ NODE_ENV: 'production' });
  expect({ signUp: production.signUp, introspection: production.introspection, graphiql: production.graphiql, cors: production.corsOrigins }).toEqual({
    signUp: 'invite',
    introspection: false,
    graphiql: false,
    cors: [],
  });
  const development = loadConfig({});
  expect({ signUp: development.signUp, introspection: development.introspection, graphiql: development.graphiql, cors: development.corsOrigins }).toEqual({
    signUp: 'open',
    introspection: true,
    graphiql: true,
    cors: ['*'],
  });
  expect(() => loadConfig({ NEXUS_CORS_ORIGINS: 'https://a.example.com/path' })).toThrow(/NEXUS_CORS_ORIGINS/);
});

describe.each(await backends())('production mode on %s', (backend) => {
  let nexus: TestNexus;
  let open: TestNexus;
  let t: TestTenant;
  beforeAll(async () => {
    // Open sign-up only so that this test can make a tenant without an operator's invite.
    nexus = await startNexus({ backend, env: { NODE_ENV: 'production', NEXUS_SIGNUP: 'open' } });
    open = await startNexus({ env: { NODE_ENV: 'production', NEXUS_INTROSPECTION: 'true', NEXUS_CORS_ORIGINS: 'https://app.example.com, https://dash.example.com' } });
    t = await signUpTenant(nexus);
  });
  afterAll(async () => {
    await nexus?.close();
    await open?.close();
  });

  it('refuses introspection with GRAPHQL_VALIDATION_FAILED unless NEXUS_INTROSPECTION=true', async () => {
    const refused = JSON.parse((await post(nexus, INTROSPECTION)).text);
    // One error for __schema and one for each introspection type below it.
    expect(new Set(refused.errors.map((e: { extensions: { code: string } }) => e.extensions.code))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    expect(refused.errors[0].message).toMatch(/introspection/i);
    expect(refused.data).toBeUndefined();
    expect(JSON.parse((await post(open, INTROSPECTION)).text)).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  it('serves no GraphiQL page', async () => {
    const page = await raw(nexus, { method: 'GET', headers: { accept: 'text/html' } });
    expect(page.text).not.toMatch(/graphiql/i);
    expect(page.headers.get('content-type') ?? '').not.toMatch(/html/);
  });

  it('suggests no field names to a stranger', async () => {
    const answer = JSON.parse((await post(nexus, '{ serverInf { version } }')).text);
    expect(answer.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(answer.errors[0].message).not.toMatch(/did you mean|serverInfo/i);
  });

  it('masks an unexpected error: no message, stack, path, SQL or Prisma text reaches the client', async () => {
    const broken = await startNexus({ backend, env: { NODE_ENV: 'production', NEXUS_SIGNUP: 'open' } });
    try {
      const owner = await signUpTenant(broken);
      breakVectors(broken);
      const answer = await post(broken, '{ domain(key: "health") { recordCount } }', owner.ownerToken);
      const body = JSON.parse(answer.text);
      expect(body.errors).toEqual([{ message: 'Unexpected error.', locations: [{ line: 1, column: 27 }], path: ['domain', 'recordCount'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
      expect(answer.text).not.toMatch(/Token|SELECT|store\.ts|\/srv|Prisma|P2021|stack/);
    } finally {
      await broken.close();
    }
  });

  it('allows no cross-origin caller by default', async () => {
    const preflight = await raw(nexus, { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const call = await post(nexus, '{ serverInfo { version } }', undefined, { origin: 'https://app.example.com' });
    expect(call.headers.get('access-control-allow-origin')).toBeNull();
    expect(call.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('allows exactly the listed origins, never with credentials, and never the "null" origin', async () => {
    for (const origin of ['https://app.example.com', 'https://dash.example.com']) {
      const call = await post(open, '{ serverInfo { version } }', undefined, { origin });
      expect(call.headers.get('access-control-allow-origin')).toBe(origin);
      expect(call.headers.get('access-control-allow-credentials')).toBeNull();
      const preflight = await raw(open, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
      expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
      expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    }
    for (const origin of ['https://evil.example.com', 'null', 'https://app.example.com.evil.example']) {
      const call = await post(open, '{ serverInfo { version } }', undefined, { origin });
      expect(call.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('still serves the API itself to a tenant', async () => {
    expect(JSON.parse((await post(nexus, '{ viewer { role } }', t.ownerToken)).text)).toEqual({ data: { viewer: { role: 'OWNER' } } });
  });
});

describe('development mode', () => {
  let nexus: TestNexus;
  beforeAll(async () => {
    nexus = await startNexus();
  });
  afterAll(async () => {
    await nexus?.close();
  });

  it('lets any origin call, but never with credentials', async () => {
    const call = await post(nexus, '{ serverInfo { version } }', undefined, { origin: 'http://localhost:5173' });
    expect(call.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(call.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('masks an unexpected error there too', async () => {
    const owner = await signUpTenant(nexus);
    breakVectors(nexus);
    const answer = await post(nexus, '{ domain(key: "health") { recordCount } }', owner.ownerToken);
    expect(JSON.parse(answer.text).errors[0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(answer.text).not.toMatch(/Token|SELECT|store\.ts|\/srv|Prisma|P2021|stack/);
  });
});
