// The narrow interface over LanceDB the rest of the code uses: one `vectors` table per store,
// opened only for a minted StoreGrant, created lazily on first write, its handle cached.
import * as lancedb from '@lancedb/lancedb';
import { ForbiddenError } from '../errors.js';
import type { StoreRef } from './layout.js';
import { createTableOpener } from './open-table.js';
import { createProcessLock, type WithLock } from './process-lock.js';
import type { PreparedRecord, StoredRecord } from './records.js';
import { storedRecord, toArrowBatch, toRecord, type Row } from './rows.js';
import { inList, recordFilter, type RecordFilterSpec } from './sql.js';
import { storeKey } from './layout.js';
import { isMintedGrant, type StoreGrant } from './store-grant.js';
import { createTableCache } from './table-cache.js';
import { searchColumns, tableSchema } from './table-schema.js';

export type { StoredRecord };

export interface VectorStoreOptions {
  /** Local directory or s3://bucket/prefix. */
  root: string;
  dimension: number;
  /** Open table handles kept at most. */
  cacheSize: number;
  /** Passed to LanceDB for object stores (endpoint, credentials, region). */
  storageOptions?: Record<string, string>;
  /** A lock across every gateway sharing the storage, for table creation and upserts (default: this process only). */
  withLock?: WithLock;
}

export interface SearchQuery {
  /** Unit-length query vector. */
  unit: Float32Array;
  k: number;
  filter?: RecordFilterSpec;
  withVectors: boolean;
}

export interface ScoredRecord {
  record: StoredRecord;
  /** Cosine distance, 1 − cosine similarity. */
  distance: number;
}

export interface VectorStores {
  upsert(grant: StoreGrant, records: readonly PreparedRecord[]): Promise<StoredRecord[]>;
  /** Deletes the records with these ids; returns the ids that existed (and so were deleted). */
  remove(grant: StoreGrant, ids: readonly string[]): Promise<string[]>;
  search(grant: StoreGrant, query: SearchQuery): Promise<ScoredRecord[]>;
  count(grant: StoreGrant): Promise<number>;
  /** Table handles held open now (bounded by cacheSize). */
  openTables(): number;
  close(): Promise<void>;
}

function checked(grant: StoreGrant, write: boolean): StoreRef {
  // Deny anything that is not a minted grant, or a read grant used to write.
  if (!isMintedGrant(grant) || (write && !grant.write)) throw new ForbiddenError();
  return grant.store;
}

export function createVectorStores(options: VectorStoreOptions): VectorStores {
  const schema = tableSchema(options.dimension);
  const withLock = options.withLock ?? createProcessLock();
  const open = createTableOpener({ root: options.root, schema, storageOptions: options.storageOptions, withCreateLock: withLock });
  const cache = createTableCache(open, options.cacheSize);

  return {
    async upsert(grant, records) {
      const store = checked(grant, true);
      const now = Date.now();
      const data = toArrowBatch(schema, records, grant.writerSurfaceId, now);
      await cache.withTable(store, true, async (t) => {
        if (!t) throw new Error('the table could not be created');
        // Each path is one commit for the whole batch: all of it lands or none of it does.
        // Server-assigned UUIDs are new: a plain append.
        if (records.every((r) => !r.idGiven)) return void (await t.add(data));
        // Named ids may replace stored records. Under the store's lock (every gateway's), so that no other write
        // can add one of these ids between the check and the append: append when none exists, merge otherwise.
        await withLock(`nexus-write:${storeKey(store)}`, async () => {
          const ids = records.filter((r) => r.idGiven).map((r) => r.id);
          const existing = await t.query().where(inList('id', ids)).select(['id']).limit(1).toArray();
          if (existing.length === 0) await t.add(data);
          else await t.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
        });
      });
      // What was stored, as a search reads it.
      return records.map((r) => storedRecord(store, r, grant.writerSurfaceId, now));
    },

    async remove(grant, ids) {
      const store = checked(grant, true);
      if (ids.length === 0) return [];
      return cache.withTable(store, false, async (t) => {
        if (!t) return [];
        // Which of them exist, so that only real deletions are reported (and published as FORGOTTEN).
        const present = (await t.query().where(inList('id', ids)).select(['id']).toArray()) as { id: string }[];
        if (present.length === 0) return [];
        const existing = present.map((row) => row.id);
        await t.delete(inList('id', existing));
        return existing;
      });
    },

    async search(grant, query) {
      const store = checked(grant, false);
      const rows = await cache.withTable(store, false, async (t) => {
        if (!t) return [] as Row[];
        let q = t.vectorSearch(query.unit).distanceType('dot').limit(query.k).select(searchColumns(query.withVectors));
        const where = query.filter ? recordFilter(query.filter) : undefined;
        if (where) q = q.where(where);
        return (await q.toArray()) as Row[];
      });
      // For unit vectors LanceDB's dot distance is 1 − cos: the cosine distance itself.
      return rows.map((row) => ({ record: toRecord(store, row, query.withVectors), distance: Math.min(2, Math.max(0, row._distance ?? 0)) }));
    },

    async count(grant) {
      return cache.withTable(checked(grant, false), false, async (t) => (t ? t.countRows() : 0));
    },

    openTables: () => cache.size(),

    close: () => cache.close(),
  };
}
