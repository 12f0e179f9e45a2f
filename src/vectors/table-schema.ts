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
    new Field('vector', new FixedSizeList(dimension, new Field('item', new Float32(), true)), false),
  ]);
}

// _distance is named so LanceDB keeps returning it without a deprecation warning.
const BASE_COLUMNS = ['id', 'kind', 'text', 'metadata', 'occurred_at', 'created_at', 'writer', 'norm', '_distance'];

/** The columns a search selects: the vector only when the query asks for it (it is most of the bytes). */
export function searchColumns(withVectors: boolean): string[] {
  return withVectors ? [...BASE_COLUMNS, 'vector'] : BASE_COLUMNS;
}
