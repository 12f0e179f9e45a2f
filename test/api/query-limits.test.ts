// Query limits (graphql-armor) and the body limit: each at its documented default, and configured, with a
// request just under and just over it; refusals are coded, name the limit, and arrive before any work is done.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getIntrospectionQuery, Lexer, Source, TokenKind } from 'graphql';
import { loadConfig } from '../../src/config/env.js';
import { signUpTenant, type TestTenant } from '../helpers/fixtures.js';
import { backends, startNexus, type TestNexus } from '../helpers/nexus.js';

const defaults = loadConfig({});

interface Answer {
  status: number;
  body: { data?: any; errors?: { message: string; extensions?: { code?: string; limit?: string } }[] };
}

async function post(nexus: TestNexus, body: BodyInit, init: { token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers },
    body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}
const query = (nexus: TestNexus, q: string, token?: string) => post(nexus, JSON.stringify({ query: q }), { token });
const refusal = (a: Answer) => (a.body.errors ?? []).map((e) => [e.extensions?.code, e.extensions?.limit]);

/** `{ viewer { tenant { domains { surfaces { homeDomain { … key } } } } } }`, exactly `depth` fields deep. */
function nested(depth: number): string {
  // viewer, tenant, domains and key are 4 levels; each surfaces { homeDomain } pair adds 2; an odd one out is
  // a last Domain.surfaces { key }.
  let inner = (depth - 4) % 2 === 1 ? 'surfaces { key }' : 'key';
  for (let levels = depth % 2 === 1 ? 5 : 4; levels < depth; levels += 2) inner = `surfaces { homeDomain { ${inner} } }`;
  return `{ viewer { tenant { domains { ${inner} } } } }`;
}

/** How many tokens the GraphQL lexer reads in a document (what the token limit counts). */
function tokens(document: string): number {
  const lexer = new Lexer(new Source(document));
  let n = 0;
  while (lexer.advance().kind !== TokenKind.EOF) n += 1;
  return n;
}

/** Fragments each spreading the previous one twice: small to send, exponential to expand. */
function doublingFragments(levels: number): string {
  const lines = ['query { serverInfo { ...F' + levels + ' } }', 'fragment F0 on ServerInfo { version }'];
  for (let i = 1; i <= levels; i++) lines.push(`fragment F${i} on ServerInfo { ...F${i - 1} ...F${i - 1} }`);
  return lines.join('\n');
}

describe.each(await backends())('query limits on %s', (backend) => {
  let nexus: TestNexus;
  let t: TestTenant;
  beforeAll(async () => {
    nexus = await startNexus({ backend });
    t = await signUpTenant(nexus);
  });
  afterAll(async () => {
    await nexus?.close();
  });

  it('has the documented defaults', () => {
    expect(defaults.queryLimits).toEqual({ maxTokens: 5000, maxDepth: 15, maxAliases: 20, maxDirectives: 20, maxCost: 20000 });
    expect(defaults.maxBodyBytes).toBe(16 * 1024 * 1024);
  });

  it('counts tokens while parsing: 5000 pass, 5001 are refused with GRAPHQL_PARSE_FAILED', async () => {
    // Each number of a list literal is one token; the rest of the document is a fixed number of them.
    const withNumbers = (n: number) => `{ domain(key: "health") { search(input: { vector: [${Array(n).fill('1').join(' ')}] }) { score } } }`;
    const fixed = tokens(withNumbers(0));
    const withTokens = (n: number) => withNumbers(n - fixed);
    expect(tokens(withTokens(defaults.queryLimits.maxTokens))).toBe(defaults.queryLimits.maxTokens);
    const under = await query(nexus, withTokens(defaults.queryLimits.maxTokens), t.ownerToken);
    expect(refusal(under)).toEqual([['BAD_USER_INPUT', undefined]]); // parsed and run: the vector has the wrong length
    const over = await query(nexus, withTokens(defaults.queryLimits.maxTokens + 1), t.ownerToken);
    expect(refusal(over)).toEqual([['GRAPHQL_PARSE_FAILED', 'tokens']]);
    expect(over.body.errors?.[0]?.message).toBe('Token limit of 5000 exceeded.');
  });

  it('stops parsing a 1 MB document at the token limit instead of building it', async () => {
    const started = performance.now();
    const answer = await query(nexus, `{ serverInfo { ${'version '.repeat(125_000)} } }`);
    expect(refusal(answer)).toEqual([['GRAPHQL_PARSE_FAILED', 'tokens']]);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('allows depth 15 and refuses 16 with GRAPHQL_VALIDATION_FAILED before running anything', async () => {
    expect(refusal(await query(nexus, nested(15), t.ownerToken))).toEqual([]);
    const over = await query(nexus, nested(16), t.ownerToken);
    expect(refusal(over)).toEqual([['GRAPHQL_VALIDATION_FAILED', 'depth']]);
    expect(over.body.errors?.[0]?.message).toBe('Query depth limit of 15 exceeded, found 16.');
    expect(over.body.data).toBeUndefined();
  });

  it('counts introspection too, and still answers the standard introspection query GraphiQL sends (depth 15)', async () => {
    const schema = await query(nexus, getIntrospectionQuery());
    expect(schema.body.errors).toBeUndefined();
    expect(schema.body.data.__schema.queryType.name).toBe('Query');
    const deep = await query(nexus, `{ __schema { types { fields { type { ${'ofType { '.repeat(12)}name${' }'.repeat(12)} } } } } }`);
    expect(refusal(deep)).toEqual([['GRAPHQL_VALIDATION_FAILED', 'depth']]);
  });

  it('allows 20 aliases and refuses 21, inside __schema as well', async () => {
    const aliases = (n: number) => Array.from({ length: n }, (_, i) => `a${i}: serverInfo { version }`).join(' ');
    expect(refusal(await query(nexus, `{ ${aliases(20)} }`))).toEqual([]);
    expect(refusal(await query(nexus, `{ ${aliases(21)} }`))).toEqual([['GRAPHQL_VALIDATION_FAILED', 'aliases']]);
    const inSchema = (n: number) => `{ __schema { ${Array.from({ length: n }, (_, i) => `a${i}: types { name }`).join(' ')} } }`;
    expect(refusal(await query(nexus, inSchema(20)))).toEqual([]);
    expect(refusal(await query(nexus, inSchema(21)))).toEqual([['GRAPHQL_VALIDATION_FAILED', 'aliases']]);
  });

  it('allows 20 directives and refuses 21', async () => {
    const directives = (n: number) => `{ serverInfo { ${Array(n).fill('version @include(if: true)').join(' ')} } }`;
    expect(refusal(await query(nexus, directives(20)))).toEqual([]);
    expect(refusal(await query(nexus, directives(21)))).toEqual([['GRAPHQL_VALIDATION_FAILED', 'directives']]);
  });

  it('refuses 30 levels of doubling fragments by cost, in milliseconds', async () => {
    const started = performance.now();
    const answer = await query(nexus, doublingFragments(30));
    const ms = performance.now() - started;
    expect(refusal(answer)).toEqual([['GRAPHQL_VALIDATION_FAILED', 'cost']]);
    // Expanded, this document has 2^30 fields; the hand-written walker it replaces took minutes.
    expect(ms).toBeLessThan(2000);
    console.log(`30 levels of doubling fragments refused in ${ms.toFixed(1)} ms (${backend})`);
  });

  it('refuses a body over the limit with 413 and PAYLOAD_TOO_LARGE, by Content-Length, before reading it', async () => {
    const big = JSON.stringify({ query: '{ serverInfo { version } }', variables: { pad: 'x'.repeat(defaults.maxBodyBytes) } });
    const answer = await post(nexus, big);
    expect(answer.status).toBe(413);
    expect(refusal(answer)).toEqual([['PAYLOAD_TOO_LARGE', undefined]]);
  });

  it('stops reading a streamed body without a length once it passes the limit', async () => {
    // An endless body: if the server waited for its end, this would never answer.
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 64 * 1024;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
    });
    const answer = await post(nexus, endless);
    expect(answer.status).toBe(413);
    expect(refusal(answer)).toEqual([['PAYLOAD_TOO_LARGE', undefined]]);
    expect(sent).toBeLessThan(defaults.maxBodyBytes + 4 * 1024 * 1024);
  });

  it('takes a body just under the limit, and refuses other content types with BAD_REQUEST', async () => {
    const envelope = JSON.stringify({ query: '{ serverInfo { version } }', variables: { pad: '' } });
    const padded = envelope.replace('"pad":""', `"pad":"${'x'.repeat(defaults.maxBodyBytes - Buffer.byteLength(envelope))}"`);
    expect(Buffer.byteLength(padded)).toBe(defaults.maxBodyBytes);
    const answer = await post(nexus, padded);
    expect(answer.body).toEqual({ data: { serverInfo: { version: defaults.version } } });
    const form = await post(nexus, 'query=%7B%20serverInfo%20%7B%20version%20%7D%20%7D', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect([form.status, refusal(form)]).toEqual([415, [['BAD_REQUEST', undefined]]]);
    const bare = await post(nexus, '{ serverInfo { version } }', { headers: { 'content-type': 'application/graphql' } });
    expect(bare.body).toEqual({ data: { serverInfo: { version: defaults.version } } });
  });
});

describe('query limits as configured', () => {
  let nexus: TestNexus;
  beforeAll(async () => {
    nexus = await startNexus({
      env: { NEXUS_MAX_TOKENS: '40', NEXUS_MAX_DEPTH: '3', NEXUS_MAX_ALIASES: '2', NEXUS_MAX_DIRECTIVES: '1', NEXUS_MAX_COST: '20', NEXUS_MAX_BODY_BYTES: '2048' },
    });
  });
  afterAll(async () => {
    await nexus?.close();
  });

  it('reads each limit from its environment variable', async () => {
    const versions = (n: number) => `{ serverInfo { ${Array(n).fill('version').join(' ')} } }`;
    // Cost: an object is 2 and each field below it 1 × 1.5 per level, so serverInfo with n fields costs 2 + 1.5n.
    expect(refusal(await query(nexus, versions(12)))).toEqual([]);
    expect(refusal(await query(nexus, versions(13)))).toEqual([['GRAPHQL_VALIDATION_FAILED', 'cost']]);
    expect(tokens(`{ serverInfo { ${Array(36).fill('version').join(' ')} } }`)).toBe(41);
    expect(refusal(await query(nexus, `{ serverInfo { ${Array(36).fill('version').join(' ')} } }`))).toEqual([['GRAPHQL_PARSE_FAILED', 'tokens']]);
    expect(refusal(await query(nexus, '{ a: serverInfo { version } b: serverInfo { version } }'))).toEqual([]);
    expect(refusal(await query(nexus, '{ a: serverInfo { version } b: serverInfo { version } c: serverInfo { version } }'))).toEqual([
      ['GRAPHQL_VALIDATION_FAILED', 'aliases'],
    ]);
    expect(refusal(await query(nexus, '{ serverInfo { version @include(if: true) } }'))).toEqual([]);
    expect(refusal(await query(nexus, '{ serverInfo { version @include(if: true) vectorDimension @skip(if: false) } }'))).toEqual([
      ['GRAPHQL_VALIDATION_FAILED', 'directives'],
    ]);
    expect(refusal(await query(nexus, '{ viewer { tenant { id } } }'))).not.toContainEqual(['GRAPHQL_VALIDATION_FAILED', 'depth']);
    expect(refusal(await query(nexus, '{ viewer { tenant { identity { email } } } }'))).toEqual([['GRAPHQL_VALIDATION_FAILED', 'depth']]);
    const body = await post(nexus, JSON.stringify({ query: '{ serverInfo { version } }', variables: { pad: 'x'.repeat(2048) } }));
    expect([body.status, refusal(body)]).toEqual([413, [['PAYLOAD_TOO_LARGE', undefined]]]);
  });
});
