// An injection corpus thrown at every input that reaches a path or a filter:
// each is rejected or treated as data, and the stored rows never change.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RememberDocument, SearchDocument } from '../generated/graphql.js';
import { addSurface, signUpTenant, type TestSurface, type TestTenant } from '../helpers/fixtures.js';
import { codes, startNexus, type TestNexus } from '../helpers/nexus.js';

const DIM = 8;
const unit = (i: number) => Array.from({ length: DIM }, (_, j) => (j === i ? 1 : 0.1));

const CORPUS = [
  "'",
  "x' OR 1=1 --",
  "x') OR ('1'='1",
  "'; DROP TABLE vectors; --",
  '" OR ""="',
  '--',
  '/* */',
  '../../etc/passwd',
  '..',
  'health/../business',
  '%2e%2e%2f',
  'héalth',
  '💥',
  '\u0000',
  'a\nb',
  ' health',
  'HEALTH',
  'x'.repeat(10_000),
  "kind IS NOT NULL OR kind = '",
];

describe('the injection corpus', () => {
  let nexus: TestNexus;
  let t: TestTenant;
  let vo2: TestSurface;
  let snapshot: string;

  /** Every row of every store of the tenant, as the owner sees it (ids, kinds, stores). */
  async function rows(): Promise<string> {
    const res = await nexus.gql(
      `query($v: [Float!]) {
        health: domain(key: "health") { recordCount }
        business: domain(key: "business") { recordCount }
        search(input: { vector: $v, k: 1000, includeGlobal: true }) { hits { record { id kind scope domain { key } text } } }
      }`,
      { v: unit(0) },
      t.ownerToken,
    );
    expect(res.errors).toBeUndefined();
    const own = await nexus.gql(SearchDocument, { input: { vector: unit(0), k: 1000, includeSurface: true } }, vo2.token);
    return JSON.stringify([res.data, own.data?.search.hits.map((h) => h.record.id).sort()]);
  }

  beforeAll(async () => {
    nexus = await startNexus();
    t = await signUpTenant(nexus, ['health', 'business']);
    vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
    const records = Array.from({ length: 5 }, (_, i) => ({ id: `r${i}`, kind: i % 2 ? 'walk' : 'run', text: `row ${i}`, vector: unit(i) }));
    expect((await nexus.gql(RememberDocument, { input: { records } }, vo2.token)).errors).toBeUndefined();
    expect((await nexus.gql(RememberDocument, { input: { domain: 'business', records: [{ id: 'b0', kind: 'deal', vector: unit(1) }] } }, t.ownerToken)).errors).toBeUndefined();
    expect((await nexus.gql(RememberDocument, { input: { scope: 'SURFACE', records: [{ id: 's0', kind: 'draft', vector: unit(2) }] } }, vo2.token)).errors).toBeUndefined();
    snapshot = await rows();
  });
  afterAll(async () => {
    await nexus?.close();
  });

  const attempts: [string, (p: string) => [string, Record<string, unknown>, 'owner' | 'surface']][] = [
    ['a record id', (p) => ['mutation($i: RememberInput!) { remember(input: $i) { records { id kind } } }', { i: { records: [{ id: p, kind: 'run', vector: unit(0) }] } }, 'surface']],
    ['a kind', (p) => ['mutation($i: RememberInput!) { remember(input: $i) { records { id kind } } }', { i: { records: [{ kind: p, vector: unit(0) }] } }, 'surface']],
    ['a remember domain', (p) => ['mutation($i: RememberInput!) { remember(input: $i) { records { id } } }', { i: { domain: p, records: [{ kind: 'run', vector: unit(0) }] } }, 'owner']],
    ['a forget id', (p) => ['mutation($i: ForgetInput!) { forget(input: $i) { deleted } }', { i: { ids: [p] } }, 'surface']],
    ['a forget domain', (p) => ['mutation($i: ForgetInput!) { forget(input: $i) { deleted } }', { i: { domain: p, ids: ['no-such-record'] } }, 'owner']],
    ['a filter kind', (p) => ['query($i: SearchInput!) { search(input: $i) { hits { record { id } } } }', { i: { vector: unit(0), filter: { kinds: [p] } } }, 'surface']],
    ['a search domain', (p) => ['query($i: SearchInput!) { search(input: $i) { hits { record { id } } } }', { i: { vector: unit(0), domains: [p] } }, 'owner']],
    ['a domain(key)', (p) => ['query($k: String!) { domain(key: $k) { recordCount } }', { k: p }, 'owner']],
    ['a new domain key', (p) => ['mutation($i: CreateDomainInput!) { createDomain(input: $i) { key } }', { i: { key: p } }, 'owner']],
    ['a new surface key', (p) => ['mutation($i: CreateSurfaceInput!) { createSurface(input: $i) { key } }', { i: { key: p, homeDomain: 'health' } }, 'owner']],
    ['a surface home domain', (p) => ['mutation($i: CreateSurfaceInput!) { createSurface(input: $i) { key } }', { i: { key: 'evil', homeDomain: p } }, 'owner']],
    ['an idempotency key', (p) => ['mutation($i: BurnCreditsInput!) { burnCredits(input: $i) { entry { id } } }', { i: { amount: '1', reason: p.slice(0, 200), idempotencyKey: p.slice(0, 128) } }, 'surface']],
  ];

  it.each(attempts)('rejects or stores as data every payload in %s, leaving the rows unchanged', async (_where, build) => {
    for (const payload of CORPUS) {
      const [query, variables, who] = build(payload);
      const res = await nexus.gql(query, variables, who === 'owner' ? t.ownerToken : vo2.token);
      const code = codes(res)[0];
      // Either refused with a client error, or (search only) answered with no hits: never a server error.
      if (res.errors) expect(['BAD_USER_INPUT', 'FORBIDDEN', 'NOT_FOUND', 'INSUFFICIENT_CREDITS']).toContain(code);
      else if ('i' in variables && /search/.test(query)) expect(res.data?.search.hits).toEqual([]);
      else if (/forget/.test(query)) expect(res.data?.forget.deleted).toBe(0);
      else if (res.data?.remember) {
        // Accepted as data: stored verbatim, then removed again so the snapshot can be compared.
        const stored = res.data.remember.records[0];
        expect(stored.id === payload || stored.kind === payload).toBe(true);
        const removed = await nexus.gql('mutation($i: ForgetInput!) { forget(input: $i) { deleted } }', { i: { ids: [stored.id] } }, vo2.token);
        expect(removed.data?.forget.deleted).toBe(1);
      } else throw new Error(`payload ${JSON.stringify(payload.slice(0, 40))} was accepted by ${query}`);
      expect(await rows()).toBe(snapshot);
    }
  });
});
