// What a store's indexes cover, read from LanceDB itself (listIndices on the raw table), not from the gateway's own
// report: a benchmark that claims "indexed" says how many rows each index leaves outside it.
import type * as lancedb from '@lancedb/lancedb';
import { VECTOR_INDEX_PREFIX } from '../../src/vectors/indexes.js';
import { TEXT_INDEX_PREFIX } from '../../src/vectors/text-search.js';

export interface Coverage {
  name: string;
  indexed: number;
  unindexed: number;
}

export interface IndexCoverage {
  /** The full-text (BM25) index, null when the table has none. */
  text: Coverage | null;
  /** The IVF vector index, null before the lifecycle built one. */
  vector: Coverage | null;
}

export async function indexCoverage(table: lancedb.Table): Promise<IndexCoverage> {
  const listed = await table.listIndices();
  const coverage = async (prefix: string): Promise<Coverage | null> => {
    const index = listed.find((i) => i.name.startsWith(prefix));
    if (!index) return null;
    if (index.numIndexedRows !== undefined && index.numUnindexedRows !== undefined) return { name: index.name, indexed: index.numIndexedRows, unindexed: index.numUnindexedRows };
    const stats = await table.indexStats(index.name);
    return { name: index.name, indexed: stats?.numIndexedRows ?? 0, unindexed: stats?.numUnindexedRows ?? 0 };
  };
  return { text: await coverage(TEXT_INDEX_PREFIX), vector: await coverage(VECTOR_INDEX_PREFIX) };
}

/** "FTS text_fts_… 100000 indexed, 0 outside; vector vector_ivf_flat_p316 98000 indexed, 2000 flat". */
export function describeCoverage({ text, vector }: IndexCoverage): string {
  const fts = text ? `FTS ${text.name} ${text.indexed} indexed, ${text.unindexed} outside` : 'no FTS index';
  const ivf = vector ? `vector ${vector.name} ${vector.indexed} indexed, ${vector.unindexed} flat` : 'no vector index (flat)';
  return `${fts}; ${ivf}`;
}
