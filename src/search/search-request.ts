// Turns a search input into a validated query: a vector of the right size, text, or both (hybrid); k in range;
// a safe filter. Text the server embeds arrives here as the vector it became.
import { BadUserInputError } from '../errors.js';
import { assertCleanText } from '../text.js';
import { assertKind, inputVector, toUnitVector } from '../vectors/records.js';
import type { SearchQuery } from '../vectors/store.js';
import { HYBRID_CANDIDATES } from './fused-search.js';

export const MAX_K = 1000;
export const MAX_QUERY_TEXT_BYTES = 4096;

export interface FilterInput {
  kinds?: readonly string[] | null;
  occurredAfter?: Date | null;
  occurredBefore?: Date | null;
}

export interface SearchInputLike {
  vector?: readonly number[] | null;
  vectorBase64?: string | null;
  text?: string | null;
  k?: number | null;
  filter?: FilterInput | null;
}

export interface SearchPlan {
  /** What each store is asked: k, or more candidates per ranking for a hybrid search. */
  query: SearchQuery;
  /** Hits answered at most. */
  k: number;
}

/** The query text, checked; null when none was given. */
export function queryText(input: SearchInputLike): string | null {
  const text = input.text;
  if (text == null) return null;
  if (Buffer.byteLength(text, 'utf8') > MAX_QUERY_TEXT_BYTES) throw new BadUserInputError(`text must be at most ${MAX_QUERY_TEXT_BYTES} bytes of UTF-8`, 'text');
  assertCleanText(text, 'text', { lines: true });
  if (text.trim() === '') throw new BadUserInputError('text must not be blank', 'text');
  return text;
}

/**
 * The plan of a search. `embedded` is the vector the server's embedder made of the text, when it has one and the
 * input gave no vector: the search is then hybrid.
 */
export function toSearchQuery(input: SearchInputLike, dimension: number, withVectors: boolean, embedded?: ArrayLike<number>): SearchPlan {
  const k = input.k ?? 10;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new BadUserInputError(`k must be from 1 to ${MAX_K}`, 'k');
  const text = queryText(input);
  const given = inputVector(input, dimension);
  if (given == null && text === null) throw new BadUserInputError('give a vector (or vectorBase64), text, or both', 'vector');
  const vector = given ?? embedded ?? null;
  const unit = vector == null ? null : toUnitVector(vector, dimension, given == null ? 'text' : input.vectorBase64 != null ? 'vectorBase64' : 'vector').unit;
  const f = input.filter;
  if (f?.kinds && f.kinds.length > 100) throw new BadUserInputError('filter.kinds takes at most 100 kinds', 'filter.kinds');
  const filter = f
    ? {
        kinds: f.kinds ? f.kinds.map((kind) => assertKind(kind, 'filter.kinds')) : null,
        occurredAfter: f.occurredAfter ? f.occurredAfter.getTime() : null,
        occurredBefore: f.occurredBefore ? f.occurredBefore.getTime() : null,
      }
    : undefined;
  const hybrid = unit !== null && text !== null;
  return { query: { unit, text, k: hybrid ? Math.max(k, HYBRID_CANDIDATES) : k, filter, withVectors }, k };
}
