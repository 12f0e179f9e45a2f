// Mapping between a table row and a StoredRecord: what is written for a prepared record,
// and what a read row means for the store it came from.
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
  vector?: ArrayLike<number> | { toArray(): ArrayLike<number> };
  _distance?: number;
};

export function toRow(record: PreparedRecord, writer: string | null, createdAt: number): Row & { vector: number[] } {
  return {
    id: record.id,
    kind: record.kind,
    text: record.text,
    metadata: record.metadata,
    occurred_at: BigInt(record.occurredAt),
    created_at: BigInt(createdAt),
    writer,
    norm: record.norm,
    vector: Array.from(record.unit),
  };
}

export function toRecord(store: StoreRef, row: Row, withVector: boolean): StoredRecord {
  let vector: number[] | null = null;
  if (withVector && row.vector) {
    const raw = 'toArray' in row.vector ? row.vector.toArray() : row.vector;
    vector = Array.from(raw, (x) => x * row.norm);
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
    vector,
  };
}
