// A narrow interface over LanceDB: one `vectors` table per store, opened only
// through a StoreGrant, created lazily on first write, cached in a bounded LRU.
import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Float64, Int64, Schema, Utf8 } from 'apache-arrow';
import { StoreGrant } from '../auth/access.js';
import { ForbiddenError } from '../auth/errors.js';
import { storeKey, storeUri, TABLE_NAME, type StoreRef } from './layout.js';
import type { PreparedRecord, StoredRecord } from './records.js';
import { inList, recordFilter, type RecordFilterSpec } from './sql.js';

export type { StoredRecord };

export interface VectorStoreOptions {
  /** Local directory or s3://bucket/prefix. */
  root: string;
  dimension: number;
  /** Open table handles kept at most. */
  cacheSize: number;
  /** Passed to LanceDB for object stores (endpoint, credentials, region). */
  storageOptions?: Record<string, string>;
  /**
   * Runs fn while holding a lock named key across every gateway sharing the storage (default: this
   * process only). Table creation runs under it: LanceDB turns a create that lost a race into an
   * Overwrite, which would drop the winner's first rows.
   */
  withCreateLock?: <T>(key: string, fn: () => Promise<T>) => Promise<T>;
}

/** A lock held within this process only: enough when one process owns the storage. */
export function createProcessLock(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return async (key, fn) => {
    const before = tails.get(key) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
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
  remove(grant: StoreGrant, ids: readonly string[]): Promise<number>;
  search(grant: StoreGrant, query: SearchQuery): Promise<ScoredRecord[]>;
  count(grant: StoreGrant): Promise<number>;
  /** Table handles held open now (bounded by cacheSize). */
  openTables(): number;
  close(): Promise<void>;
}

// _distance is named so LanceDB keeps returning it without a deprecation warning.
const BASE_COLUMNS = ['id', 'kind', 'text', 'metadata', 'occurred_at', 'created_at', 'writer', 'norm', '_distance'];

function tableSchema(dimension: number): Schema {
  return new Schema([
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

function checked(grant: StoreGrant, write: boolean): StoreRef {
  // Deny anything that is not a real grant, or a read grant used to write.
  if (!(grant instanceof StoreGrant) || (write && !grant.write)) throw new ForbiddenError();
  return grant.store;
}

interface Row {
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
}

function toRecord(store: StoreRef, row: Row, withVector: boolean): StoredRecord {
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

export function createVectorStores(options: VectorStoreOptions): VectorStores {
  const schema = tableSchema(options.dimension);
  // key → open table; Map order is recency order (oldest first). An evicted table is closed only
  // once no operation is using it, so a burst over more stores than the cache holds stays correct.
  interface Entry {
    table: Promise<lancedb.Table | null>;
    users: number;
    evicted: boolean;
  }
  const tables = new Map<string, Entry>();

  async function connect(store: StoreRef): Promise<lancedb.Connection> {
    return lancedb.connect(storeUri(options.root, store), {
      storageOptions: options.storageOptions,
      // Check for other processes' commits on every read: Sleep sees VO2's write at once, across gateways.
      readConsistencyInterval: 0,
    });
  }

  const withCreateLock = options.withCreateLock ?? createProcessLock();

  async function open(store: StoreRef, create: boolean): Promise<lancedb.Table | null> {
    const db = await connect(store);
    const listed = async () => (await db.tableNames()).includes(TABLE_NAME);
    for (let attempt = 0; ; attempt++) {
      if (!(await listed())) {
        if (!create) return null;
        return withCreateLock(`nexus-table:${storeKey(store)}`, async () =>
          (await listed()) ? db.openTable(TABLE_NAME) : db.createEmptyTable(TABLE_NAME, schema),
        );
      }
      try {
        return await db.openTable(TABLE_NAME);
      } catch (error) {
        // A table being created by another gateway is listed before its first version is committed:
        // a reader sees no table yet; a writer waits a moment and opens it. Any other failure is raised.
        if (!/not found/i.test(String(error))) throw error;
        if (!create) return null;
        if (attempt >= 6) throw error;
        await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      }
    }
  }

  function closeWhenIdle(entry: Entry): void {
    if (entry.evicted && entry.users === 0) void entry.table.then((t) => t?.close()).catch(() => undefined);
  }

  function evict(): void {
    while (tables.size > options.cacheSize) {
      const [oldest, entry] = tables.entries().next().value as [string, Entry];
      tables.delete(oldest);
      entry.evicted = true;
      closeWhenIdle(entry);
    }
  }

  function entryFor(store: StoreRef, create: boolean): Entry {
    const key = storeKey(store);
    const cached = tables.get(key);
    if (cached) {
      tables.delete(key);
      tables.set(key, cached);
      return cached;
    }
    const entry: Entry = { table: open(store, create), users: 0, evicted: false };
    tables.set(key, entry);
    evict();
    // A store with no table yet, or one that failed to open, is not kept: another process may create it.
    entry.table.then(
      (t) => {
        if (!t && tables.get(key) === entry) tables.delete(key);
      },
      () => {
        if (tables.get(key) === entry) tables.delete(key);
      },
    );
    return entry;
  }

  /** Runs fn with the store's table (null when it has none and create is false), holding it open meanwhile. */
  async function withTable<T>(store: StoreRef, create: boolean, fn: (t: lancedb.Table | null) => Promise<T>): Promise<T> {
    let entry = entryFor(store, create);
    entry.users += 1;
    try {
      let t = await entry.table;
      if (!t && create) {
        // The cached answer was "no table yet"; this write creates it.
        entry.users -= 1;
        closeWhenIdle(entry);
        if (tables.get(storeKey(store)) === entry) tables.delete(storeKey(store));
        entry = entryFor(store, true);
        entry.users += 1;
        t = await entry.table;
      }
      return await fn(t);
    } finally {
      entry.users -= 1;
      closeWhenIdle(entry);
    }
  }

  return {
    async upsert(grant, records) {
      const store = checked(grant, true);
      const now = Date.now();
      const rows = records.map((r) => ({
        id: r.id,
        kind: r.kind,
        text: r.text,
        metadata: r.metadata,
        occurred_at: BigInt(r.occurredAt),
        created_at: BigInt(now),
        writer: grant.writerSurfaceId,
        norm: r.norm,
        vector: Array.from(r.unit),
      }));
      const data = lancedb.makeArrowTable(rows, { schema });
      await withTable(store, true, async (t) => {
        if (!t) throw new Error('the table could not be created');
        // One commit for the whole batch: all of it lands or none of it does.
        await t.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
      });
      // What was stored, read back the way a search reads it.
      return rows.map((row) => toRecord(store, row, true));
    },

    async remove(grant, ids) {
      const store = checked(grant, true);
      if (ids.length === 0) return 0;
      return withTable(store, false, async (t) => (t ? Number((await t.delete(inList('id', ids))).numDeletedRows ?? 0) : 0));
    },

    async search(grant, query) {
      const store = checked(grant, false);
      const rows = await withTable(store, false, async (t) => {
        if (!t) return [] as Row[];
        let q = t
          .vectorSearch(query.unit)
          .distanceType('dot')
          .limit(query.k)
          .select(query.withVectors ? [...BASE_COLUMNS, 'vector'] : BASE_COLUMNS);
        const where = query.filter ? recordFilter(query.filter) : undefined;
        if (where) q = q.where(where);
        return (await q.toArray()) as Row[];
      });
      // For unit vectors LanceDB's dot distance is 1 − cos: the cosine distance itself.
      return rows.map((row) => ({ record: toRecord(store, row, query.withVectors), distance: Math.min(2, Math.max(0, row._distance ?? 0)) }));
    },

    async count(grant) {
      return withTable(checked(grant, false), false, async (t) => (t ? t.countRows() : 0));
    },

    openTables: () => tables.size,

    async close() {
      const pending = [...tables.values()];
      tables.clear();
      await Promise.allSettled(pending.map(async (e) => (await e.table)?.close()));
    },
  };
}
