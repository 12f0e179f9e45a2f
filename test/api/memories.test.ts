// The access table of DESIGN.md §2 and the search semantics of §5, through the
// GraphQL API, on local disk and on a real S3-compatible server.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DomainSearchDocument,
  ForgetDocument,
  RecordCountDocument,
  RememberDocument,
  SearchDocument,
  SearchWithVectorsDocument,
  type RecordInput,
} from '../generated/graphql.js';
import { addSurface, signUpTenant, type TestSurface, type TestTenant } from '../helpers/fixtures.js';
import { backends, codes, startNexus, type Backend, type TestNexus } from '../helpers/nexus.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { oracleRrf, oracleTopK, randomVector, seeded, type OracleItem } from '../helpers/vectors.js';

const DIM = 8;
const available = await backends();
const setups: [string, Backend, 'local' | 's3'][] = [
  ['PGlite, local disk', 'pglite', 'local'],
  ['PostgreSQL, S3', available.includes('postgresql') ? 'postgresql' : 'pglite', 's3'],
];

const unit = (i: number): number[] => Array.from({ length: DIM }, (_, j) => (j === i ? 1 : 0));
const near = (i: number, eps = 0.05): number[] => Array.from({ length: DIM }, (_, j) => (j === i ? 1 : eps));

describe.each(setups)('memories on %s', (_label, backend, storage) => {
  let nexus: TestNexus;
  let s3: S3TestServer | undefined;
  let owner: TestTenant;
  let vo2: TestSurface;
  let sleep: TestSurface;
  let agnx: TestSurface;
  let god: TestSurface;

  beforeAll(async () => {
    let env: Record<string, string> = {};
    if (storage === 's3') {
      s3 = await startS3Server();
      env = {
        NEXUS_STORAGE_URI: `s3://nexus/gw-${Date.now()}`,
        AWS_ENDPOINT_URL: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: s3.region,
      };
    }
    nexus = await startNexus({ backend, env });
    owner = await signUpTenant(nexus, ['health', 'business', 'finance', 'views']);
    vo2 = await addSurface(nexus, owner.ownerToken, { key: 'vo2', homeDomain: 'health' });
    sleep = await addSurface(nexus, owner.ownerToken, { key: 'sleep', homeDomain: 'views', mounts: [{ domain: 'health', access: 'READ' }] });
    agnx = await addSurface(nexus, owner.ownerToken, { key: 'agnx', homeDomain: 'business' });
    god = await addSurface(nexus, owner.ownerToken, {
      key: 'god-view',
      kind: 'DASHBOARD',
      homeDomain: 'views',
      mounts: ['health', 'business', 'finance'].map((domain) => ({ domain, access: 'READ' as const })),
    });
    const leg = await nexus.gql(
      RememberDocument,
      { input: { records: [{ id: 'leg-day', kind: 'workout', text: 'heavy leg day', vector: near(0), metadata: { sets: 5 } }] } },
      vo2.token,
    );
    expect(leg.errors).toBeUndefined();
    const deal = await nexus.gql(RememberDocument, { input: { records: [{ id: 'deal', kind: 'note', text: 'closed a deal', vector: near(0, 0.06) }] } }, agnx.token);
    expect(deal.errors).toBeUndefined();
  });

  afterAll(async () => {
    await nexus?.close();
    await s3?.stop();
  });

  const search = (token: string, input: Record<string, unknown>) => nexus.gql(SearchDocument, { input: { vector: near(0), k: 50, ...input } }, token);
  const ids = (res: Awaited<ReturnType<typeof search>>) => res.data?.search.hits.map((h) => h.record.id) ?? [];

  describe('domain stores', () => {
    it('lets Sleep, which mounts health READ, find what VO2 wrote there, tagged with where it came from', async () => {
      const res = await search(sleep.token, { domains: ['health'] });
      expect(res.errors).toBeUndefined();
      const hit = res.data!.search.hits.find((h) => h.record.id === 'leg-day');
      expect(hit?.record).toMatchObject({ scope: 'DOMAIN', kind: 'workout', text: 'heavy leg day', metadata: { sets: 5 }, domain: { key: 'health' }, surface: { key: 'vo2' } });
      expect(hit!.distance).toBeGreaterThanOrEqual(0);
      expect(hit!.score).toBeCloseTo(1 - hit!.distance!, 6);
    });

    it('gives AGNx (business) FORBIDDEN on health and never shows the leg day by any path', async () => {
      expect(codes(await search(agnx.token, { domains: ['health'] }))).toEqual(['FORBIDDEN']);
      expect(codes(await search(agnx.token, { domains: ['business', 'health'] }))).toEqual(['FORBIDDEN']);
      const all = await search(agnx.token, {});
      expect(all.errors).toBeUndefined();
      expect(ids(all)).toEqual(['deal']);
      expect(codes(await nexus.gql(DomainSearchDocument, { key: 'health', input: { vector: near(0) } }, agnx.token))).toEqual(['FORBIDDEN']);
      expect(codes(await nexus.gql(RecordCountDocument, { key: 'health' }, agnx.token))).toEqual(['FORBIDDEN']);
      const nested = await nexus.gql(
        '{ viewer { tenant { domains { key recordCount } } surface { homeDomain { key } mounts { domain { key recordCount } } } } }',
        {},
        agnx.token,
      );
      expect(nested.errors).toBeUndefined();
      expect(JSON.stringify(nested.data)).not.toContain('health');
      const remember = await nexus.gql(RememberDocument, { input: { domain: 'health', records: [{ kind: 'x', vector: unit(1) }] } }, agnx.token);
      expect(codes(remember)).toEqual(['FORBIDDEN']);
      const forget = await nexus.gql(ForgetDocument, { input: { domain: 'health', ids: ['leg-day'] } }, agnx.token);
      expect(codes(forget)).toEqual(['FORBIDDEN']);
      expect((await nexus.gql(RecordCountDocument, { key: 'health' }, owner.ownerToken)).data?.domain?.recordCount).toBe(1);
    });

    it('lets a READ mount search and list but not write or forget', async () => {
      expect(ids(await search(sleep.token, { domains: ['health'] }))).toContain('leg-day');
      expect((await nexus.gql(RecordCountDocument, { key: 'health' }, sleep.token)).data?.domain?.recordCount).toBe(1);
      expect(codes(await nexus.gql(RememberDocument, { input: { domain: 'health', records: [{ kind: 'x', vector: unit(1) }] } }, sleep.token))).toEqual([
        'FORBIDDEN',
      ]);
      expect(codes(await nexus.gql(ForgetDocument, { input: { domain: 'health', ids: ['leg-day'] } }, sleep.token))).toEqual(['FORBIDDEN']);
    });

    it('gives the God View FORBIDDEN on remember to a READ mount and writes nothing', async () => {
      const res = await nexus.gql(RememberDocument, { input: { domain: 'finance', records: [{ kind: 'x', vector: unit(2) }] } }, god.token);
      expect(codes(res)).toEqual(['FORBIDDEN']);
      expect((await nexus.gql(RecordCountDocument, { key: 'finance' }, owner.ownerToken)).data?.domain?.recordCount).toBe(0);
    });

    it('makes remember with an existing id an upsert, and forget reports what it deleted', async () => {
      const first = await nexus.gql(RememberDocument, { input: { records: [{ id: 'draft-1', kind: 'note', text: 'v1', vector: unit(3) }] } }, agnx.token);
      expect(first.errors).toBeUndefined();
      const second = await nexus.gql(RememberDocument, { input: { records: [{ id: 'draft-1', kind: 'note', text: 'v2', vector: unit(3) }] } }, agnx.token);
      expect(second.data?.remember.records[0]).toMatchObject({ id: 'draft-1', text: 'v2', scope: 'DOMAIN', domain: { key: 'business' }, surface: { key: 'agnx' } });
      expect((await nexus.gql(RecordCountDocument, { key: 'business' }, agnx.token)).data?.domain?.recordCount).toBe(2);
      const hit = (await search(agnx.token, { vector: unit(3), k: 1 })).data?.search.hits[0];
      expect(hit?.record).toMatchObject({ id: 'draft-1', text: 'v2' });
      const gone = await nexus.gql(ForgetDocument, { input: { ids: ['draft-1', 'never-was'] } }, agnx.token);
      expect(gone.data?.forget.deleted).toBe(1);
      expect((await nexus.gql(RecordCountDocument, { key: 'business' }, agnx.token)).data?.domain?.recordCount).toBe(1);
    });

    it('returns the vector as written, and assigns ids when none is given', async () => {
      const v = [3, -4, 0.5, 1, 2, 0, 0, 7];
      const res = await nexus.gql(RememberDocument, { input: { domain: 'finance', records: [{ kind: 'invoice', vector: v }] } }, owner.ownerToken);
      const id = res.data!.remember.records[0]!.id;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.data!.remember.records[0]!.surface).toBeNull();
      const found = await nexus.gql(SearchWithVectorsDocument, { input: { vector: v, k: 1, domains: ['finance'] } }, owner.ownerToken);
      const hit = found.data!.search.hits[0]!;
      expect(hit.record.id).toBe(id);
      hit.record.vector.forEach((x, i) => expect(x).toBeCloseTo(v[i]!, 4));
      expect(hit.distance).toBeCloseTo(0, 5);
      await nexus.gql(ForgetDocument, { input: { domain: 'finance', ids: [id] } }, owner.ownerToken);
    });
  });

  describe('private surface stores', () => {
    beforeAll(async () => {
      const res = await nexus.gql(RememberDocument, { input: { scope: 'SURFACE', records: [{ id: 'ui-state', kind: 'draft', vector: near(0, 0.01) }] } }, vo2.token);
      expect(res.errors).toBeUndefined();
      expect(res.data?.remember.records[0]).toMatchObject({ scope: 'SURFACE', domain: null, surface: { key: 'vo2' } });
    });

    it('are read back by their own surface with includeSurface', async () => {
      const res = await search(vo2.token, { includeSurface: true });
      expect(ids(res)).toEqual(expect.arrayContaining(['ui-state', 'leg-day']));
      expect(res.data!.search.hits.find((h) => h.record.id === 'ui-state')?.record.scope).toBe('SURFACE');
    });

    it('are invisible to every other surface, to the owner and to fused searches', async () => {
      for (const token of [sleep.token, agnx.token, god.token]) {
        for (const input of [{}, { includeSurface: true }, { includeGlobal: true }, { includeSurface: true, includeGlobal: true }]) {
          const res = await search(token, input);
          expect(res.errors).toBeUndefined();
          expect(ids(res)).not.toContain('ui-state');
        }
      }
      expect(ids(await search(owner.ownerToken, { includeGlobal: true }))).not.toContain('ui-state');
      expect(codes(await search(owner.ownerToken, { includeSurface: true }))).toEqual(['BAD_USER_INPUT']);
    });

    it('cannot be written by the owner or forgotten by another surface', async () => {
      const res = await nexus.gql(RememberDocument, { input: { scope: 'SURFACE', records: [{ kind: 'x', vector: unit(1) }] } }, owner.ownerToken);
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      const forget = await nexus.gql(ForgetDocument, { input: { scope: 'SURFACE', ids: ['ui-state'] } }, sleep.token);
      expect(forget.data?.forget.deleted).toBe(0);
      expect(ids(await search(vo2.token, { includeSurface: true }))).toContain('ui-state');
    });
  });

  describe('the global store', () => {
    it('is written by the owner and read by surfaces that ask for it', async () => {
      const res = await nexus.gql(
        RememberDocument,
        { input: { scope: 'GLOBAL', records: [{ id: 'profile', kind: 'profile', text: 'vegetarian', vector: near(0, 0.02) }] } },
        owner.ownerToken,
      );
      expect(res.errors).toBeUndefined();
      const hits = (await search(agnx.token, { includeGlobal: true })).data!.search.hits;
      expect(hits.find((h) => h.record.id === 'profile')?.record).toMatchObject({ scope: 'GLOBAL', domain: null, surface: null });
      expect(ids(await search(agnx.token, {}))).not.toContain('profile');
    });

    it('refuses writes from surfaces', async () => {
      const res = await nexus.gql(RememberDocument, { input: { scope: 'GLOBAL', records: [{ kind: 'x', vector: unit(1) }] } }, vo2.token);
      expect(codes(res)).toEqual(['FORBIDDEN']);
    });
  });

  describe('tenant isolation', () => {
    it('shows tenant B nothing of tenant A, whatever B asks', async () => {
      const b = await signUpTenant(nexus, ['health', 'business', 'finance', 'views']);
      const bVo2 = await addSurface(nexus, b.ownerToken, { key: 'vo2', homeDomain: 'health' });
      for (const token of [b.ownerToken, bVo2.token]) {
        for (const input of [{}, { domains: ['health'] }, { includeGlobal: true }]) {
          const res = await search(token, input);
          expect(res.errors).toBeUndefined();
          expect(res.data!.search.hits).toEqual([]);
        }
        const count = await nexus.gql(RecordCountDocument, { key: 'health' }, token);
        expect(count.data?.domain?.recordCount).toBe(0);
      }
      expect((await search(bVo2.token, { includeSurface: true })).data!.search.hits).toEqual([]);
      const forget = await nexus.gql(ForgetDocument, { input: { ids: ['leg-day'] } }, bVo2.token);
      expect(forget.data?.forget.deleted).toBe(0);
      expect(ids(await search(sleep.token, { domains: ['health'] }))).toContain('leg-day');
    });
  });

  describe('fused search (God View)', () => {
    const rand = seeded(42);
    const items: OracleItem[] = [];
    let dashboard: TestSurface;

    beforeAll(async () => {
      const t = await signUpTenant(nexus, ['health', 'business', 'finance', 'views']);
      const fused = await addSurface(nexus, t.ownerToken, {
        key: 'god-view',
        kind: 'DASHBOARD',
        homeDomain: 'views',
        mounts: ['health', 'business', 'finance'].map((domain) => ({ domain, access: 'READ' as const })),
      });
      dashboard = fused;
      for (const domain of ['health', 'business', 'finance']) {
        const records: RecordInput[] = [];
        for (let i = 0; i < 40; i++) {
          const vector = randomVector(rand, DIM);
          const id = `${domain}-${i}`;
          items.push({ id, store: domain, vector });
          records.push({ id, kind: i % 2 ? 'odd' : 'even', vector, occurredAt: new Date(Date.UTC(2026, 0, 1 + i)).toISOString() });
        }
        const res = await nexus.gql(RememberDocument, { input: { domain, records } }, t.ownerToken);
        expect(res.errors).toBeUndefined();
      }
    });

    it('returns the exact top-k of the union of every mounted domain, by cosine distance', async () => {
      for (let q = 0; q < 5; q++) {
        const query = randomVector(rand, DIM);
        const res = await nexus.gql(SearchDocument, { input: { vector: query, k: 10 } }, dashboard.token);
        expect(res.errors).toBeUndefined();
        const got = res.data!.search.hits;
        const want = oracleTopK(items, query, 10);
        expect(got.map((h) => h.record.id)).toEqual(want.map((w) => w.id));
        got.forEach((h, i) => {
          expect(h.distance).toBeCloseTo(want[i]!.distance, 5);
          expect(h.record.domain?.key).toBe(h.record.id.split('-')[0]);
        });
      }
    });

    it('fuses by reciprocal rank with RRF', async () => {
      const query = randomVector(rand, DIM);
      const res = await nexus.gql(SearchDocument, { input: { vector: query, k: 12, fusion: 'RRF' } }, dashboard.token);
      const want = oracleRrf(items, query, 12);
      expect(res.data!.search.hits.map((h) => h.record.id)).toEqual(want.map((w) => w.id));
      res.data!.search.hits.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 9));
    });

    it('applies kinds and time filters in every store before ranking', async () => {
      const query = randomVector(rand, DIM);
      const after = new Date(Date.UTC(2026, 0, 11));
      const before = new Date(Date.UTC(2026, 0, 31));
      const res = await nexus.gql(
        SearchDocument,
        { input: { vector: query, k: 7, filter: { kinds: ['odd'], occurredAfter: after.toISOString(), occurredBefore: before.toISOString() } } },
        dashboard.token,
      );
      const eligible = items.filter((it) => {
        const i = Number(it.id.split('-')[1]);
        const at = Date.UTC(2026, 0, 1 + i);
        return i % 2 === 1 && at >= after.getTime() && at < before.getTime();
      });
      expect(res.data!.search.hits.map((h) => h.record.id)).toEqual(oracleTopK(eligible, query, 7).map((w) => w.id));
    });

    it('searches one domain through Domain.search with the same answer as a one-domain fused search', async () => {
      const query = randomVector(rand, DIM);
      const viaDomain = await nexus.gql(DomainSearchDocument, { key: 'finance', input: { vector: query, k: 5 } }, dashboard.token);
      const viaSearch = await nexus.gql(SearchDocument, { input: { vector: query, k: 5, domains: ['finance'] } }, dashboard.token);
      expect(viaDomain.data?.domain?.recordCount).toBe(40);
      expect(viaDomain.data?.domain?.search.map((h) => h.record.id)).toEqual(viaSearch.data?.search.hits.map((h) => h.record.id));
      expect(viaSearch.data?.search.hits.map((h) => h.record.id)).toEqual(oracleTopK(items.filter((i) => i.store === 'finance'), query, 5).map((w) => w.id));
    });

    it('returns no hits, not an error, from a store that has no table yet', async () => {
      const res = await nexus.gql(SearchDocument, { input: { vector: unit(0), domains: ['views'] } }, dashboard.token);
      expect(res.errors).toBeUndefined();
      expect(res.data?.search.hits).toEqual([]);
    });
  });
});

describe('remember validation', () => {
  let nexus: TestNexus;
  let t: TestTenant;
  let vo2: TestSurface;
  beforeAll(async () => {
    nexus = await startNexus();
    t = await signUpTenant(nexus);
    vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
    await nexus.gql(RememberDocument, { input: { records: [{ id: 'keep', kind: 'workout', vector: unit(0) }] } }, vo2.token);
  });
  afterAll(async () => {
    await nexus?.close();
  });

  const count = async () => (await nexus.gql(RecordCountDocument, { key: 'health' }, t.ownerToken)).data?.domain?.recordCount;
  const good = (id: string) => ({ id, kind: 'workout', vector: unit(1) });

  it.each<[string, Record<string, unknown>]>([
    ['a short vector', { kind: 'w', vector: [1, 2, 3] }],
    ['a long vector', { kind: 'w', vector: Array(DIM + 1).fill(1) }],
    ['an all-zero vector', { kind: 'w', vector: Array(DIM).fill(0) }],
    ['neither text nor a vector', { kind: 'w' }],
    ['blank text without a vector', { kind: 'w', text: ' \n ' }],
    ['text over 64 KiB', { kind: 'w', vector: unit(1), text: 'x'.repeat(64 * 1024 + 1) }],
    ['metadata over 64 KiB', { kind: 'w', vector: unit(1), metadata: { blob: 'x'.repeat(64 * 1024) } }],
    ['an id with a quote', { id: "a'b", kind: 'w', vector: unit(1) }],
    ['an empty kind', { kind: '', vector: unit(1) }],
  ])('rejects a batch holding %s with BAD_USER_INPUT and writes none of it', async (_label, bad) => {
    const before = await count();
    const res = await nexus.gql(RememberDocument, { input: { records: [good('ok-1'), bad as unknown as RecordInput, good('ok-2')] } }, vo2.token);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(await count()).toBe(before);
  });

  it('rejects a batch that repeats an id, and more than 1000 records', async () => {
    expect(codes(await nexus.gql(RememberDocument, { input: { records: [good('dup'), good('dup')] } }, vo2.token))).toEqual(['BAD_USER_INPUT']);
    const many = Array.from({ length: 1001 }, (_, i) => good(`r${i}`));
    expect(codes(await nexus.gql(RememberDocument, { input: { records: many } }, vo2.token))).toEqual(['BAD_USER_INPUT']);
    expect(await count()).toBe(1);
  });

  it('rejects non-finite numbers before they reach the store', async () => {
    const body = `{"query":"mutation($i: RememberInput!) { remember(input: $i) { records { id } } }","variables":{"i":{"records":[{"kind":"w","vector":[1e999,0,0,0,0,0,0,0]}]}}}`;
    const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${vo2.token}` },
      body,
    });
    const json = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[]; data?: unknown };
    expect(json.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(json.data ?? null).toBeNull();
    expect(await count()).toBe(1);
  });

  it.each([0, 1001, -1])('rejects k = %p with BAD_USER_INPUT', async (k) => {
    const res = await nexus.gql(SearchDocument, { input: { vector: unit(0), k } }, vo2.token);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  it('lets the owner create a domain and write to it in one operation', async () => {
    const res = await nexus.gql(
      'mutation($v: [Float!]) { createDomain(input: { key: "sleep" }) { key } remember(input: { domain: "sleep", records: [{ id: "n1", kind: "night", vector: $v }] }) { records { id domain { key } } } }',
      { v: unit(2) },
      t.ownerToken,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.remember.records).toEqual([{ id: 'n1', domain: { key: 'sleep' } }]);
    expect(codes(await nexus.gql(RememberDocument, { input: { domain: 'nowhere', records: [good('x')] } }, t.ownerToken))).toEqual(['NOT_FOUND']);
  });

  it.each<[string, Record<string, unknown>]>([
    ['neither text nor a vector', {}],
    ['blank text', { text: '  ' }],
    ['text over 4096 bytes', { text: 'é'.repeat(2049) }],
    ['text with a NUL', { text: 'leg\u0000day' }],
  ])('rejects a search with %s (BAD_USER_INPUT)', async (_label, input) => {
    const res = await nexus.gql(SearchDocument, { input }, vo2.token);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });
});
