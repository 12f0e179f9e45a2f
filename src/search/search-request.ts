// Turns a search input into a validated query: one vector of the right size
// (text needs an embedder, none is configured), k in range, a safe filter.
import { BadUserInputError } from '../errors.js';
import { assertKind, inputVector, toUnitVector } from '../vectors/records.js';
import type { SearchQuery } from '../vectors/store.js';

export const MAX_K = 1000;

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

export function toSearchQuery(input: SearchInputLike, dimension: number, withVectors: boolean): SearchQuery {
  const k = input.k ?? 10;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new BadUserInputError(`k must be from 1 to ${MAX_K}`, 'k');
  const vector = inputVector(input, dimension);
  if (vector == null) {
    if (input.text != null) throw new BadUserInputError('search by text needs an embedder and none is configured on this server: pass a vector', 'text');
    throw new BadUserInputError('vector (or vectorBase64) is required', 'vector');
  }
  const { unit } = toUnitVector(vector, dimension, input.vectorBase64 != null ? 'vectorBase64' : 'vector');
  const f = input.filter;
  if (f?.kinds && f.kinds.length > 100) throw new BadUserInputError('filter.kinds takes at most 100 kinds', 'filter.kinds');
  const filter = f
    ? {
        kinds: f.kinds ? f.kinds.map((kind) => assertKind(kind, 'filter.kinds')) : null,
        occurredAfter: f.occurredAfter ? f.occurredAfter.getTime() : null,
        occurredBefore: f.occurredBefore ? f.occurredBefore.getTime() : null,
      }
    : undefined;
  return { unit, k, filter, withVectors };
}
