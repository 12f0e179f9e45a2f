// Opens a store's `vectors` table, creating it on a first write. Creation runs under a lock every
// gateway respects: LanceDB turns a create that lost a race into an Overwrite, which would drop the winner's rows.
// Reading writes nothing: no table, no directory, no namespace manifest.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import { storeKey, storeUri, TABLE_NAME, type StoreRef } from './layout.js';
import type { WithLock } from './process-lock.js';

export interface TableOpener {
  /** The store's table; null when it has none and create is false. */
  (store: StoreRef, create: boolean): Promise<lancedb.Table | null>;
}

const isNotFound = (error: unknown) => /not found/i.test(String(error));

/** Local disk only: whether the store's table has a committed version, looked up without creating anything. */
async function hasLocalTable(uri: string): Promise<boolean> {
  try {
    return (await readdir(path.join(uri, `${TABLE_NAME}.lance`, '_versions'))).some((name) => name.endsWith('.manifest'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export interface TableOpenerOptions {
  root: string;
  schema: Schema;
  storageOptions?: Record<string, string>;
  withCreateLock: WithLock;
  /** Runs on a table just created, still under the creation lock (its full-text index is made here). */
  onCreate?: (table: lancedb.Table) => Promise<void>;
}

export function createTableOpener(options: TableOpenerOptions): TableOpener {
  const local = !options.root.startsWith('s3://');
  return async (store, create) => {
    const uri = storeUri(options.root, store);
    // A connect creates the store's directory on local disk: a search of a store never written stops here.
    if (!create && local && !(await hasLocalTable(uri))) return null;
    const db = await lancedb.connect(uri, {
      storageOptions: options.storageOptions,
      // Check for other processes' commits on every read: Sleep sees VO2's write at once, across gateways.
      readConsistencyInterval: 0,
      // LanceDB 0.31 writes a `__manifest` namespace table on every connect unless told not to (fixed upstream in
      // 0.33, lancedb#3633); Nexus keeps one table per store and uses no namespaces.
      namespaceClientProperties: { manifest_enabled: 'false' },
    });
    for (let attempt = 0; ; attempt++) {
      try {
        return await db.openTable(TABLE_NAME);
      } catch (error) {
        // Not there (yet): a reader sees no table; a writer creates it. A table being created by another gateway
        // may be listed before its first version is committed: the writer then waits a moment and opens it.
        if (!isNotFound(error)) throw error;
        if (!create) return null;
        const listed = (await db.tableNames()).includes(TABLE_NAME);
        if (!listed) {
          return options.withCreateLock(`nexus-table:${storeKey(store)}`, async () => {
            if ((await db.tableNames()).includes(TABLE_NAME)) return db.openTable(TABLE_NAME);
            const table = await db.createEmptyTable(TABLE_NAME, options.schema);
            await options.onCreate?.(table);
            return table;
          });
        }
        if (attempt >= 6) throw error;
        await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      }
    }
  };
}
