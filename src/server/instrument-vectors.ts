// The vector stores as the rest of the server sees them when metrics are on: the same object, each search timed
// per store kind (DOMAIN, SURFACE, GLOBAL). Nothing else changes.
import type { VectorStores } from '../vectors/store.js';
import type { NexusMetrics } from './metrics.js';

export function instrumentVectorStores(vectors: VectorStores, metrics: Pick<NexusMetrics, 'search'>): VectorStores {
  return {
    ...vectors,
    async search(grant, query) {
      const started = performance.now();
      try {
        return await vectors.search(grant, query);
      } finally {
        metrics.search(grant.store.scope, (performance.now() - started) / 1000);
      }
    },
  };
}
