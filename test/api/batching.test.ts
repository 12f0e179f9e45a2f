// Per-request batching and the bounded table cache: a store is searched once
// per request however many fields ask, and open tables never exceed the bound.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RememberDocument } from '../generated/graphql.js';
import { signUpTenant, type TestTenant } from '../helpers/fixtures.js';
import { startNexus, type TestNexus } from '../helpers/nexus.js';
import type { VectorStores } from '../../src/vectors/store.js';

const DIM = 8;
const vec = (i: number) => Array.from({ length: DIM }, (_, j) => (j === i % DIM ? 1 : 0.1));

describe('batching and the table cache', () => {
  let nexus: TestNexus;
  let t: TestTenant;
  let searches: string[];
  const domains = ['d1', 'd2', 'd3', 'd4', 'd5'];

  beforeAll(async () => {
    nexus = await startNexus({ env: { NEXUS_TABLE_CACHE_SIZE: '2' } });
    t = await signUpTenant(nexus, domains);
    for (const [i, domain] of domains.entries()) {
      const res = await nexus.gql(RememberDocument, { input: { domain, records: [{ id: `${domain}-r`, kind: 'k', vector: vec(i) }] } }, t.ownerToken);
      expect(res.errors).toBeUndefined();
    }
    // Count the searches that reach the vectors layer (the real one, instrumented, not replaced).
    const vectors = nexus.server.services.vectors as { -readonly [K in keyof VectorStores]: VectorStores[K] };
    const search = vectors.search.bind(vectors);
    vectors.search = (grant, query) => {
      searches.push(grant.store.scope === 'DOMAIN' ? grant.store.domainKey : grant.store.scope);
      return search(grant, query);
    };
  });
  afterAll(async () => {
    await nexus?.close();
  });

  it('searches each store once per request when several fields ask the same', async () => {
    searches = [];
    const res = await nexus.gql(
      `query($v: [Float!]) {
        a: search(input: { vector: $v, k: 3 }) { hits { record { id } } }
        b: search(input: { vector: $v, k: 3 }) { hits { record { id } } }
        d1: domain(key: "d1") { search(input: { vector: $v, k: 3 }) { record { id } } }
      }`,
      { v: vec(0) },
      t.ownerToken,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.a).toEqual(res.data?.b);
    expect(searches.sort()).toEqual([...domains].sort());
  });

  it('keeps at most NEXUS_TABLE_CACHE_SIZE tables open and still answers from every store', async () => {
    for (let round = 0; round < 3; round++) {
      const res = await nexus.gql('query($v: [Float!]) { search(input: { vector: $v, k: 10 }) { hits { record { id } } } }', { v: vec(round) }, t.ownerToken);
      expect(res.data?.search.hits.map((h: { record: { id: string } }) => h.record.id).sort()).toEqual(domains.map((d) => `${d}-r`).sort());
      expect(nexus.server.services.vectors.openTables()).toBeLessThanOrEqual(2);
    }
  });
});
