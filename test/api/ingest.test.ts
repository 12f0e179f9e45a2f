// Fast ingest: vectors as base64 (little-endian float32) beside JSON numbers, appends for new ids and
// merges only for upserts, and reads that leave storage exactly as they found it.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { backends, codes, startNexus, type TestNexus } from '../helpers/nexus.js';
import { signUpTenant, type TestTenant } from '../helpers/fixtures.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { seeded } from '../helpers/vectors.js';

const DIM = 8;
const REMEMBER = `mutation($input: RememberInput!) { remember(input: $input) { records { id kind vector } } }`;
const COUNT = `query($d: String!) { domain(key: $d) { recordCount } }`;
const SEARCH = `query($input: SearchInput!) { search(input: $input) { hits { distance record { id vector } } } }`;

/** Little-endian float32 bytes in base64, as a client would send them. */
function toBase64(values: readonly number[]): string {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
  return bytes.toString('base64');
}

/** Every file under a directory, relative to it (none when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

const rand = seeded(20261201);
const vector = () => Array.from({ length: DIM }, () => Math.fround(rand() * 2 - 1));

describe.each(await backends())('ingest (%s)', (backend) => {
  let nexus: TestNexus;
  let t: TestTenant;
  beforeAll(async () => {
    nexus = await startNexus({ backend, env: { NEXUS_VECTOR_DIM: String(DIM) } });
    t = await signUpTenant(nexus, ['health', 'business', 'finance']);
  });
  afterAll(() => nexus?.close());

  const count = async (domain: string) => (await nexus.gql(COUNT, { d: domain }, t.ownerToken)).data?.domain.recordCount as number;

  it('stores a base64 vector exactly as the same numbers sent as JSON, and searches with either', async () => {
    const values = vector();
    const res = await nexus.gql(
      REMEMBER,
      { input: { domain: 'health', records: [{ id: 'json', kind: 'note', vector: values }, { id: 'b64', kind: 'note', vectorBase64: toBase64(values) }] } },
      t.ownerToken,
    );
    expect(res.errors).toBeUndefined();
    const [json, b64] = res.data?.remember.records as { id: string; vector: number[] }[];
    expect(b64?.vector).toEqual(json?.vector);

    // Read back from storage, both ways of asking.
    const byJson = await nexus.gql(SEARCH, { input: { vector: values, k: 2, domains: ['health'] } }, t.ownerToken);
    const byB64 = await nexus.gql(SEARCH, { input: { vectorBase64: toBase64(values), k: 2, domains: ['health'] } }, t.ownerToken);
    expect(byJson.errors).toBeUndefined();
    expect(byB64.data).toEqual(byJson.data);
    const hits = byJson.data?.search.hits as { distance: number; record: { id: string; vector: number[] } }[];
    expect(hits.map((h) => h.record.id).sort()).toEqual(['b64', 'json']);
    expect(hits[0]?.record.vector).toEqual(hits[1]?.record.vector);
    expect(hits[0]?.distance).toBeCloseTo(0, 5);
    // Within float32 precision of what was sent.
    hits[0]?.record.vector.forEach((x, i) => expect(x).toBeCloseTo(values[i] as number, 5));
  });

  const good = () => ({ kind: 'note', vectorBase64: toBase64(vector()) });
  const bytes = (n: number) => Buffer.alloc(n, 1).toString('base64');
  const floats = (...xs: number[]) => toBase64([...xs, ...Array.from({ length: DIM - xs.length }, () => 0.5)]);
  const refused: [string, Record<string, unknown>][] = [
    ['characters outside base64', { vectorBase64: `${floats(1).slice(0, -4)}*&^%` }],
    ['url-safe base64', { vectorBase64: Buffer.from(new Float32Array(DIM).fill(-1.0000001).buffer).toString('base64url') }],
    ['missing padding', { vectorBase64: bytes(DIM * 4 - 1).replace(/=+$/, '') }],
    ['whitespace inside', { vectorBase64: `${floats(1).slice(0, 8)}\n${floats(1).slice(8)}` }],
    ['an empty string', { vectorBase64: '' }],
    ['one float too few', { vectorBase64: bytes((DIM - 1) * 4) }],
    ['one float too many', { vectorBase64: bytes((DIM + 1) * 4) }],
    ['a byte short', { vectorBase64: bytes(DIM * 4 - 1) }],
    ['NaN', { vectorBase64: floats(Number.NaN) }],
    ['Infinity', { vectorBase64: floats(1, Number.POSITIVE_INFINITY) }],
    ['-Infinity', { vectorBase64: floats(Number.NEGATIVE_INFINITY) }],
    ['all zeros', { vectorBase64: toBase64(new Array(DIM).fill(0)) }],
    ['both vector and vectorBase64', { vectorBase64: floats(1), vector: vector() }],
  ];

  it.each(refused)('refuses %s with BAD_USER_INPUT and writes nothing of the batch', async (_name, bad) => {
    const before = await count('business');
    const res = await nexus.gql(REMEMBER, { input: { domain: 'business', records: [good(), { kind: 'note', ...bad }, good()] } }, t.ownerToken);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.extensions?.field).toMatch(/^records\[1\]\.vector(Base64)?$/);
    expect(res.data).toBeNull();
    expect(await count('business')).toBe(before);
    // And as a query vector.
    const query = await nexus.gql(SEARCH, { input: { k: 1, ...bad } }, t.ownerToken);
    expect(codes(query)).toEqual(['BAD_USER_INPUT']);
    expect(query.errors?.[0]?.extensions?.field).toMatch(/^vector(Base64)?$/);
  });

  it('appends new ids, upserts named ones, and never duplicates an id under concurrent writers', async () => {
    const fresh = await nexus.gql(REMEMBER, { input: { domain: 'finance', records: Array.from({ length: 50 }, () => good()) } }, t.ownerToken);
    expect(fresh.errors).toBeUndefined();
    expect(new Set(fresh.data?.remember.records.map((r: { id: string }) => r.id)).size).toBe(50);
    expect(await count('finance')).toBe(50);

    // Eight writers at once, each naming the same 20 ids (half of them also in another writer's batch order).
    const ids = Array.from({ length: 20 }, (_, i) => `shared-${i}`);
    const writes = await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        nexus.gql(REMEMBER, { input: { domain: 'finance', records: (w % 2 ? [...ids].reverse() : ids).map((id) => ({ id, kind: `writer-${w}`, vectorBase64: toBase64(vector()) })) } }, t.ownerToken),
      ),
    );
    writes.forEach((w) => expect(w.errors).toBeUndefined());
    expect(await count('finance')).toBe(70);

    // An upsert batch mixing a stored id and a new one replaces the one and adds the other.
    const mixed = await nexus.gql(REMEMBER, { input: { domain: 'finance', records: [{ id: 'shared-3', kind: 'replaced', vector: vector() }, { id: 'brand-new', kind: 'added', vector: vector() }] } }, t.ownerToken);
    expect(mixed.errors).toBeUndefined();
    expect(await count('finance')).toBe(71);
    const kinds = await nexus.gql(
      `query($v: [Float!]!) { search(input: { vector: $v, k: 1000, domains: ["finance"], filter: { kinds: ["replaced", "added"] } }) { hits { record { id kind } } } }`,
      { v: vector() },
      t.ownerToken,
    );
    expect(kinds.data?.search.hits.map((h: { record: { id: string; kind: string } }) => `${h.record.id}:${h.record.kind}`).sort()).toEqual(['brand-new:added', 'shared-3:replaced']);
  });
});

describe('reads leave storage untouched', () => {
  // By vector, by text and hybrid: text searches read the full-text index and write nothing either.
  const READS = `query($v: [Float!]!) {
    search(input: { vector: $v, includeGlobal: true }) { hits { record { id } } }
    text: search(input: { text: "leg day", includeGlobal: true }) { hits { record { id } } }
    hybrid: search(input: { text: "leg day", vector: $v }) { hits { record { id } } }
    health: domain(key: "health") { recordCount search(input: { vector: $v }) { distance } byText: search(input: { text: "leg" }) { score } }
  }`;

  it('on local disk: a God View, counts and searches of never-written stores create no file', async () => {
    const nexus = await startNexus({ env: { NEXUS_VECTOR_DIM: String(DIM) } });
    try {
      const t = await signUpTenant(nexus, ['health', 'business', 'finance']);
      const tenantDir = path.join(nexus.server.services.config.storageUri, t.tenantId);
      const before = await filesUnder(tenantDir);
      const res = await nexus.gql(READS, { v: vector() }, t.ownerToken);
      expect(res.errors).toBeUndefined();
      expect(res.data?.search.hits).toEqual([]);
      expect(await filesUnder(tenantDir)).toEqual(before);

      // After one write, reads of the written store and of the others still add nothing.
      expect((await nexus.gql(REMEMBER, { input: { domain: 'health', records: [good(), { ...good(), text: 'heavy leg day' }, { kind: 'note', text: 'leg day, words only' }] } }, t.ownerToken)).errors).toBeUndefined();
      const written = await filesUnder(tenantDir);
      expect(written.some((f) => f.includes('__manifest'))).toBe(false);
      await nexus.gql(READS, { v: vector() }, t.ownerToken);
      expect((await filesUnder(tenantDir)).sort()).toEqual(written.sort());
    } finally {
      await nexus.close();
    }
  });

  it('on the S3 test server: the same reads put no object', async () => {
    const s3: S3TestServer = await startS3Server();
    const nexus = await startNexus({
      env: {
        NEXUS_VECTOR_DIM: String(DIM),
        NEXUS_STORAGE_URI: 's3://nexus/reads',
        AWS_ENDPOINT_URL: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: s3.region,
      },
    });
    try {
      const t = await signUpTenant(nexus, ['health', 'business']);
      const before = await filesUnder(s3.directory);
      const res = await nexus.gql(READS, { v: vector() }, t.ownerToken);
      expect(res.errors).toBeUndefined();
      expect(await filesUnder(s3.directory)).toEqual(before);
      expect((await nexus.gql(REMEMBER, { input: { domain: 'health', records: [good(), { ...good(), text: 'heavy leg day' }, { kind: 'note', text: 'leg day, words only' }] } }, t.ownerToken)).errors).toBeUndefined();
      const written = await filesUnder(s3.directory);
      expect(written.length).toBeGreaterThan(before.length);
      expect(written.some((f) => f.includes('__manifest'))).toBe(false);
      await nexus.gql(READS, { v: vector() }, t.ownerToken);
      expect((await filesUnder(s3.directory)).sort()).toEqual(written.sort());
    } finally {
      await nexus.close();
      await s3.stop();
    }
  });
});

const good = () => ({ kind: 'note', vectorBase64: toBase64(vector()) });
