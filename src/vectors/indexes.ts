// The index lifecycle of a store. A store is searched flat (exact) while small; once it holds minRows records an
// IVF_FLAT index (dot metric, √rows partitions) is built in the background, beside a BTREE on `id` for upserts.
// Rows written later are searched flat beside the index until an optimise folds them in; a table that has grown
// 4× past its partitioning is rebuilt. Every table also has a full-text (BM25) index from birth: a write of text
// rebuilds it while the store is small (coverText), the same optimise folds new rows into it in larger stores (after
// textOptimizeRows), and it is rebuilt when the text settings change. Builds never block reads or writes, run once
// at a time per table on every gateway (a try-lock they all share), and a failed or killed build leaves the flat
// table and is retried. Parameters and thresholds were chosen by measurement: bench/studies/index.md.
import * as lancedb from '@lancedb/lancedb';
import type { TextSettings } from '../config/env.js';
import { storeKey, type StoreRef } from './layout.js';
import { createTextIndex, TEXT_INDEX_PREFIX, textIndexName } from './text-search.js';

export type IndexState = 'NONE' | 'BUILDING' | 'READY' | 'STALE';

export interface IndexStatus {
  state: IndexState;
  /** Rows the vector index covers. */
  indexedRows: number;
  /** Rows searched flat beside the index (all of them with no index). */
  unindexedRows: number;
}

export interface IndexPolicy {
  /** Rows from which a store gets an ANN index. */
  minRows: number;
  /** Unindexed rows (or deleted rows) after which the store is optimised. */
  optimizeRows: number;
  /** Rows outside the full-text index after which the store is optimised. */
  textOptimizeRows: number;
  /** IVF partitions probed per query. */
  nprobes: number;
}

/** Runs fn under the lock named key if no one (on any gateway) holds it; false when someone does. */
export type TryLock = (key: string, fn: () => Promise<void>) => Promise<boolean>;

export interface IndexLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** What the lifecycle needs of the table cache: a store's table held open while fn runs. */
export type WithTable = <T>(store: StoreRef, fn: (table: lancedb.Table | null) => Promise<T>) => Promise<T>;

export interface IndexMaintainer {
  /** After a write: rows added or deleted. Schedules a check in the background; never throws. */
  noteWrite(store: StoreRef, change: { added?: number; deleted?: number; withText?: boolean }): void;
  /** A store seen for the first time by this process: schedules a check (a crashed build is retried so). */
  noteOpened(store: StoreRef): void;
  status(store: StoreRef, table: lancedb.Table | null): Promise<IndexStatus>;
  /**
   * After a write of text: brings a small store's full-text index over every row before the write answers (a full
   * rebuild, a few milliseconds per thousand rows). LanceDB 0.31's flat BM25 over rows outside the index drops
   * matches when the index is small (a word most rows hold, a word repeated in the only new row), so small stores
   * never depend on it; larger ones are folded in the background (textOptimizeRows). True when the store is covered.
   */
  coverText(store: StoreRef, table: lancedb.Table, withLock: <T>(key: string, fn: () => Promise<T>) => Promise<T>): Promise<boolean>;
  /** After a purge rewrote the table: its full-text index, and its vector index when it had one, built again (the caller holds the locks). */
  reindex(store: StoreRef, table: lancedb.Table, vector: boolean): Promise<void>;
  /** Builds the index now, replacing any, whatever the thresholds say (the operator's command). */
  rebuild(store: StoreRef): Promise<IndexStatus>;
  /** Resolves once no check or build of this process is running or queued (tests, shutdown). */
  idle(): Promise<void>;
  /** Drops the checks still waiting on their first-open delay (shutdown). */
  cancelDelayed(): void;
  /** Index builds and optimisations this process has run (for metrics). */
  stats(): { builds: number; textBuilds: number; optimizations: number; failures: number };
}

// Index statistics are read on every status check: without this, LanceDB 0.31 copies the centroids into them
// (memory) and warns about it on each call. Ours is the default of LanceDB's next releases. (Jest gives each test
// file a copy of process.env, so `npm test` sets it in the real environment instead.)
process.env.LANCE_INCLUDE_VECTOR_CENTROIDS ??= 'false';

export const VECTOR_INDEX_PREFIX = 'vector_ivf_flat_p';
/** Stores up to this many rows have their full-text index rebuilt by each write of text (measured: +16 ms a write at 100 rows, +39 ms at 4,900). */
export const TEXT_COVER_ROWS = 5_000;
const ID_INDEX = 'id_btree';
const RETRY_AFTER_FAILURE_MS = 60_000;
// A store opened for the first time is checked a little later, not during the search that opened it: the check
// lists the table's versions and indexes, which on S3 are round trips the first answer should not wait behind.
const FIRST_OPEN_CHECK_DELAY_MS = 2_000;
// Stores this process has checked once on opening: forgotten wholesale past this many (a re-check is harmless).
const MAX_SEEN = 100_000;

/** √rows partitions, so a probe reads about √rows rows; at least 1, at most 4096. */
export function partitionsFor(rows: number): number {
  return Math.max(1, Math.min(4096, Math.round(Math.sqrt(rows))));
}

interface VectorIndex {
  name: string;
  partitions: number;
  indexedRows: number;
  unindexedRows: number;
}

interface TableIndexes {
  vector: VectorIndex | null;
  /** The full-text index, with its name (it carries its settings) and the rows it does not cover yet. */
  text: { name: string; unindexedRows: number } | null;
}

type Work = 'build' | 'text' | 'optimize';

/** What an indexed store is due: a rebuild (4× the rows it was partitioned for), an optimise, or nothing. */
function dueOf(index: VectorIndex, deletedSinceOptimize: number, policy: IndexPolicy): 'build' | 'optimize' | null {
  if (partitionsFor(index.indexedRows + index.unindexedRows) >= index.partitions * 2) return 'build';
  if (index.unindexedRows >= policy.optimizeRows || deletedSinceOptimize >= policy.optimizeRows) return 'optimize';
  return null;
}

/** The table's vector and full-text indexes, from one listing (it carries the row counts). */
async function indexesOf(table: lancedb.Table): Promise<TableIndexes> {
  const listed = await table.listIndices();
  const counts = async (index: lancedb.IndexConfig) => {
    if (index.numIndexedRows !== undefined && index.numUnindexedRows !== undefined) return { indexed: index.numIndexedRows, unindexed: index.numUnindexedRows };
    const stats = await table.indexStats(index.name);
    return { indexed: stats?.numIndexedRows ?? 0, unindexed: stats?.numUnindexedRows ?? 0 };
  };
  const vectorIndex = listed.find((i) => i.name.startsWith(VECTOR_INDEX_PREFIX));
  const textIndex = listed.find((i) => i.name.startsWith(TEXT_INDEX_PREFIX));
  const v = vectorIndex ? await counts(vectorIndex) : null;
  const t = textIndex ? await counts(textIndex) : null;
  return {
    vector: vectorIndex && v ? { name: vectorIndex.name, partitions: Number(vectorIndex.name.slice(VECTOR_INDEX_PREFIX.length)) || 1, indexedRows: v.indexed, unindexedRows: v.unindexed } : null,
    text: textIndex && t ? { name: textIndex.name, unindexedRows: t.unindexed } : null,
  };
}

export function createIndexMaintainer(options: { withTable: WithTable; tryLock: TryLock; policy: IndexPolicy; text: TextSettings; log: IndexLog }): IndexMaintainer {
  const { policy, log } = options;
  const textName = textIndexName(options.text);
  // Per store: a check running, and whether another was asked for meanwhile.
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();
  const building = new Set<string>();
  const failedAt = new Map<string, number>();
  const deletedSinceOptimize = new Map<string, number>();
  // Stores written with text since their last optimise (this process's writes).
  const textWritten = new Set<string>();
  const seen = new Set<string>();
  const delayed = new Set<NodeJS.Timeout>();
  const counters = { builds: 0, textBuilds: 0, optimizations: 0, failures: 0 };

  function schedule(store: StoreRef): void {
    const key = storeKey(store);
    if (running.has(key)) {
      again.add(key);
      return;
    }
    const run = (async () => {
      // A turn of the event loop first, so the write that asked for this answers before any maintenance starts.
      await new Promise((resolve) => setImmediate(resolve));
      do {
        again.delete(key);
        await check(store, false).catch((error: unknown) => {
          counters.failures += 1;
          failedAt.set(key, Date.now());
          log.warn({ store: key, err: error instanceof Error ? error.message : String(error) }, 'index maintenance failed; the store is searched flat meanwhile and it is retried later');
        });
      } while (again.has(key));
    })().finally(() => running.delete(key));
    running.set(key, run);
  }

  /**
   * What the store needs now: its full-text index (missing, or made with other settings), a first vector build, a
   * rebuild for growth, an optimise, or nothing.
   */
  async function needed(table: lancedb.Table, key: string): Promise<Work | null> {
    const { vector, text } = await indexesOf(table);
    if (!text || text.name !== textName) return 'text';
    if (!vector) {
      if ((await table.countRows()) >= policy.minRows && (await table.countRows('vector IS NOT NULL')) >= policy.minRows) return 'build';
      return textDue(key, text.unindexedRows) ? 'optimize' : null;
    }
    return dueOf(vector, deletedSinceOptimize.get(key) ?? 0, policy) ?? (textDue(key, text.unindexedRows) ? 'optimize' : null);
  }

  /**
   * A fold of the full-text index is due once textOptimizeRows rows are outside it, and only after a write of text
   * that its write could not cover (a large store): rows without text add nothing to find, so a vector-only load is
   * not optimised for them.
   */
  function textDue(key: string, unindexedRows: number): boolean {
    return textWritten.has(key) && unindexedRows >= policy.textOptimizeRows;
  }

  async function check(store: StoreRef, force: boolean): Promise<void> {
    const key = storeKey(store);
    if (!force && Date.now() - (failedAt.get(key) ?? 0) < RETRY_AFTER_FAILURE_MS) return;
    await options.withTable(store, async (table) => {
      if (!table) return;
      if (!force && !(await needed(table, key))) return;
      // One builder per table across gateways: whoever holds the lock does the work, the others skip it.
      await options.tryLock(`nexus-index:${key}`, async () => {
        // Asked again under the lock: another gateway may have just done it.
        const work = force ? 'build' : await needed(table, key);
        if (work === 'build') await build(table, key);
        else if (work === 'text') await buildText(table, key);
        else if (work === 'optimize') await optimize(table, key);
      });
    });
  }

  async function buildText(table: lancedb.Table, key: string): Promise<void> {
    const started = performance.now();
    const previous = (await table.listIndices()).filter((i) => i.name.startsWith(TEXT_INDEX_PREFIX) && i.name !== textName);
    await createTextIndex(table, options.text);
    // An index made with other settings goes once its replacement exists: text search never lacks one.
    for (const old of previous) await table.dropIndex(old.name);
    failedAt.delete(key);
    counters.textBuilds += 1;
    log.info({ store: key, ms: Math.round(performance.now() - started) }, 'full-text index built');
  }

  async function build(table: lancedb.Table, key: string): Promise<void> {
    building.add(key);
    try {
      const started = performance.now();
      const rows = await table.countRows();
      const partitions = partitionsFor(rows);
      const previous = (await indexesOf(table)).vector;
      const name = `${VECTOR_INDEX_PREFIX}${partitions}`;
      log.info({ store: key, rows, partitions }, 'building vector index');
      await table.createIndex('vector', { config: lancedb.Index.ivfFlat({ distanceType: 'dot', numPartitions: partitions }), name, replace: true });
      if (previous && previous.name !== name) await table.dropIndex(previous.name);
      if (!(await table.listIndices()).some((i) => i.name === ID_INDEX)) await table.createIndex('id', { config: lancedb.Index.btree(), name: ID_INDEX });
      if ((await indexesOf(table)).text?.name !== textName) await buildText(table, key);
      deletedSinceOptimize.delete(key);
      failedAt.delete(key);
      counters.builds += 1;
      log.info({ store: key, rows, partitions, ms: Math.round(performance.now() - started) }, 'vector index built');
    } finally {
      building.delete(key);
    }
  }

  async function optimize(table: lancedb.Table, key: string): Promise<void> {
    const started = performance.now();
    // Compacts small fragments and folds new rows into the indexes (no retraining); old versions stay for the
    // cleanup window (7 days by default here).
    await table.optimize();
    deletedSinceOptimize.delete(key);
    textWritten.delete(key);
    failedAt.delete(key);
    counters.optimizations += 1;
    log.info({ store: key, ms: Math.round(performance.now() - started) }, 'store optimised');
  }

  return {
    noteWrite(store, change) {
      if (change.withText) textWritten.add(storeKey(store));
      if (change.deleted) {
        const key = storeKey(store);
        deletedSinceOptimize.set(key, (deletedSinceOptimize.get(key) ?? 0) + change.deleted);
      }
      schedule(store);
    },
    noteOpened(store) {
      const key = storeKey(store);
      if (seen.has(key)) return;
      if (seen.size >= MAX_SEEN) seen.clear();
      seen.add(key);
      const timer = setTimeout(() => {
        delayed.delete(timer);
        schedule(store);
      }, FIRST_OPEN_CHECK_DELAY_MS);
      timer.unref();
      delayed.add(timer);
    },
    status,
    async reindex(store, table, vector) {
      const key = storeKey(store);
      await buildText(table, key);
      if (vector && (await table.countRows('vector IS NOT NULL')) > 0) await build(table, key);
    },
    async coverText(store, table, withLock) {
      if ((await table.countRows()) > TEXT_COVER_ROWS) return false;
      const key = storeKey(store);
      // Under the store's write lock (every gateway's): each writer in turn covers what is outside the index then,
      // its own rows and any that a writer before it committed meanwhile.
      await withLock(`nexus-write:${key}`, async () => {
        const { text } = await indexesOf(table);
        if (text && text.name === textName && text.unindexedRows === 0) return;
        await buildText(table, key);
      });
      return true;
    },
    async rebuild(store) {
      const key = storeKey(store);
      // Waits for this process's own check of the store first, then builds under the shared lock.
      await running.get(key);
      const outcome = await options.withTable(store, async (table) => {
        if (!table) return 'no table' as const;
        return (await options.tryLock(`nexus-index:${key}`, () => build(table, key))) ? ('built' as const) : ('locked' as const);
      });
      if (outcome === 'locked') throw new Error(`the store ${key} is being indexed by another process; try again when it is done`);
      return options.withTable(store, (table) => status(store, table));
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
    },
    cancelDelayed() {
      delayed.forEach((timer) => clearTimeout(timer));
      delayed.clear();
    },
    stats: () => ({ ...counters }),
  };

  async function status(store: StoreRef, table: lancedb.Table | null): Promise<IndexStatus> {
    if (!table) return { state: 'NONE', indexedRows: 0, unindexedRows: 0 };
    const index = (await indexesOf(table)).vector;
    if (!index) {
      const rows = await table.countRows();
      // At or past the threshold a build is due or under way (here or on another gateway).
      return { state: building.has(storeKey(store)) || rows >= policy.minRows ? 'BUILDING' : 'NONE', indexedRows: 0, unindexedRows: rows };
    }
    // STALE reads what the table says (new rows, growth); deletions counted in this process alone do not show.
    return { state: dueOf(index, 0, policy) ? 'STALE' : 'READY', indexedRows: index.indexedRows, unindexedRows: index.unindexedRows };
  }
}
