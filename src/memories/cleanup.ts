// Forget is physical within a window: a store with forgotten records is purged (vectors.purgeStore: its live rows
// rewritten, its indexes rebuilt, every older version and file removed) NEXUS_CLEANUP_WINDOW after its last forget.
// What is due lives in the control plane (StoreCleanup), so a restart or another gateway finishes it.
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../log/logger.js';
import { storeFromKey, storeKey, type StoreRef } from '../vectors/layout.js';
import type { VectorStores } from '../vectors/store.js';

export interface CleanupScheduler {
  /** After a forget removed rows from the store: its purge is due one window from now. */
  noteForgotten(store: StoreRef): Promise<void>;
  /** Purges every store that is due now; answers how many it purged (the timer calls it; tests may too). */
  runDue(): Promise<number>;
  close(): Promise<void>;
}

export interface CleanupDeps {
  readonly db: { readonly prisma: PrismaClient };
  readonly vectors: Pick<VectorStores, 'purgeStore'>;
  readonly log: Pick<Logger, 'info' | 'warn'>;
  readonly windowMs: number;
}

/** How often due purges are looked for: a tenth of the window, from 1 second to 1 minute. */
const checkEveryMs = (windowMs: number) => Math.min(60_000, Math.max(1_000, windowMs / 10));

export function createCleanupScheduler(deps: CleanupDeps): CleanupScheduler {
  const { prisma } = deps.db;
  let running: Promise<number> | null = null;
  let closed = false;

  async function purgeDue(): Promise<number> {
    const due = await prisma.storeCleanup.findMany({ where: { dueAt: { lte: new Date() } }, orderBy: { dueAt: 'asc' }, take: 100 });
    let purged = 0;
    for (const row of due) {
      if (closed) break;
      const store = storeFromKey(row.store);
      if (!store) {
        await prisma.storeCleanup.deleteMany({ where: { store: row.store } });
        continue;
      }
      const started = performance.now();
      try {
        if (!(await deps.vectors.purgeStore(store))) continue; // an index build holds the store: the next round
        // Done only if no forget came after it: a later one moved dueAt on and still needs its own purge.
        await prisma.storeCleanup.deleteMany({ where: { store: row.store, dueAt: row.dueAt } });
        purged += 1;
        deps.log.info({ store: row.store, ms: Math.round(performance.now() - started) }, 'forgotten records purged');
      } catch (error) {
        deps.log.warn({ store: row.store, err: error instanceof Error ? error.message : String(error) }, 'purging forgotten records failed; it is retried');
      }
    }
    return purged;
  }

  const runDue = () => {
    running ??= purgeDue().finally(() => (running = null));
    return running;
  };
  const timer = setInterval(() => void runDue().catch(() => undefined), checkEveryMs(deps.windowMs));
  timer.unref();

  return {
    async noteForgotten(store) {
      const key = storeKey(store);
      const dueAt = new Date(Date.now() + deps.windowMs);
      await prisma.storeCleanup.upsert({ where: { store: key }, create: { store: key, tenantId: store.tenantId, dueAt }, update: { dueAt } });
      // A window of 0: at once, after this forget answers.
      if (deps.windowMs === 0) setImmediate(() => void runDue().catch(() => undefined));
    },
    runDue,
    async close() {
      closed = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
