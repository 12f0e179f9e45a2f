// Opens a store's `vectors` table, creating it on a first write. Creation runs under a lock every
// gateway respects: LanceDB turns a create that lost a race into an Overwrite, which would drop the winner's rows.
import * as lancedb from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import { storeKey, storeUri, TABLE_NAME, type StoreRef } from './layout.js';
import type { WithLock } from './process-lock.js';

export interface TableOpener {
  /** The store's table; null when it has none and create is false. */
  (store: StoreRef, create: boolean): Promise<lancedb.Table | null>;
}

export function createTableOpener(options: { root: string; schema: Schema; storageOptions?: Record<string, string>; withCreateLock: WithLock }): TableOpener {
  return async (store, create) => {
    const db = await lancedb.connect(storeUri(options.root, store), {
      storageOptions: options.storageOptions,
      // Check for other processes' commits on every read: Sleep sees VO2's write at once, across gateways.
      readConsistencyInterval: 0,
    });
    const listed = async () => (await db.tableNames()).includes(TABLE_NAME);
    for (let attempt = 0; ; attempt++) {
      if (!(await listed())) {
        if (!create) return null;
        return options.withCreateLock(`nexus-table:${storeKey(store)}`, async () =>
          (await listed()) ? db.openTable(TABLE_NAME) : db.createEmptyTable(TABLE_NAME, options.schema),
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
  };
}
