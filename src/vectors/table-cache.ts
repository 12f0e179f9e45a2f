// A bounded LRU of open table handles (about 0.7 MB each). Handles count their users: an evicted
// table is closed only once no operation still uses it, so a burst over more stores than the cache holds stays correct.
import type * as lancedb from '@lancedb/lancedb';
import { storeKey, type StoreRef } from './layout.js';
import type { TableOpener } from './open-table.js';

export interface TableCache {
  /** Runs fn with the store's table (null when it has none and create is false), holding it open meanwhile. */
  withTable<T>(store: StoreRef, create: boolean, fn: (table: lancedb.Table | null) => Promise<T>): Promise<T>;
  /** Handles held now. */
  size(): number;
  /** Drops the handles of stores whose key starts with prefix (closed once no operation uses them): before erasure. */
  release(prefix: string): void;
  close(): Promise<void>;
}

interface Entry {
  table: Promise<lancedb.Table | null>;
  users: number;
  evicted: boolean;
}

export function createTableCache(open: TableOpener, capacity: number): TableCache {
  // key → entry; Map order is recency order (oldest first).
  const tables = new Map<string, Entry>();

  function closeWhenIdle(entry: Entry): void {
    if (entry.evicted && entry.users === 0) void entry.table.then((t) => t?.close()).catch(() => undefined);
  }

  function evict(): void {
    while (tables.size > capacity) {
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

  return {
    async withTable(store, create, fn) {
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
    },
    size: () => tables.size,
    release(prefix) {
      for (const [key, entry] of [...tables]) {
        if (key !== prefix && !key.startsWith(`${prefix}/`)) continue;
        tables.delete(key);
        entry.evicted = true;
        closeWhenIdle(entry);
      }
    },
    async close() {
      const pending = [...tables.values()];
      tables.clear();
      await Promise.allSettled(pending.map(async (e) => (await e.table)?.close()));
    },
  };
}
