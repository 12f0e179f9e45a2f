// Fused search (the God View): every requested store is searched concurrently,
// once per request for the same query, and the per-store lists are merged.
import { createHash } from 'node:crypto';
import DataLoader from 'dataloader';
import type { StoreGrant } from '../auth/access.js';
import { storeKey } from '../vectors/layout.js';
import type { ScoredRecord, SearchQuery, VectorStores } from '../vectors/store.js';

export type Fusion = 'DISTANCE' | 'RRF';

export interface FusedHit extends ScoredRecord {
  score: number;
}

export const RRF_K = 60;

interface StoreSearch {
  grant: StoreGrant;
  query: SearchQuery;
}

function cacheKey({ grant, query }: StoreSearch): string {
  const vector = createHash('sha1').update(Buffer.from(query.unit.buffer, query.unit.byteOffset, query.unit.byteLength)).digest('base64');
  return JSON.stringify([storeKey(grant.store), query.k, query.filter ?? null, query.withVectors, vector]);
}

/** Per-request loader: the same store and query asked by several fields runs once. */
export function createStoreSearchLoader(vectors: VectorStores) {
  return new DataLoader<StoreSearch, ScoredRecord[], string>(
    (searches) => Promise.all(searches.map((s) => vectors.search(s.grant, s.query))),
    { cacheKeyFn: cacheKey },
  );
}

export type StoreSearchLoader = ReturnType<typeof createStoreSearchLoader>;

/** Merges per-store result lists into one ranked list of at most k hits. */
export function fuse(lists: readonly ScoredRecord[][], k: number, fusion: Fusion): FusedHit[] {
  if (fusion === 'DISTANCE') {
    // Each list is that store's exact top-k, so the top-k of their union is the top-k of all stores together.
    return lists
      .flat()
      .sort((a, b) => a.distance - b.distance)
      .slice(0, k)
      .map((h) => ({ ...h, score: 1 - h.distance }));
  }
  // Reciprocal rank fusion: a record lives in exactly one store, so its score is 1/(60 + its rank there).
  return lists
    .flatMap((list) => list.map((h, i) => ({ ...h, score: 1 / (RRF_K + i + 1) })))
    .sort((a, b) => b.score - a.score || a.distance - b.distance)
    .slice(0, k);
}

export async function fusedSearch(loader: StoreSearchLoader, grants: readonly StoreGrant[], query: SearchQuery, fusion: Fusion): Promise<FusedHit[]> {
  const lists = await Promise.all(grants.map((grant) => loader.load({ grant, query })));
  return fuse(lists, query.k, fusion);
}
