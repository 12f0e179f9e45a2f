// Forget is physical within NEXUS_CLEANUP_WINDOW: once the store is purged, no file under it (data, old versions,
// the vector and full-text indexes) holds the forgotten record's text or vector bytes, and everything else is still
// found. On PGlite with local disk and on PostgreSQL with the S3 test server.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { signUpTenant, type TestTenant } from '../helpers/fixtures.js';
import { postgresAvailable, startNexus, type Backend, type TestNexus } from '../helpers/nexus.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { randomUnitVector, seeded } from '../helpers/vectors.js';

const DIM = 8;
const REMEMBER = `mutation($i: RememberInput!) { remember(input: $i) { records { id } } }`;
const SECRET = 'quixoticzebra';

/** Every file under a directory, with its bytes. */
async function filesWith(dir: string, needle: Buffer): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: string[] = [];
  for (const e of entries.filter((x) => x.isFile())) {
    const full = path.join(e.parentPath, e.name);
    if ((await readFile(full)).includes(needle)) found.push(path.relative(dir, full));
  }
  return found;
}

const PLACES: [Backend, 'local' | 's3'][] = [['pglite', 'local']];
if (await postgresAvailable()) PLACES.push(['postgresql', 's3']);

describe.each(PLACES)('forget, then purge (%s, %s storage)', (backend, storage) => {
  let s3: S3TestServer | undefined;
  let nexus: TestNexus;
  let t: TestTenant;
  const rand = seeded(11);
  // The forgotten record's vector as the store keeps it: unit length, float32, little-endian.
  const secretVector = randomUnitVector(rand, DIM);
  const secretBytes = Buffer.from(secretVector.buffer);

  beforeAll(async () => {
    const env: Record<string, string> = { NEXUS_VECTOR_DIM: String(DIM), NEXUS_CLEANUP_WINDOW: '0', NEXUS_INDEX_MIN_ROWS: '100' };
    if (storage === 's3') {
      s3 = await startS3Server();
      Object.assign(env, { NEXUS_STORAGE_URI: 's3://nexus/purge', AWS_ENDPOINT_URL: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_REGION: s3.region });
    }
    nexus = await startNexus({ backend, env });
    t = await signUpTenant(nexus, ['health']);
  });
  afterAll(async () => {
    await nexus?.close();
    await s3?.stop();
  });

  const storeDir = () => (storage === 's3' ? path.join(s3!.directory, 'nexus', 'purge', t.tenantId, 'domains', 'health') : path.join(nexus.server.services.config.storageUri, t.tenantId, 'domains', 'health'));

  it('leaves no byte of a forgotten record in any file, indexes included, and keeps the rest findable', async () => {
    // 150 rows in several writes (several data files), past NEXUS_INDEX_MIN_ROWS: the store has both indexes.
    for (let batch = 0; batch < 3; batch++) {
      const records = Array.from({ length: 50 }, (_, i) => ({ id: `r${batch}-${i}`, kind: 'n', text: `ordinary note ${batch} ${i}`, vector: Array.from(randomUnitVector(rand, DIM)) }));
      if (batch === 1) records[7] = { id: 'secret', kind: 'n', text: `a ${SECRET} sighting`, vector: Array.from(secretVector) };
      expect((await nexus.gql(REMEMBER, { i: { domain: 'health', records } }, t.ownerToken)).errors).toBeUndefined();
    }
    await nexus.server.services.vectors.indexIdle();
    const index = await nexus.gql('{ domain(key: "health") { index { state } } }', {}, t.ownerToken);
    expect(index.data?.domain.index.state).toBe('READY');
    // The test can see them before: in a data file and in the indexes.
    expect((await filesWith(storeDir(), Buffer.from(SECRET))).length).toBeGreaterThan(0);
    expect((await filesWith(storeDir(), secretBytes)).length).toBeGreaterThan(1);

    const forgot = await nexus.gql('mutation { forget(input: { domain: "health", ids: ["secret"] }) { deleted } }', {}, t.ownerToken);
    expect(forgot.data?.forget.deleted).toBe(1);
    // Window 0: the purge runs right after the forget; wait for it (and run it, should the timer be late).
    const prisma = nexus.server.services.db.prisma;
    const deadline = Date.now() + 30_000;
    while ((await prisma.storeCleanup.count()) > 0 && Date.now() < deadline) {
      await nexus.server.services.cleanup.runDue();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await prisma.storeCleanup.count()).toBe(0);

    expect(await filesWith(storeDir(), Buffer.from(SECRET))).toEqual([]);
    expect(await filesWith(storeDir(), secretBytes)).toEqual([]);
    // Everything else is still there and found, by vector and by text, through rebuilt indexes.
    const after = await nexus.gql('{ domain(key: "health") { recordCount index { state } } }', {}, t.ownerToken);
    expect(after.data?.domain).toEqual({ recordCount: 149, index: { state: 'READY' } });
    const text = await nexus.gql('{ search(input: { text: "ordinary note", k: 1000 }) { hits { record { id } } } }', {}, t.ownerToken);
    expect(text.data?.search.hits).toHaveLength(149);
    const near = await nexus.gql('query($v: [Float!]) { search(input: { vector: $v, k: 1 }) { hits { record { id } } } }', { v: Array.from(secretVector) }, t.ownerToken);
    expect(near.data?.search.hits[0].record.id).not.toBe('secret');
    expect((await nexus.gql(REMEMBER, { i: { domain: 'health', records: [{ id: 'after', kind: 'n', text: 'written after the purge', vector: Array.from(randomUnitVector(rand, DIM)) }] } }, t.ownerToken)).errors).toBeUndefined();
    expect((await nexus.gql('{ search(input: { text: "purge", k: 5 }) { hits { record { id } } } }', {}, t.ownerToken)).data?.search.hits).toEqual([{ record: { id: 'after' } }]);
  });
});

describe('the cleanup window', () => {
  it('keeps a forgotten record\'s files until the window has passed, with the purge recorded as due', async () => {
    const nexus = await startNexus({ env: { NEXUS_VECTOR_DIM: String(DIM), NEXUS_CLEANUP_WINDOW: '1h' } });
    try {
      const t = await signUpTenant(nexus, ['health']);
      await nexus.gql(REMEMBER, { i: { domain: 'health', records: [{ id: 'gone', kind: 'n', text: `${SECRET} once`, vector: [1, 0, 0, 0, 0, 0, 0, 0] }, { id: 'kept', kind: 'n', text: 'kept', vector: [0, 1, 0, 0, 0, 0, 0, 0] }] } }, t.ownerToken);
      await nexus.gql('mutation { forget(input: { domain: "health", ids: ["gone"] }) { deleted } }', {}, t.ownerToken);
      const due = await nexus.server.services.db.prisma.storeCleanup.findMany();
      expect(due.map((d) => d.store)).toEqual([`${t.tenantId}/domains/health`]);
      expect(Math.abs(due[0]!.dueAt.getTime() - (Date.now() + 3_600_000))).toBeLessThan(60_000);
      expect(await nexus.server.services.cleanup.runDue()).toBe(0);
      const dir = path.join(nexus.server.services.config.storageUri, t.tenantId, 'domains', 'health');
      expect((await filesWith(dir, Buffer.from(SECRET))).length).toBeGreaterThan(0);
      // Never found meanwhile: forget takes effect at once for every reader.
      expect((await nexus.gql('{ search(input: { text: "quixoticzebra" }) { hits { record { id } } } }', {}, t.ownerToken)).data?.search.hits).toEqual([]);
    } finally {
      await nexus.close();
    }
  });
});
