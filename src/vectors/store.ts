// The narrow interface over LanceDB the rest of the code uses: one `vectors` table per store,
// opened only for a minted StoreGrant, created lazily on first write, its handle cached.
import * as lancedb from '@lancedb/lancedb';
import { ForbiddenError, ServiceUnavailableError } from '../errors.js';
import { arrow } from './arrow.js';
import type { StoreRef } from './layout.js';
import { createTableOpener } from './open-table.js';
import { createIndexMaintainer, VECTOR_INDEX_PREFIX, type IndexLog, type IndexMaintainer, type IndexPolicy, type IndexStatus, type TryLock } from './indexes.js';
import { createProcessLock, createProcessTryLock, type WithLock } from './process-lock.js';
import type { PreparedRecord, StoredRecord } from './records.js';
import { rowsOf, storedRecord, toArrowBatch, toRecord, type Row } from './rows.js';
import { inList, recordFilter, type RecordFilterSpec } from './sql.js';
import { storeKey } from './layout.js';
import { isMintedGrant, type StoreGrant } from './store-grant.js';
import { createStorageDeadline } from './storage-outage.js';
import { createTableCache } from './table-cache.js';
import { searchColumns, tableSchema } from './table-schema.js';
import { createTextIndex, holdsPhrase, isMissingTextIndex, phraseWords, textQuery } from './text-search.js';
import type { TextSettings } from '../config/env.js';

export type { StoredRecord };

/** A record as restored from an export: what a write stores, plus the writer and the time it was first written. */
export type RestoredRecord = PreparedRecord & { readonly writerSurfaceId: string | null; readonly createdAt: number };

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
  /** A try-lock across every gateway, held for the length of an index build (default: this process only). */
  tryLock?: TryLock;
  /** When stores get an ANN index and are optimised. */
  index: IndexPolicy;
  /** How every store's full-text index reads text. */
  text: TextSettings;
  /**
   * How long a request's reads of a store, or its write (once it holds the store's lock), may wait for storage before
   * they are given up as SERVICE_UNAVAILABLE (NEXUS_STORAGE_TIMEOUT_MS); undefined: no bound (the command line).
   * Background work (index builds, purges) and whole-store scans are not bounded by it.
   */
  requestTimeoutMs?: number;
  log?: IndexLog;
}

/** A nearest-neighbour query of one store. */
export interface VectorQuerySpec {
  /** Unit-length query vector. */
  unit: Float32Array;
  k: number;
  filter?: RecordFilterSpec;
  withVectors: boolean;
}

/** A store search: by vector, by text, or both (hybrid); k hits at most for each. */
export interface SearchQuery {
  /** Unit-length query vector; null to search by text alone. */
  unit: Float32Array | null;
  /** BM25 query text; null to search by vector alone. */
  text: string | null;
  k: number;
  filter?: RecordFilterSpec;
  withVectors: boolean;
}

export interface ScoredRecord {
  record: StoredRecord;
  /** Cosine distance, 1 − cosine similarity; null for a record without a vector or a query without one. */
  distance: number | null;
  /** Found by text: the BM25 score of the query's words, doubled when the text holds the query's exact phrase. */
  textScore?: number;
}

/** One store's answer: its vector ranking (nearest first) and its text ranking (best first), each when asked. */
export interface StoreHits {
  byVector: ScoredRecord[];
  byText: ScoredRecord[];
}

export interface VectorStores {
  /** The store's index state (NONE for a store never written). */
  indexStatus(grant: StoreGrant): Promise<IndexStatus>;
  /** Operator only (never reachable from the API): rebuilds a store's index now. */
  rebuildIndex(store: StoreRef): Promise<IndexStatus>;
  /** Operator only (never reachable from the API): a store's index state. */
  storeIndexStatus(store: StoreRef): Promise<IndexStatus>;
  /** Resolves when no index maintenance of this process is running or due. */
  indexIdle(): Promise<void>;
  /**
   * Operator and owner-export only (never reachable from a search): every record of a store, vectors included, in
   * LanceDB's batches (about a thousand rows), each handed to onBatch before the next is read (memory stays bounded).
   * Returns how many records there were.
   */
  scanStore(store: StoreRef, onBatch: (records: StoredRecord[]) => Promise<void>): Promise<number>;
  /**
   * Operator only (tenant:import, never reachable from the API): appends records as an export holds them, each with
   * its own writer and creation time, to a store of a tenant being imported (its ids are new to the store).
   */
  restore(store: StoreRef, records: readonly RestoredRecord[]): Promise<void>;
  /**
   * Cleanup only (memories/cleanup.ts): makes forgotten records physically gone. LanceDB marks deleted rows and keeps
   * them in their data files (its compaction rewrites a file only past 10% deleted), and old versions keep the rest:
   * so every live row is written back as the table's only data, its indexes rebuilt, and every older version and
   * file removed. Under the store's write lock and index lock (no write or build meanwhile); false when a build
   * holds the index lock (try again later).
   */
  purgeStore(store: StoreRef): Promise<boolean>;
  /** Operator and usage only: how many records a store holds (0 before its first write). */
  storeCount(store: StoreRef): Promise<number>;
  /** Drops this process's open handles of the stores under a prefix (layout.ts segments joined by /), before erasure. */
  releaseStores(prefix: string): void;
  upsert(grant: StoreGrant, records: readonly PreparedRecord[]): Promise<StoredRecord[]>;
  /** Deletes the records with these ids; returns the ids that existed (and so were deleted). */
  remove(grant: StoreGrant, ids: readonly string[]): Promise<string[]>;
  search(grant: StoreGrant, query: SearchQuery): Promise<StoreHits>;
  count(grant: StoreGrant): Promise<number>;
  /** Table handles held open now (bounded by cacheSize). */
  openTables(): number;
  /** Index builds and optimisations this process has run since it started (for metrics). */
  indexStats(): ReturnType<IndexMaintainer['stats']>;
  close(): Promise<void>;
}

function checked(grant: StoreGrant, write: boolean): StoreRef {
  // Deny anything that is not a minted grant, or a read grant used to write.
  if (!isMintedGrant(grant) || (write && !grant.write)) throw new ForbiddenError();
  return grant.store;
}

/**
 * The query every search runs: dot distance (the index's own metric: a query of another metric would silently scan
 * flat), nprobes IVF partitions once the store has its index, the filter applied before the search (prefilter).
 */
export function searchQuery(table: lancedb.Table, query: VectorQuerySpec, nprobes: number): lancedb.VectorQuery {
  const q = table.vectorSearch(query.unit).distanceType('dot').nprobes(nprobes).limit(query.k).select(searchColumns(query.withVectors));
  const where = query.filter ? recordFilter(query.filter) : undefined;
  return where ? q.where(where) : q;
}

const clampDistance = (d: number) => Math.min(2, Math.max(0, d));

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

// Tables made before text-only records existed have a non-null vector column: it is relaxed on the first such write.
const relaxed = new WeakSet<lancedb.Table>();
async function allowTextOnly(table: lancedb.Table): Promise<void> {
  if (relaxed.has(table)) return;
  const field = (await table.schema()).fields.find((f) => f.name === 'vector');
  if (field && !field.nullable) await table.alterColumns([{ path: 'vector', nullable: true }]);
  relaxed.add(table);
}

export function createVectorStores(options: VectorStoreOptions): VectorStores {
  const schema = tableSchema(options.dimension);
  const withLock = options.withLock ?? createProcessLock();
  const tryLock = options.tryLock ?? createProcessTryLock();
  // Every table is born with its full-text index (empty, so it costs a few milliseconds); the lifecycle keeps it.
  const open = createTableOpener({
    root: options.root,
    schema,
    storageOptions: options.storageOptions,
    withCreateLock: withLock,
    onCreate: (table) => createTextIndex(table, options.text),
  });
  const deadline = createStorageDeadline(options.requestTimeoutMs);
  // An open given up at the deadline leaves the cache (the next request opens anew); a handle it makes late is closed.
  const cache = createTableCache((store, create) => deadline(open(store, create), (t) => void t?.close()), options.cacheSize);
  // A write given up at the deadline may still land: until it settles, this gateway starts no other write to its
  // store (so none interleaves with it) and answers SERVICE_UNAVAILABLE at once instead.
  const unsettled = new Set<string>();
  const boundedWrite = <T>(store: StoreRef, work: () => Promise<T>): Promise<T> => {
    const key = storeKey(store);
    if (unsettled.has(key)) return Promise.reject(new ServiceUnavailableError('storage'));
    const running = work();
    return deadline(running).catch((error: unknown) => {
      if (error instanceof ServiceUnavailableError) {
        unsettled.add(key);
        const settled = () => unsettled.delete(key);
        running.then(settled, settled);
      }
      throw error;
    });
  };
  const maintainer = createIndexMaintainer({
    withTable: (store, fn) => cache.withTable(store, false, fn),
    tryLock,
    policy: options.index,
    text: options.text,
    log: options.log ?? { info: () => undefined, warn: () => undefined },
  });
  // A store met for the first time is checked once: a build that a crash interrupted is retried so.
  const withTable = <T>(store: StoreRef, create: boolean, fn: (t: lancedb.Table | null) => Promise<T>) =>
    cache.withTable(store, create, (t) => {
      if (t) maintainer.noteOpened(store);
      return fn(t);
    });

  async function vectorHits(t: lancedb.Table, store: StoreRef, query: VectorQuerySpec): Promise<ScoredRecord[]> {
    const rows = rowsOf(await searchQuery(t, query, options.index.nprobes).toArrow());
    // For unit vectors LanceDB's dot distance is 1 − cos: the cosine distance itself.
    return rows.map((row) => ({ record: toRecord(store, row, query.withVectors), distance: clampDistance(row._distance ?? 0) }));
  }

  async function textHits(t: lancedb.Table, store: StoreRef, query: SearchQuery): Promise<ScoredRecord[]> {
    const text = query.text ?? '';
    // By text alone, a few more rows than wanted, so that records holding the exact phrase can move up into the k
    // kept; a hybrid search asks enough candidates already (HYBRID_CANDIDATES), and reads their vectors for distances.
    const hybrid = query.unit !== null;
    const spec = { text, limit: hybrid ? query.k : Math.min(2 * query.k, query.k + 50), filter: query.filter, withVectors: query.withVectors || hybrid };
    let answer;
    try {
      answer = await textQuery(t, spec).toArrow();
    } catch (error) {
      // A store made before full-text indexes existed, not yet indexed: reads write nothing, so it answers no text
      // hits until its index is built (its first write of text, or the check made when a gateway opens it).
      if (!isMissingTextIndex(error)) throw error;
      options.log?.warn({ store: storeKey(store) }, 'text search of a store without a full-text index yet: no text hits from it');
      return [];
    }
    const phrase = phraseWords(text);
    const twoWords = phrase.includes(' ');
    return rowsOf(answer)
      .map((row) => {
        const record = toRecord(store, row, spec.withVectors);
        const distance = query.unit && record.unit ? clampDistance(1 - dot(query.unit, record.unit)) : null;
        if (!query.withVectors) record.unit = null;
        const bm25 = row._score ?? 0;
        return { record, distance, textScore: twoWords && holdsPhrase(row.text, phrase) ? 2 * bm25 : bm25 };
      })
      .sort((a, b) => b.textScore - a.textScore)
      .slice(0, query.k);
  }

  return {
    async upsert(grant, records) {
      const store = checked(grant, true);
      const now = Date.now();
      const data = toArrowBatch(schema, records, grant.writerSurfaceId, now);
      let covered = false;
      await withTable(store, true, async (t) => {
        if (!t) throw new Error('the table could not be created');
        if (records.some((r) => r.unit === null)) await deadline(allowTextOnly(t));
        // Each path is one commit for the whole batch: all of it lands or none of it does. Under the store's lock
        // (every gateway's): no other write adds one of these ids between the check and the append, and a purge
        // (purgeStore) rewriting the table never loses a write.
        await withLock(`nexus-write:${storeKey(store)}`, () =>
          boundedWrite(store, async () => {
            // Server-assigned UUIDs are new: a plain append. Named ids may replace stored records: append when none
            // of them exists, merge otherwise.
            if (records.every((r) => !r.idGiven)) return void (await t.add(data));
            const ids = records.filter((r) => r.idGiven).map((r) => r.id);
            const existing = await t.query().where(inList('id', ids)).select(['id']).limit(1).toArray();
            if (existing.length === 0) await t.add(data);
            else await t.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
          }),
        );
        // Text written to a small store is in its full-text index before the write answers (see coverText). The
        // rows are committed by now: a failure here is the index's, logged and left to the lifecycle's next check.
        if (records.some((r) => r.text !== null)) {
          covered = await deadline(maintainer.coverText(store, t, withLock)).catch((error: unknown) => {
            options.log?.warn({ store: storeKey(store), err: error instanceof Error ? error.message : String(error) }, 'full-text index update failed; it is retried later');
            return false;
          });
        }
      });
      // Text its write could not put in the index is folded in later, in the background.
      maintainer.noteWrite(store, { added: records.length, withText: records.some((r) => r.text !== null) && !covered });
      // What was stored, as a search reads it.
      return records.map((r) => storedRecord(store, r, grant.writerSurfaceId, now));
    },

    async remove(grant, ids) {
      const store = checked(grant, true);
      if (ids.length === 0) return [];
      const removed = await withTable(store, false, async (t) => {
        if (!t) return [];
        // Which of them exist, so that only real deletions are reported (and published as FORGOTTEN).
        return withLock(`nexus-write:${storeKey(store)}`, () =>
          boundedWrite(store, async () => {
            const present = (await t.query().where(inList('id', ids)).select(['id']).toArray()) as { id: string }[];
            if (present.length === 0) return [];
            const existing = present.map((row) => row.id);
            await t.delete(inList('id', existing));
            return existing;
          }),
        );
      });
      if (removed.length > 0) maintainer.noteWrite(store, { deleted: removed.length });
      return removed;
    },

    async search(grant, query) {
      const store = checked(grant, false);
      return withTable(store, false, async (t) => {
        if (!t) return { byVector: [], byText: [] };
        const [byVector, byText] = await deadline(
          Promise.all([query.unit ? vectorHits(t, store, { ...query, unit: query.unit }) : [], query.text !== null ? textHits(t, store, query) : []]),
        );
        return { byVector, byText };
      });
    },

    async count(grant) {
      return withTable(checked(grant, false), false, async (t) => (t ? deadline(t.countRows()) : 0));
    },

    async indexStatus(grant) {
      const store = checked(grant, false);
      return withTable(store, false, (t) => deadline(maintainer.status(store, t)));
    },

    rebuildIndex: (store) => maintainer.rebuild(store),

    storeIndexStatus: (store) => withTable(store, false, (t) => maintainer.status(store, t)),

    indexIdle: () => maintainer.idle(),

    async restore(store, records) {
      if (records.length === 0) return;
      const data = toArrowBatch(schema, records, records.map((r) => r.writerSurfaceId), records.map((r) => r.createdAt));
      let covered = false;
      await withTable(store, true, async (t) => {
        if (!t) throw new Error('the table could not be created');
        if (records.some((r) => r.unit === null)) await allowTextOnly(t);
        await t.add(data);
        if (records.some((r) => r.text !== null)) covered = await maintainer.coverText(store, t, withLock);
      });
      maintainer.noteWrite(store, { added: records.length, withText: records.some((r) => r.text !== null) && !covered });
    },

    async scanStore(store, onBatch) {
      return withTable(store, false, async (t) => {
        if (!t) return 0;
        let seen = 0;
        for await (const batch of t.query().select(searchColumns(true).filter((c) => !c.startsWith('_')))) {
          const records = rowsOf(new arrow.Table(batch)).map((row) => toRecord(store, row, true));
          seen += records.length;
          await onBatch(records);
        }
        return seen;
      });
    },

    releaseStores: (prefix) => cache.release(prefix),

    storeCount: (store) => withTable(store, false, async (t) => (t ? deadline(t.countRows()) : 0)),

    purgeStore: (store) =>
      withTable(store, false, async (t) => {
        if (!t) return true;
        const key = storeKey(store);
        return tryLock(`nexus-index:${key}`, () =>
          withLock(`nexus-write:${key}`, async () => {
            const hadVectorIndex = (await t.listIndices()).some((i) => i.name.startsWith(VECTOR_INDEX_PREFIX));
            const batches = [];
            for await (const batch of t.query()) batches.push(batch);
            await t.add(batches.length > 0 ? new arrow.Table(batches) : new arrow.Table(schema), { mode: 'overwrite' });
            await maintainer.reindex(store, t, hadVectorIndex);
            await t.optimize({ cleanupOlderThan: new Date(), deleteUnverified: true });
          }),
        );
      }),

    openTables: () => cache.size(),

    indexStats: () => maintainer.stats(),

    close: async () => {
      maintainer.cancelDelayed();
      await maintainer.idle();
      await cache.close();
    },
  };
}
