// Every error a client sees carries extensions.code, whatever stage refused the request:
// the parser, validation, variable coercion, the HTTP layer, the shield, a resolver, or an unexpected fault.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addSurface, signUpTenant, type TestSurface, type TestTenant } from '../helpers/fixtures.js';
import { startNexus, type TestNexus } from '../helpers/nexus.js';

const DIM = 8;
const SEARCH = 'query($i: SearchInput!) { search(input: $i) { hits { score } } }';
const REMEMBER = 'mutation($i: RememberInput!) { remember(input: $i) { records { id } } }';
const BURN = 'mutation($i: BurnCreditsInput!) { burnCredits(input: $i) { entry { id } } }';
/** A vector of the right length whose first number is written as `first` in the raw JSON. */
const vector = (first: string) => `[${[first, ...Array(DIM - 1).fill('0')].join(',')}]`;

interface Answer {
  status: number;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

describe('error codes', () => {
  let nexus: TestNexus;
  let t: TestTenant;
  let vo2: TestSurface;

  beforeAll(async () => {
    nexus = await startNexus();
    t = await signUpTenant(nexus);
    vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
  });
  afterAll(async () => {
    await nexus?.close();
  });

  /** Sends a body exactly as written (JSON can say 1e309, which becomes Infinity when parsed). */
  async function post(body: string, token?: string): Promise<Answer> {
    const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  }
  const request = (query: string, variables: string) => `{"query":${JSON.stringify(query)},"variables":${variables}}`;
  const codesOf = (a: Answer) => (a.body.errors ?? []).map((e) => e.extensions?.code);
  const recordCount = async () => (await nexus.gql('{ domain(key: "health") { recordCount } }', {}, t.ownerToken)).data?.domain?.recordCount;

  const badVariables: [string, string, string][] = [
    ['1e309 in a vector (Infinity once parsed)', SEARCH, `{"i":{"vector":${vector('1e309')}}}`],
    ['-1e309 in a vector', SEARCH, `{"i":{"vector":${vector('-1e309')}}}`],
    ['"NaN" as a Float', SEARCH, `{"i":{"vector":${vector('"NaN"')}}}`],
    ['a string where a Float is expected', SEARCH, `{"i":{"vector":${vector('"abc"')}}}`],
    ['k: 1.5', SEARCH, `{"i":{"vector":${vector('1')},"k":1.5}}`],
    ['k: 2^31', SEARCH, `{"i":{"vector":${vector('1')},"k":2147483648}}`],
    ['a missing required variable', SEARCH, '{}'],
    ['null for a required input field', SEARCH, '{"i":{"vector":null,"k":null,"filter":{"kinds":[null]}}}'],
    ['an unknown input field', SEARCH, `{"i":{"vector":${vector('1')},"domain":"health"}}`],
    ['an amount that is not a whole number', BURN, '{"i":{"amount":"1.5","reason":"r","idempotencyKey":"k"}}'],
    ['a date that is not ISO-8601', SEARCH, `{"i":{"vector":${vector('1')},"filter":{"occurredAfter":"yesterday"}}}`],
    ['1e309 in a record to remember', REMEMBER, `{"i":{"records":[{"kind":"w","vector":${vector('1e309')}}]}}`],
  ];

  it.each(badVariables)('answers BAD_USER_INPUT to %s, with a token or without one, and writes nothing', async (_label, query, variables) => {
    const before = await recordCount();
    for (const token of [vo2.token, undefined]) {
      // Variables are coerced before anything runs: even an anonymous caller learns only that its input is bad.
      const answer = await post(request(query, variables), token);
      expect(codesOf(answer)).toEqual(['BAD_USER_INPUT']);
      expect(answer.body.data ?? null).toBeNull();
    }
    expect(await recordCount()).toBe(before);
  });

  it('answers UNAUTHENTICATED, not a coercion error, to the same search with good variables and no token', async () => {
    expect(codesOf(await post(request(SEARCH, `{"i":{"vector":${vector('1')}}}`)))).toEqual(['UNAUTHENTICATED']);
  });

  it.each([
    ['a literal k: 1.5', `{ search(input: { vector: ${vector('1')}, k: 1.5 }) { hits { score } } }`],
    ['an unknown field', '{ nope }'],
    ['a field missing its selection', '{ viewer }'],
    ['a wrong argument type', '{ domain(key: 5) { key } }'],
  ])('answers GRAPHQL_VALIDATION_FAILED to %s', async (_label, query) => {
    expect(codesOf(await post(JSON.stringify({ query }), vo2.token))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('answers BAD_USER_INPUT to a literal 1e309 in a vector (graphql-js lets it through as Infinity; the search refuses it)', async () => {
    const answer = await post(JSON.stringify({ query: `{ search(input: { vector: ${vector('1e309')} }) { hits { score } } }` }), vo2.token);
    expect(codesOf(answer)).toEqual(['BAD_USER_INPUT']);
    expect(answer.body.errors?.[0]?.message).toMatch(/finite/);
  });

  it.each([
    ['an unclosed selection', '{ serverInfo { '],
    ['a stray character', '{ serverInfo { version } } }'],
    ['an empty document', ' '],
  ])('answers GRAPHQL_PARSE_FAILED to %s', async (_label, query) => {
    expect(codesOf(await post(JSON.stringify({ query }), vo2.token))).toEqual(['GRAPHQL_PARSE_FAILED']);
  });

  it('answers BAD_REQUEST, not HTTP 500, to GET parameters that are not JSON', async () => {
    for (const bad of ['variables=%00', 'variables=%7B', 'extensions=nope']) {
      const res = await nexus.server.yoga.fetch(`http://nexus.test/graphql?query=%7B%20serverInfo%20%7B%20version%20%7D%20%7D&${bad}`, { headers: { accept: 'application/json' } });
      const body = (await res.json()) as Answer['body'];
      expect([res.status, codesOf({ status: res.status, body })]).toEqual([400, ['BAD_REQUEST']]);
    }
    const good = await nexus.server.yoga.fetch('http://nexus.test/graphql?query=%7B%20serverInfo%20%7B%20version%20%7D%20%7D', { headers: { accept: 'application/json' } });
    expect(((await good.json()) as Answer['body']).data).toEqual({ serverInfo: { version: expect.any(String) } });
  });

  it('codes the HTTP layer\'s refusals too, and shows no parser internals', async () => {
    const notJson = await post('{"query":', vo2.token);
    expect(codesOf(notJson)).toEqual(['BAD_REQUEST']);
    expect(JSON.stringify(notJson.body)).not.toMatch(/originalError|SyntaxError/);
    expect(codesOf(await post('{}', vo2.token))).toEqual(['BAD_REQUEST']);
    const twoOperations = await post(JSON.stringify({ query: 'query A { serverInfo { version } } query B { serverInfo { version } }' }));
    expect(codesOf(twoOperations)).toEqual(['OPERATION_RESOLUTION_FAILURE']);
  });
});
