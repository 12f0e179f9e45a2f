// Text as a first-class memory, through the public API: records with text alone, BM25 search, hybrid search, the
// full-text index lifecycle, and the language settings. On both control-plane backends, on local disk and on the
// S3 test server. (The OpenAI-compatible embedder has its own suite: embedder.test.ts.)
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as lancedb from '@lancedb/lancedb';
import { createRequire } from 'node:module';
import { addSurface, signUpTenant, type TestTenant } from '../helpers/fixtures.js';
import { backends, codes, startNexus, type Backend, type TestNexus } from '../helpers/nexus.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { gaussian, randomUnitVector, seeded } from '../helpers/vectors.js';

const DIM = 8;
const REMEMBER = `mutation($input: RememberInput!) { remember(input: $input) { records { id hasVector vector } } }`;
const SEARCH = `query($input: SearchInput!) { search(input: $input) { hits { distance score record { id text hasVector domain { key } } } } }`;
const DOMAIN_SEARCH = `query($d: String!, $input: DomainSearchInput!) { domain(key: $d) { search(input: $input) { distance score record { id } } } }`;

type Hit = { distance: number | null; score: number; record: { id: string; text: string | null; hasVector: boolean; domain: { key: string } | null } };

const PLACES: [Backend, 'local' | 's3'][] = [];
for (const backend of await backends()) PLACES.push([backend, 'local']);
// The S3 test server with the server backend: how a deployment of several gateways stores its memories.
PLACES.push([PLACES.some(([b]) => b === 'postgresql') ? 'postgresql' : 'pglite', 's3']);

const unit = (i: number) => Array.from({ length: DIM }, (_, j) => (j === i % DIM ? 1 : 0));

describe.each(PLACES)('text memories (%s, %s storage)', (backend, storage) => {
  let nexus: TestNexus;
  let s3: S3TestServer | undefined;
  let t: TestTenant;

  beforeAll(async () => {
    const env: Record<string, string> = { NEXUS_TEXT_OPTIMIZE_ROWS: '40' };
    if (storage === 's3') {
      s3 = await startS3Server();
      Object.assign(env, {
        NEXUS_STORAGE_URI: 's3://nexus/text',
        AWS_ENDPOINT_URL: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: s3.region,
      });
    }
    nexus = await startNexus({ backend, env });
    t = await signUpTenant(nexus);
  });
  afterAll(async () => {
    await nexus?.close();
    await s3?.stop();
  });

  const remember = async (domain: string, records: Record<string, unknown>[], token = t.ownerToken) => {
    const res = await nexus.gql(REMEMBER, { input: { domain, records } }, token);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.remember.records as { id: string; hasVector: boolean; vector: number[] }[];
  };
  const search = async (input: Record<string, unknown>, token = t.ownerToken): Promise<Hit[]> => {
    const res = await nexus.gql(SEARCH, { input }, token);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.search.hits as Hit[];
  };
  const ids = (hits: Hit[]) => hits.map((h) => h.record.id);

  it('keeps text without a vector as a memory found by text, and never by vector search', async () => {
    const written = await remember('health', [
      { id: 'legs', kind: 'note', text: 'Heavy leg day at the gym' },
      { id: 'swim', kind: 'workout', text: 'easy recovery swim', vector: unit(0) },
    ]);
    expect(written.map((r) => [r.id, r.hasVector, r.vector.length])).toEqual([
      ['legs', false, 0],
      ['swim', true, DIM],
    ]);

    const byText = await search({ text: 'leg day', domains: ['health'] });
    expect(ids(byText)).toEqual(['legs']);
    expect(byText[0]).toMatchObject({ distance: null, record: { hasVector: false, text: 'Heavy leg day at the gym', domain: { key: 'health' } } });
    expect(byText[0]!.score).toBeGreaterThan(0);
    // Records with vectors are text-searchable too.
    expect(ids(await search({ text: 'swim', domains: ['health'] }))).toEqual(['swim']);

    // Every vector in every direction: the text-only record is never a vector hit.
    for (let i = 0; i < DIM; i++) {
      const hits = await search({ vector: unit(i).map((x) => (x === 0 ? -1 : 1)), k: 1000, domains: ['health'] });
      expect(ids(hits)).toEqual(['swim']);
    }
    const single = await nexus.gql(DOMAIN_SEARCH, { d: 'health', input: { vector: unit(3), k: 1000 } }, t.ownerToken);
    expect(single.data?.domain.search.map((h: Hit) => h.record.id)).toEqual(['swim']);
  });

  it('ranks the record holding the exact phrase first, written a moment ago or long indexed', async () => {
    const texts: Record<string, string> = {
      phrase: 'Heavy leg day at the gym',
      repeated: 'leg day, leg day: heavy, heavy',
      scattered: 'the day was heavy with rain, then a leg cramp',
      reversed: 'day leg heavy',
      unrelated: 'quarterly invoice for the studio',
    };
    const records = Object.entries(texts).map(([id, text]) => ({ id, kind: 'note', text }));
    await remember('business', records);
    const first = await search({ text: 'heavy leg day', domains: ['business'] });
    expect(ids(first)[0]).toBe('phrase');
    expect(ids(first)).not.toContain('unrelated');
    // Best first: scores never rise down the list.
    expect(first.map((h) => h.score)).toEqual([...first.map((h) => h.score)].sort((a, b) => b - a));

    // Enough rows to pass NEXUS_TEXT_OPTIMIZE_ROWS (40): the lifecycle folds them into the full-text index.
    await remember('business', Array.from({ length: 60 }, (_, i) => ({ id: `filler-${i}`, kind: 'note', text: `filler note number ${i} about the week` })));
    await nexus.server.services.vectors.indexIdle();
    if (storage === 'local') expect(await unindexedTextRows(nexus, t.tenantId, 'business')).toBe(0);
    // Written after the fold: outside the index, found beside it.
    await remember('business', [{ id: 'late', kind: 'note', text: 'late heavy leg day session' }]);
    const again = await search({ text: 'heavy leg day', domains: ['business'], k: 10 });
    expect(ids(again)[0]).toBe('phrase');
    expect(ids(again)).toContain('late');
    expect(ids(await search({ text: 'filler week', domains: ['business'], k: 100 }))).toHaveLength(60);
  });

  it('folds case, accents and word endings, and survives any script', async () => {
    await remember('finance', [
      { id: 'cafe', kind: 'receipt', text: 'Café crème and a brûlée' },
      { id: 'runs', kind: 'note', text: 'She runs every morning' },
      { id: 'cjk', kind: 'note', text: '今日は足の日でした' },
      { id: 'emoji', kind: 'note', text: '🏋️ deadlift 💪 personal best' },
    ]);
    expect(ids(await search({ text: 'CAFE CREME', domains: ['finance'] }))).toEqual(['cafe']);
    expect(ids(await search({ text: 'running', domains: ['finance'] }))).toEqual(['runs']);
    expect(ids(await search({ text: 'deadlift', domains: ['finance'] }))).toEqual(['emoji']);
    // The default tokenizer splits at spaces and punctuation: a run of kanji is one word. It answers, and finds
    // the whole run (the ngram tokenizer finds pieces; see the language settings below).
    expect(ids(await search({ text: '今日は足の日でした', domains: ['finance'] }))).toEqual(['cjk']);
    expect(await search({ text: '💪 🏋️', domains: ['finance'] })).toEqual([]);
    // Stop words alone match nothing, and are no error.
    expect(await search({ text: 'the and a', domains: ['finance'] })).toEqual([]);
  });

  it('finds a word every new record holds, and one repeated in the only record', async () => {
    // LanceDB's flat BM25 beside the index drops both: text search folds new rows into the index first.
    const fresh = await signUpTenant(nexus, ['health']);
    await nexus.gql(REMEMBER, { input: { domain: 'health', records: [{ id: 'only', kind: 'n', text: 'run run run' }] } }, fresh.ownerToken);
    expect(ids(await search({ text: 'run' }, fresh.ownerToken))).toEqual(['only']);
    const more = ['easy run', 'long run', 'hill run'].map((text, i) => ({ id: `r${i}`, kind: 'n', text }));
    await nexus.gql(REMEMBER, { input: { domain: 'health', records: more } }, fresh.ownerToken);
    expect(ids(await search({ text: 'run' }, fresh.ownerToken)).sort()).toEqual(['only', 'r0', 'r1', 'r2']);
  });

  it('filters text searches like vector searches', async () => {
    await remember('health', [
      { id: 'old-run', kind: 'run', text: 'tempo run in the park', occurredAt: '2026-01-01T00:00:00Z' },
      { id: 'new-run', kind: 'run', text: 'long run in the park', occurredAt: '2026-06-01T00:00:00Z' },
      { id: 'park-walk', kind: 'walk', text: 'walk in the park', occurredAt: '2026-06-02T00:00:00Z' },
    ]);
    expect(ids(await search({ text: 'park', domains: ['health'], filter: { kinds: ['run'] } })).sort()).toEqual(['new-run', 'old-run']);
    expect(ids(await search({ text: 'park', domains: ['health'], filter: { occurredAfter: '2026-05-01T00:00:00Z' } })).sort()).toEqual(['new-run', 'park-walk']);
    expect(await search({ text: 'park', domains: ['health'], filter: { kinds: [] } })).toEqual([]);
    expect(ids(await search({ text: 'park', domains: ['health'], k: 1 }))).toHaveLength(1);
  });

  it('fuses text rankings across stores: by BM25 score, or by rank in each store (RRF)', async () => {
    const sleepy = await signUpTenant(nexus, ['health', 'sleep']);
    const put = (domain: string, records: Record<string, unknown>[]) => nexus.gql(REMEMBER, { input: { domain, records } }, sleepy.ownerToken);
    await put('health', [
      { id: 'h1', kind: 'n', text: 'nap nap nap' },
      { id: 'h2', kind: 'n', text: 'nap nap after lunch' },
      { id: 'h3', kind: 'n', text: 'a nap after a long run' },
    ]);
    await put('sleep', [{ id: 's1', kind: 'n', text: 'short nap, then a long night of deep sleep with dreams and waking' }]);
    const distance = await search({ text: 'nap', k: 4 }, sleepy.ownerToken);
    expect(distance).toHaveLength(4);
    expect(distance.every((h) => h.distance === null)).toBe(true);
    expect(distance.map((h) => h.score)).toEqual([...distance.map((h) => h.score)].sort((a, b) => b - a));
    const rrf = await search({ text: 'nap', k: 2, fusion: 'RRF' }, sleepy.ownerToken);
    // Each store's best hit ranks first in its store: both stores lead.
    expect(rrf.map((h) => h.record.domain?.key).sort()).toEqual(['health', 'sleep']);
    expect(rrf.every((h) => Math.abs(h.score - 1 / 61) < 1e-12)).toBe(true);
  });

  it('ranks hybrid searches better than either ranking alone on a labelled set', async () => {
    const labelled = await signUpTenant(nexus, ['library']);
    const { records, queries } = labelledSet();
    for (let i = 0; i < records.length; i += 100) {
      const res = await nexus.gql(REMEMBER, { input: { domain: 'library', records: records.slice(i, i + 100) } }, labelled.ownerToken);
      expect(res.errors).toBeUndefined();
    }
    const recallAt5 = async (mode: 'vector' | 'text' | 'hybrid') => {
      let found = 0;
      let relevant = 0;
      for (const q of queries) {
        const input = { k: 5, domains: ['library'], ...(mode !== 'text' ? { vector: q.vector } : {}), ...(mode !== 'vector' ? { text: q.text } : {}) };
        const hits = ids(await search(input, labelled.ownerToken));
        const wanted = q.relevant.slice(0, 5);
        found += wanted.filter((id) => hits.includes(id)).length;
        relevant += wanted.length;
      }
      return found / relevant;
    };
    const recall = { vector: await recallAt5('vector'), text: await recallAt5('text'), hybrid: await recallAt5('hybrid') };
    console.log(`labelled set (${records.length} records, ${queries.length} queries, ${backend}/${storage}): recall@5 vector ${recall.vector.toFixed(3)}, text ${recall.text.toFixed(3)}, hybrid ${recall.hybrid.toFixed(3)}`);
    expect(recall.hybrid).toBeGreaterThanOrEqual(0.9);
    expect(recall.hybrid).toBeGreaterThan(recall.vector + 0.2);
    expect(recall.hybrid).toBeGreaterThan(recall.text + 0.2);

    // Hybrid hits carry the cosine distance of records that have a vector, and a hybrid score (at most 2/61).
    const q = queries[0]!;
    const hits = await search({ k: 5, domains: ['library'], vector: q.vector, text: q.text }, labelled.ownerToken);
    expect(hits.every((h) => h.distance !== null && h.distance >= 0 && h.distance <= 2)).toBe(true);
    expect(hits.every((h) => h.score > 0 && h.score <= 2 / 61 + 1e-12)).toBe(true);
  });

  it('gives a surface text search over exactly the stores it may read', async () => {
    const owner = await signUpTenant(nexus);
    const vo2 = await addSurface(nexus, owner.ownerToken, { key: 'vo2', homeDomain: 'health' });
    const sleep = await addSurface(nexus, owner.ownerToken, { key: 'sleep', homeDomain: 'business', mounts: [{ domain: 'health', access: 'READ' }] });
    await remember('health', [{ id: 'h', kind: 'n', text: 'secret heavy squat' }], owner.ownerToken);
    await remember('finance', [{ id: 'f', kind: 'n', text: 'secret heavy invoice' }], owner.ownerToken);
    expect(ids(await search({ text: 'secret heavy' }, sleep.token))).toEqual(['h']);
    expect(ids(await search({ text: 'secret heavy' }, vo2.token))).toEqual(['h']);
    const denied = await nexus.gql(SEARCH, { input: { text: 'secret', domains: ['finance'] } }, vo2.token);
    expect(codes(denied)).toEqual(['FORBIDDEN']);
    const single = await nexus.gql(DOMAIN_SEARCH, { d: 'finance', input: { text: 'secret' } }, sleep.token);
    expect(codes(single)).toEqual(['FORBIDDEN']);
    // Another tenant's words are not in this tenant's answers.
    expect(await search({ text: 'secret squat' }, t.ownerToken)).toEqual([]);
  });
});

describe('language settings', () => {
  const texts = [
    { id: 'runs', kind: 'n', text: 'she runs every morning' },
    { id: 'the', kind: 'n', text: 'the who played' },
    { id: 'cjk', kind: 'n', text: '今日は足の日でした' },
    { id: 'fr', kind: 'n', text: 'les chevaux mangeaient' },
  ];
  const found = async (nexus: TestNexus, token: string, text: string) =>
    ((await nexus.gql(SEARCH, { input: { text, domains: ['health'] } }, token)).data?.search.hits ?? []).map((h: Hit) => h.record.id);

  it('stems and drops stop words only when told to, and says so in serverInfo', async () => {
    const nexus = await startNexus({ env: { NEXUS_TEXT_STEM: 'false', NEXUS_TEXT_STOP_WORDS: 'false' } });
    try {
      const t = await signUpTenant(nexus);
      await nexus.gql(REMEMBER, { input: { domain: 'health', records: texts } }, t.ownerToken);
      expect(await found(nexus, t.ownerToken, 'running')).toEqual([]);
      expect(await found(nexus, t.ownerToken, 'runs')).toEqual(['runs']);
      expect(await found(nexus, t.ownerToken, 'the')).toEqual(['the']);
      const info = await nexus.gql('{ serverInfo { embedder { provider model creditsPerEmbedding } textSearch { language stemming stopWords tokenizer } } }');
      expect(info.data?.serverInfo).toEqual({
        embedder: { provider: 'none', model: null, creditsPerEmbedding: '0' },
        textSearch: { language: 'English', stemming: false, stopWords: false, tokenizer: 'simple' },
      });
    } finally {
      await nexus.close();
    }
  });

  it('finds pieces of text written without spaces with the ngram tokenizer, and stems French', async () => {
    const ngram = await startNexus({ env: { NEXUS_TEXT_TOKENIZER: 'ngram' } });
    try {
      const t = await signUpTenant(ngram);
      await ngram.gql(REMEMBER, { input: { domain: 'health', records: texts } }, t.ownerToken);
      expect(await found(ngram, t.ownerToken, '足の日')).toEqual(['cjk']);
    } finally {
      await ngram.close();
    }
    const french = await startNexus({ env: { NEXUS_TEXT_LANGUAGE: 'French' } });
    try {
      const t = await signUpTenant(french);
      await french.gql(REMEMBER, { input: { domain: 'health', records: texts } }, t.ownerToken);
      expect(await found(french, t.ownerToken, 'cheval mangeait')).toEqual(['fr']);
    } finally {
      await french.close();
    }
  });

  it('rebuilds existing stores\' full-text indexes when the settings change', async () => {
    const first = await startNexus();
    const dataDir = first.dataDir;
    const t = await signUpTenant(first);
    await first.gql(REMEMBER, { input: { domain: 'health', records: texts } }, t.ownerToken);
    expect(await found(first, t.ownerToken, 'running')).toEqual(['runs']);
    await first.server.close();
    // The same data, now without stemming: the store's index is rebuilt with the new settings once it is opened.
    const second = await startNexus({ env: { NEXUS_DATA_DIR: dataDir, NEXUS_TEXT_STEM: 'false' } });
    try {
      await found(second, t.ownerToken, 'runs');
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await second.server.services.vectors.indexIdle();
      expect(await found(second, t.ownerToken, 'running')).toEqual([]);
      expect(await found(second, t.ownerToken, 'runs')).toEqual(['runs']);
    } finally {
      await second.close();
    }
  });
});

describe('a store past the size its writes keep indexed', () => {
  it('finds rows written since the last fold, beside the index', async () => {
    const nexus = await startNexus({ env: { NEXUS_TEXT_OPTIMIZE_ROWS: '1000000' } });
    try {
      const t = await signUpTenant(nexus, ['health']);
      const words = ['tempo', 'hill', 'easy', 'long', 'track', 'trail', 'recovery', 'interval', 'sprint', 'fartlek'];
      for (let batch = 0; batch < 6; batch++) {
        const records = Array.from({ length: 1000 }, (_, i) => ({ kind: 'n', text: `${words[i % 10]} ${words[(i * 7 + batch) % 10]} session ${batch}-${i}` }));
        expect((await nexus.gql(REMEMBER, { input: { domain: 'health', records } }, t.ownerToken)).errors).toBeUndefined();
      }
      await nexus.server.services.vectors.indexIdle();
      await nexus.gql(REMEMBER, { input: { domain: 'health', records: ['zeppelin ride', 'zeppelin tour', 'a zeppelin hill session'].map((text, i) => ({ id: `z${i}`, kind: 'n', text })) } }, t.ownerToken);
      // Past the size a write keeps covered: the last batch and the three new rows are outside the index.
      expect(await unindexedTextRows(nexus, t.tenantId, 'health')).toBe(1003);
      const found = ((await nexus.gql(SEARCH, { input: { text: 'zeppelin', k: 10, domains: ['health'] } }, t.ownerToken)).data?.search.hits ?? []).map((h: Hit) => h.record.id);
      expect(found.sort()).toEqual(['z0', 'z1', 'z2']);
      const phrase = ((await nexus.gql(SEARCH, { input: { text: 'zeppelin hill session', k: 3, domains: ['health'] } }, t.ownerToken)).data?.search.hits ?? []).map((h: Hit) => h.record.id);
      expect(phrase[0]).toBe('z2');
    } finally {
      await nexus.close();
    }
  });
});

describe('stores made before text-only records and full-text indexes', () => {
  it('takes text-only records and text searches, indexing the old table on first use', async () => {
    const nexus = await startNexus();
    try {
      const t = await signUpTenant(nexus);
      // A store table as earlier versions wrote it: a non-null vector column and no full-text index.
      const require = createRequire(import.meta.url);
      const arrow = require('apache-arrow');
      const schema = new arrow.Schema([
        new arrow.Field('id', new arrow.Utf8(), false),
        new arrow.Field('kind', new arrow.Utf8(), false),
        new arrow.Field('text', new arrow.Utf8(), true),
        new arrow.Field('metadata', new arrow.Utf8(), true),
        new arrow.Field('occurred_at', new arrow.Int64(), false),
        new arrow.Field('created_at', new arrow.Int64(), false),
        new arrow.Field('writer', new arrow.Utf8(), true),
        new arrow.Field('norm', new arrow.Float64(), false),
        new arrow.Field('vector', new arrow.FixedSizeList(DIM, new arrow.Field('item', new arrow.Float32(), true)), false),
      ]);
      const db = await lancedb.connect(path.join(nexus.dataDir, 'vectors', t.tenantId, 'domains', 'health'));
      const old = await db.createEmptyTable('vectors', schema);
      await old.add([{ id: 'old', kind: 'n', text: 'an old heavy session', metadata: null, occurred_at: 1n, created_at: 1n, writer: null, norm: 1, vector: unit(1) }]);
      expect((await old.listIndices()).length).toBe(0);

      expect(codes(await nexus.gql(REMEMBER, { input: { domain: 'health', records: [{ id: 'new', kind: 'n', text: 'a new heavy session' }] } }, t.ownerToken))).toEqual([]);
      expect(((await nexus.gql(SEARCH, { input: { text: 'heavy session', domains: ['health'] } }, t.ownerToken)).data?.search.hits ?? []).map((h: Hit) => h.record.id).sort()).toEqual(['new', 'old']);
      expect(((await nexus.gql(SEARCH, { input: { vector: unit(1), k: 10, domains: ['health'] } }, t.ownerToken)).data?.search.hits ?? []).map((h: Hit) => h.record.id)).toEqual(['old']);
    } finally {
      await nexus.close();
    }
  });
});

/** Rows of a local store outside its full-text index. */
async function unindexedTextRows(nexus: TestNexus, tenantId: string, domain: string): Promise<number> {
  const db = await lancedb.connect(path.join(nexus.dataDir, 'vectors', tenantId, 'domains', domain));
  const table = await db.openTable('vectors');
  const text = (await table.listIndices()).find((i) => i.name.startsWith('text_fts_'));
  if (!text) throw new Error('the store has no full-text index');
  return (await table.indexStats(text.name))?.numUnindexedRows ?? -1;
}

/**
 * A small labelled set where each signal alone is ambiguous: 8 topics (a direction each, records near it) × 8 tags
 * (a word each, shared by every topic). A query names one topic (its direction) and one tag (its word); the
 * relevant records are those of that topic with that tag. The vector ranks a topic's 16 records alike; the word
 * ranks a tag's 16 records (2 per topic) alike; only both together single out the 2 relevant ones.
 */
function labelledSet() {
  const rand = seeded(7);
  const TOPICS = 8;
  const TAGS = ['granite', 'velvet', 'saffron', 'cobalt', 'juniper', 'marble', 'ember', 'willow'];
  const FILLER = ['note', 'entry', 'log', 'memo', 'item', 'record', 'page', 'line', 'draft', 'card'];
  const centroids = Array.from({ length: TOPICS }, () => randomUnitVector(rand, DIM));
  const near = (c: Float32Array, spread: number) => Array.from(c, (x) => x + spread * gaussian(rand));
  const records: Record<string, unknown>[] = [];
  const relevant = new Map<string, string[]>();
  for (let topic = 0; topic < TOPICS; topic++) {
    for (let tag = 0; tag < TAGS.length; tag++) {
      for (let copy = 0; copy < 2; copy++) {
        const id = `t${topic}-${TAGS[tag]}-${copy}`;
        const filler = Array.from({ length: 4 }, () => FILLER[Math.floor(rand() * FILLER.length)]).join(' ');
        records.push({ id, kind: 'doc', text: `${TAGS[tag]} ${filler}`, vector: near(centroids[topic]!, 0.08) });
        relevant.set(`${topic}/${tag}`, [...(relevant.get(`${topic}/${tag}`) ?? []), id]);
      }
    }
  }
  const queries = Array.from({ length: 24 }, (_, i) => {
    const topic = i % TOPICS;
    const tag = (i * 3 + 1) % TAGS.length;
    return { vector: near(centroids[topic]!, 0.02), text: TAGS[tag]!, relevant: relevant.get(`${topic}/${tag}`)! };
  });
  return { records, queries };
}
