// The Arrow schema of every `vectors` table and the columns a search reads. Vectors are stored
// unit-length with their norm beside them, so dot distance is cosine distance and the input comes back exact.
import type { Schema } from 'apache-arrow';
import { arrow } from './arrow.js';

const { Field, FixedSizeList, Float32, Float64, Int64, Utf8 } = arrow;

export function tableSchema(dimension: number): Schema {
  return new arrow.Schema([
    new Field('id', new Utf8(), false),
    new Field('kind', new Utf8(), false),
    new Field('text', new Utf8(), true),
    new Field('metadata', new Utf8(), true),
    new Field('occurred_at', new Int64(), false),
    new Field('created_at', new Int64(), false),
    new Field('writer', new Utf8(), true),
    new Field('norm', new Float64(), false),
    // Null for a text-only record: vector search skips it, full-text search finds it.
    new Field('vector', new FixedSizeList(dimension, new Field('item', new Float32(), true)), true),
  ]);
}

const BASE_COLUMNS = ['id', 'kind', 'text', 'metadata', 'occurred_at', 'created_at', 'writer', 'norm'];

/**
 * The columns a search selects: the vector only when the query asks for it (it is most of the bytes). The score
 * column (_distance of a vector search, _score of a full-text one) is named so LanceDB returns it without a warning.
 */
export function searchColumns(withVectors: boolean, score: '_distance' | '_score' = '_distance'): string[] {
  return withVectors ? [...BASE_COLUMNS, score, 'vector'] : [...BASE_COLUMNS, score];
}
