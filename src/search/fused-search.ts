// Fused search (the God View): every requested store is searched concurrently, once per request for the same
// query, and the per-store rankings (by vector, by text, or both) become one list.
import { createHash } from 'node:crypto';
import DataLoader from 'dataloader';
import type { StoreGrant } from '../auth/access.js';
import { storeKey } from '../vectors/layout.js';
import type { ScoredRecord, SearchQuery, StoreHits, VectorStores } from '../vectors/store.js';

export type Fusion = 'DISTANCE' | 'RRF';

export interface FusedHit {
  record: ScoredRecord['record'];
  /** Cosine distance to the query vector; null for a text-only search, or a record without a vector. */
  distance: number | null;
  score: number;
}

export const RRF_K = 60;

/** Candidates each store gives per ranking of a hybrid search: enough for the two rankings to meet. */
export const HYBRID_CANDIDATES = 50;

interface StoreSearch {
  grant: StoreGrant;
  query: SearchQuery;
}

function cacheKey({ grant, query }: StoreSearch): string {
  const vector = query.unit ? createHash('sha1').update(Buffer.from(query.unit.buffer, query.unit.byteOffset, query.unit.byteLength)).digest('base64') : null;
  return JSON.stringify([storeKey(grant.store), query.k, query.filter ?? null, query.withVectors, vector, query.text]);
}

/** Per-request loader: the same store and query asked by several fields runs once. */
export function createStoreSearchLoader(vectors: VectorStores) {
  return new DataLoader<StoreSearch, StoreHits, string>((searches) => Promise.all(searches.map((s) => vectors.search(s.grant, s.query))), { cacheKeyFn: cacheKey });
}

export type StoreSearchLoader = ReturnType<typeof createStoreSearchLoader>;

/** A store's hits, each tagged with its store so that records of different stores never merge. */
interface Tagged extends ScoredRecord {
  key: string;
}

const byDistance = (a: ScoredRecord, b: ScoredRecord) => (a.distance ?? 2) - (b.distance ?? 2);
const byTextScore = (a: ScoredRecord, b: ScoredRecord) => (b.textScore ?? 0) - (a.textScore ?? 0);

/** Reciprocal rank fusion of rankings: each hit scores Σ 1/(60 + its rank in each ranking it is in), best first. */
function reciprocalRank(rankings: readonly Tagged[][]): { hit: Tagged; score: number }[] {
  const fused = new Map<string, { hit: Tagged; score: number }>();
  for (const ranking of rankings) {
    ranking.forEach((hit, i) => {
      const id = `${hit.key}\u0000${hit.record.id}`;
      const entry = fused.get(id);
      if (entry) {
        entry.score += 1 / (RRF_K + i + 1);
        // The vector ranking knows the distance; the text ranking may have computed it too.
        entry.hit = entry.hit.distance === null ? { ...entry.hit, distance: hit.distance } : entry.hit;
      } else fused.set(id, { hit, score: 1 / (RRF_K + i + 1) });
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score || byDistance(a.hit, b.hit));
}

/** One store's hybrid ranking: RRF of its vector and text rankings. */
function hybridRanking(hits: StoreHits, key: string): Tagged[] {
  const tag = (h: ScoredRecord): Tagged => ({ ...h, key });
  return reciprocalRank([hits.byVector.map(tag), hits.byText.map(tag)]).map(({ hit }) => hit);
}

const toHit = (h: ScoredRecord, score: number): FusedHit => ({ record: h.record, distance: h.distance, score });

/**
 * Merges per-store answers into one ranked list of at most k hits.
 * - DISTANCE, as if the stores were one table: by vector, nearest first (score 1 − distance); by text, best BM25
 *   first (score the BM25 score); hybrid, RRF of the vector ranking and the text ranking of all stores together.
 * - RRF: each store ranks its own hits (hybrid: RRF of its two rankings), and a hit scores 1/(60 + that rank).
 */
export function fuse(answers: readonly StoreHits[], keys: readonly string[], k: number, fusion: Fusion, mode: 'vector' | 'text' | 'hybrid'): FusedHit[] {
  const tagged = (pick: (a: StoreHits) => ScoredRecord[]) => answers.map((a, i) => pick(a).map((h): Tagged => ({ ...h, key: keys[i] as string })));
  if (fusion === 'RRF') {
    const rankings = mode === 'hybrid' ? answers.map((a, i) => hybridRanking(a, keys[i] as string)) : tagged(mode === 'vector' ? (a) => a.byVector : (a) => a.byText);
    return rankings
      .flatMap((ranking) => ranking.map((h, i) => ({ h, score: 1 / (RRF_K + i + 1) })))
      .sort((a, b) => b.score - a.score || byDistance(a.h, b.h))
      .slice(0, k)
      .map(({ h, score }) => toHit(h, score));
  }
  if (mode === 'vector') {
    // Each list is that store's exact top-k, so the top-k of their union is the top-k of all stores together.
    return tagged((a) => a.byVector).flat().sort(byDistance).slice(0, k).map((h) => toHit(h, 1 - (h.distance ?? 1)));
  }
  if (mode === 'text') {
    return tagged((a) => a.byText).flat().sort(byTextScore).slice(0, k).map((h) => toHit(h, h.textScore ?? 0));
  }
  const vectorRanking = tagged((a) => a.byVector).flat().sort(byDistance);
  const textRanking = tagged((a) => a.byText).flat().sort(byTextScore);
  return reciprocalRank([vectorRanking, textRanking])
    .slice(0, k)
    .map(({ hit, score }) => toHit(hit, score));
}

export function searchMode(query: SearchQuery): 'vector' | 'text' | 'hybrid' {
  if (query.unit && query.text !== null) return 'hybrid';
  return query.unit ? 'vector' : 'text';
}

export async function fusedSearch(loader: StoreSearchLoader, grants: readonly StoreGrant[], query: SearchQuery, k: number, fusion: Fusion): Promise<FusedHit[]> {
  const answers = await Promise.all(grants.map((grant) => loader.load({ grant, query })));
  return fuse(
    answers,
    grants.map((g) => storeKey(g.store)),
    k,
    fusion,
    searchMode(query),
  );
}
