// Below the API's validation, the vectors layer itself treats hostile strings
// as data: filters are escaped, paths are built only from valid identifiers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { grantStores, type StoreGrant } from '../../src/auth/access.js';
import type { Viewer } from '../../src/auth/viewer.js';
import { storeUri } from '../../src/vectors/layout.js';
import { toUnitVector } from '../../src/vectors/records.js';
import { inList, literal, recordFilter } from '../../src/vectors/sql.js';
import { createVectorStores, type VectorStores } from '../../src/vectors/store.js';

const DIM = 4;
const owner: Viewer = { role: 'OWNER', tenantId: 'tenant-a', tokenId: 't', surface: null, mounts: new Map(), expiresAt: null };
const TEXTS: Record<string, string> = { a: 'walk morning', b: 'run evening', "it's": "o'clock tea" };
const row = (id: string, kind: string, i: number) => ({ id, idGiven: true, kind, text: TEXTS[id] ?? null, metadata: null, occurredAt: 1000 + i, ...toUnitVector([1, i, 0, 0], DIM, 'v') });
const TEXT = { language: 'English', stem: true, removeStopWords: true, tokenizer: 'simple' } as const;

describe('filter SQL', () => {
  it('doubles quotes and rejects NUL', () => {
    expect(literal("it's")).toBe("'it''s'");
    expect(inList('id', ["a') OR 1=1 --", 'b'])).toBe("id IN ('a'') OR 1=1 --', 'b')");
    expect(() => literal('a\u0000b')).toThrow(/NUL/);
    expect(recordFilter({ occurredAfter: 5, occurredBefore: 9 })).toBe('(occurred_at >= 5) AND (occurred_at < 9)');
    expect(() => recordFilter({ occurredAfter: 0.5 })).toThrow(/safe integers/);
    expect(inList('kind', [])).toBe('false');
  });
});

describe('store paths', () => {
  it.each(['../etc', 'a/b', 'A', '', 'x'.repeat(33), "a'b", 'é'])('refuses to build a path from the key %p', (key) => {
    expect(() => storeUri('/data', { scope: 'DOMAIN', tenantId: 'tenant-a', domainKey: key })).toThrow(/invalid/);
    expect(() => storeUri('/data', { scope: 'GLOBAL', tenantId: key })).toThrow(/invalid/);
  });

  it('lays stores out as DESIGN.md says', () => {
    expect(storeUri('/data', { scope: 'DOMAIN', tenantId: 't1', domainKey: 'health' })).toBe('/data/t1/domains/health');
    expect(storeUri('s3://b/p', { scope: 'SURFACE', tenantId: 't1', surfaceKey: 'vo2' })).toBe('s3://b/p/t1/surfaces/vo2');
    expect(storeUri('s3://b/p', { scope: 'GLOBAL', tenantId: 't1' })).toBe('s3://b/p/t1/global');
  });
});

describe('the vectors layer with hostile strings', () => {
  let dir: string;
  let vectors: VectorStores;
  const grant = (intent: Parameters<typeof grantStores>[1]): StoreGrant => grantStores(owner, intent).grants[0]!;
  const health = () => grant({ op: 'write', domain: 'health' });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'nexus-sql-'));
    vectors = createVectorStores({ root: dir, dimension: DIM, cacheSize: 4, index: { minRows: Number.POSITIVE_INFINITY, textOptimizeRows: 1000, optimizeRows: 5000, nprobes: 20 }, text: TEXT });
    await vectors.upsert(health(), [row('a', 'walk', 1), row('b', 'run', 2), row("it's", "o'clock", 3)]);
  });
  afterAll(async () => {
    await vectors.close();
    await rm(dir, { recursive: true, force: true });
  });

  const query = async (kinds: string[]) =>
    (await vectors.search(health(), { unit: toUnitVector([1, 0, 0, 0], DIM, 'q').unit, text: null, k: 10, filter: { kinds }, withVectors: false })).byVector;
  const textQuery = async (text: string, kinds?: string[]) =>
    (await vectors.search(health(), { unit: null, text, k: 10, filter: kinds ? { kinds } : undefined, withVectors: false })).byText.map((h) => h.record.id).sort();

  it.each(["walk' OR '1'='1", "x') OR 1=1 --", "walk'--", "' OR kind IS NOT NULL OR '"])('matches nothing for the kind %p', async (kind) => {
    expect(await query([kind])).toEqual([]);
  });

  it('matches a quote as a quote', async () => {
    expect((await query(["o'clock"])).map((h) => h.record.id)).toEqual(["it's"]);
  });

  it.each([
    ["x' OR 1=1 --", []],
    ['walk OR NOT run', ['a', 'b']],
    ['"walk" AND "run"', ['a', 'b']],
    ['text:walk', ['a']],
    ['w*', []],
    ['(((', []],
    ['\\', []],
    ["') OR true OR ('", []],
    ['~1 ^2 +run -walk', ['a', 'b']],
    ["clock' --", ["it's"]],
  ])('reads the text query %p as words, never as query syntax', async (text, ids) => {
    expect(await textQuery(text)).toEqual(ids);
  });

  it('filters a text search with a hostile kind as data', async () => {
    expect(await textQuery('walk run', ["walk' OR '1'='1"])).toEqual([]);
    expect(await textQuery('walk run', ['walk'])).toEqual(['a']);
  });

  it.each([["x' OR 1=1 --"], ["a' OR 'a'='a"], ["') OR true OR ('"]])('deletes nothing for the id %p', async (id) => {
    expect(await vectors.remove(health(), [id])).toEqual([]);
    expect(await vectors.count(health())).toBe(3);
  });

  it('deletes an id with a quote exactly', async () => {
    await vectors.upsert(health(), [row("q'1", 'walk', 4)]);
    expect(await vectors.remove(health(), ["q'1"])).toEqual(["q'1"]);
    expect(await vectors.count(health())).toBe(3);
  });

  it('refuses anything that is not a grant, and a read grant for writing', async () => {
    const fake = { store: { scope: 'DOMAIN', tenantId: 'tenant-b', domainKey: 'health' }, write: true, writerSurfaceId: null };
    // A look-alike of a grant, not minted by auth/access, opens nothing.
    await expect(vectors.count(fake as never)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(vectors.upsert(fake as never, [row('z', 'walk', 5)])).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(vectors.search(fake as never, { unit: new Float32Array([1, 0, 0, 0]), text: null, k: 5, withVectors: false })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(vectors.search(fake as never, { unit: null, text: 'walk', k: 5, withVectors: false })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(vectors.upsert(grant({ op: 'read', domains: ['health'] }), [row('z', 'walk', 5)])).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(() => grantStores(owner, { op: 'read', includeSurface: true })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));

    expect(await vectors.count(health())).toBe(3);
  });
});
