// A named lock held within this process only: enough when one process owns the storage (PGlite).
// Gateways sharing PostgreSQL pass a lock of the database instead (db/create-database.ts).

/** Runs fn while holding the lock named key. */
export type WithLock = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

export function createProcessLock(): WithLock {
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

/** A try-lock within this process: runs fn unless the key is held, and says whether it ran. */
export function createProcessTryLock(): (key: string, fn: () => Promise<void>) => Promise<boolean> {
  const held = new Set<string>();
  return async (key, fn) => {
    if (held.has(key)) return false;
    held.add(key);
    try {
      await fn();
      return true;
    } finally {
      held.delete(key);
    }
  };
}
