// Mapping between table rows and StoredRecords: the Arrow batch written for prepared records,
// and what a read row means for the store it came from.
import type { Data, FixedSizeList, Float32, Schema, Table, Utf8 } from 'apache-arrow';
import { arrow } from './arrow.js';
import type { StoreRef } from './layout.js';
import type { PreparedRecord, StoredRecord } from './records.js';

// A type alias, not an interface: LanceDB takes rows as plain records.
export type Row = {
  id: string;
  kind: string;
  text: string | null;
  metadata: string | null;
  occurred_at: bigint | number;
  created_at: bigint | number;
  writer: string | null;
  norm: number;
  vector?: ArrayLike<number> | { toArray(): ArrayLike<number> } | null;
  _distance?: number;
  /** A full-text hit's BM25 score. */
  _score?: number;
};

/**
 * The Arrow table of a batch, built column by column: the vector column is the batch's one buffer of unit vectors
 * (records.ts writes them side by side), so nothing is copied number by number.
 */
export function toArrowBatch(
  schema: Schema,
  records: readonly PreparedRecord[],
  writer: string | null | readonly (string | null)[],
  createdAt: number | readonly number[],
): Table {
  const n = records.length;
  const vectorField = schema.fields.find((f) => f.name === 'vector');
  if (!vectorField || !arrow.DataType.isFixedSizeList(vectorField.type)) throw new Error('the table schema has no fixed-size vector column');
  const dimension = (vectorField.type as FixedSizeList).listSize;
  const units = contiguousUnits(records, dimension);
  const column = (name: string): Data => {
    switch (name) {
      case 'id':
        return strings(records.map((r) => r.id));
      case 'kind':
        return strings(records.map((r) => r.kind));
      case 'text':
        return strings(records.map((r) => r.text));
      case 'metadata':
        return strings(records.map((r) => r.metadata));
      case 'occurred_at':
        return arrow.makeData({ type: new arrow.Int64(), length: n, nullCount: 0, data: BigInt64Array.from(records, (r) => BigInt(r.occurredAt)) });
      case 'created_at':
        // One time and one writer for a write; each record's own for a restore (tenant:import), given per record.
        return arrow.makeData({
          type: new arrow.Int64(),
          length: n,
          nullCount: 0,
          data: typeof createdAt === 'number' ? new BigInt64Array(n).fill(BigInt(createdAt)) : BigInt64Array.from(createdAt, (t) => BigInt(t)),
        });
      case 'writer':
        return strings(records.map((_, i) => (typeof writer === 'string' || writer === null ? writer : (writer[i] ?? null))));
      case 'norm':
        return arrow.makeData({ type: new arrow.Float64(), length: n, nullCount: 0, data: Float64Array.from(records, (r) => r.norm) });
      case 'vector': {
        const child = arrow.makeData({ type: new arrow.Float32(), length: n * dimension, nullCount: 0, data: units });
        // Text-only records are null entries (their slots in the child stay zeros).
        const missing = records.filter((r) => r.unit === null).length;
        const nullBitmap = missing === 0 ? undefined : validity(records.map((r) => r.unit !== null));
        return arrow.makeData({ type: vectorField.type as FixedSizeList<Float32>, length: n, nullCount: missing, nullBitmap, child });
      }
      default:
        throw new Error(`no value for column ${name}`);
    }
  };
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, nullCount: 0, children: schema.fields.map((f) => column(f.name)) });
  return new arrow.Table([new arrow.RecordBatch(schema, struct)]);
}

/** One Utf8 column in one chunk (null for null). */
function strings(values: readonly (string | null)[]): Data<Utf8> {
  const builder = arrow.makeBuilder({ type: new arrow.Utf8(), nullValues: [null] });
  for (const value of values) builder.append(value);
  return builder.finish().flush();
}

/** An Arrow validity bitmap (least significant bit first). */
function validity(valid: readonly boolean[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(valid.length / 8));
  valid.forEach((ok, i) => {
    if (ok) bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
  });
  return bits;
}

/**
 * The batch's unit vectors as one Float32Array, zeros for text-only records: the shared buffer when they already
 * lie side by side (records.ts writes them so), else a copy.
 */
function contiguousUnits(records: readonly PreparedRecord[], dimension: number): Float32Array {
  const base = records.find((r) => r.unit !== null)?.unit;
  const start = base ? base.byteOffset - records.findIndex((r) => r.unit !== null) * dimension * 4 : 0;
  if (base && start >= 0 && start + records.length * dimension * 4 <= base.buffer.byteLength) {
    const shared = new Float32Array(base.buffer, start, records.length * dimension);
    if (records.every((r, i) => r.unit === null || (r.unit.buffer === base.buffer && r.unit.byteOffset === start + i * dimension * 4))) return shared;
  }
  const units = new Float32Array(records.length * dimension);
  records.forEach((r, i) => {
    if (r.unit) units.set(r.unit, i * dimension);
  });
  return units;
}

/**
 * The rows of a query answer, read column by column: an Arrow table's rows are proxies that look every field up
 * through a visitor, which costs more than the search of a small indexed store.
 */
export function rowsOf(table: Table): Row[] {
  const column = (name: string) => table.getChild(name);
  const [id, kind, text, metadata, occurredAt, createdAt, writer, norm, distance, score, vector] = [
    'id', 'kind', 'text', 'metadata', 'occurred_at', 'created_at', 'writer', 'norm', '_distance', '_score', 'vector',
  ].map(column);
  const rows: Row[] = new Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) {
    rows[i] = {
      id: id?.get(i) as string,
      kind: kind?.get(i) as string,
      text: (text?.get(i) ?? null) as string | null,
      metadata: (metadata?.get(i) ?? null) as string | null,
      occurred_at: occurredAt?.get(i) as bigint,
      created_at: createdAt?.get(i) as bigint,
      writer: (writer?.get(i) ?? null) as string | null,
      norm: norm?.get(i) as number,
      _distance: distance?.get(i) as number | undefined,
      _score: score?.get(i) as number | undefined,
      vector: vector ? ((vector.get(i) ?? null) as Row['vector']) : undefined,
    };
  }
  return rows;
}

/** The record a batch write stored, as a search with vectors would read it back. */
export function storedRecord(store: StoreRef, record: PreparedRecord, writer: string | null, createdAt: number): StoredRecord {
  return {
    id: record.id,
    scope: store.scope,
    tenantId: store.tenantId,
    domainKey: store.scope === 'DOMAIN' ? store.domainKey : null,
    writerSurfaceId: writer,
    kind: record.kind,
    text: record.text,
    metadata: record.metadata === null ? null : JSON.parse(record.metadata),
    occurredAt: new Date(record.occurredAt),
    createdAt: new Date(createdAt),
    unit: record.unit,
    norm: record.norm,
  };
}

export function toRecord(store: StoreRef, row: Row, withVector: boolean): StoredRecord {
  let unit: Float32Array | null = null;
  if (withVector && row.vector) {
    const raw = 'toArray' in row.vector ? row.vector.toArray() : row.vector;
    unit = raw instanceof Float32Array ? raw : Float32Array.from(raw);
  }
  return {
    id: row.id,
    scope: store.scope,
    tenantId: store.tenantId,
    domainKey: store.scope === 'DOMAIN' ? store.domainKey : null,
    writerSurfaceId: row.writer,
    kind: row.kind,
    text: row.text,
    metadata: row.metadata === null ? null : JSON.parse(row.metadata),
    occurredAt: new Date(Number(row.occurred_at)),
    createdAt: new Date(Number(row.created_at)),
    unit,
    norm: row.norm,
  };
}
