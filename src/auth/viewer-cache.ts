// Who a token is, remembered for a short while so that a request does not pay a database round trip for it.
// Revocation and mount changes stay immediate: every change drops the tenant's entries on every gateway
// (events.publishViewersChanged), and while that channel is down nothing is remembered at all.
import type { PrismaClient } from '../generated/prisma/client.js';
import { tokenHashOf, viewerOfHash, type Viewer } from './viewer.js';

export interface ViewerCacheOptions {
  /** How long an entry is trusted at most, even with no change heard (0: no cache). */
  maxAgeMs: number;
  /** Entries kept at most (least recently used go first). */
  maxEntries: number;
  /** Whether changes made on other gateways reach this one now. */
  channelUp(): boolean;
}

export interface ViewerCache {
  /** The viewer of an Authorization header: null without one; UNAUTHENTICATED for a bad token. */
  resolve(header: string | null, now?: Date): Promise<Viewer | null>;
  /** Forgets every token of the tenant (called for changes heard from any gateway, this one included). */
  invalidateTenant(tenantId: string): void;
  size(): number;
}

interface Entry {
  viewer: Viewer;
  at: number;
}

export function createViewerCache(prisma: PrismaClient, options: ViewerCacheOptions): ViewerCache {
  // token hash → entry; Map order is recency order. Only tokens that worked are kept: garbage costs no memory.
  const entries = new Map<string, Entry>();
  // Bumped by every change: a lookup that started before a change may not store what it read.
  let generation = 0;
  // Lookups under way, so that concurrent requests with one token (an expired entry, a burst) share one.
  const inFlight = new Map<string, Promise<Viewer>>();

  return {
    async resolve(header, now = new Date()) {
      const hash = tokenHashOf(header);
      if (hash === null) return null;
      if (options.maxAgeMs <= 0 || !options.channelUp()) {
        entries.clear();
        return viewerOfHash(prisma, hash, now);
      }
      const hit = entries.get(hash);
      if (hit) {
        entries.delete(hash);
        const fresh = now.getTime() - hit.at < options.maxAgeMs && (hit.viewer.expiresAt === null || hit.viewer.expiresAt.getTime() > now.getTime());
        if (fresh) {
          entries.set(hash, hit);
          return hit.viewer;
        }
      }
      const shared = inFlight.get(hash);
      if (shared) return shared;
      const started = generation;
      const lookup = viewerOfHash(prisma, hash, now).then((viewer) => {
        if (started === generation) {
          entries.set(hash, { viewer, at: now.getTime() });
          while (entries.size > options.maxEntries) entries.delete(entries.keys().next().value as string);
        }
        return viewer;
      });
      inFlight.set(hash, lookup);
      try {
        return await lookup;
      } finally {
        inFlight.delete(hash);
      }
    },
    invalidateTenant(tenantId) {
      generation += 1;
      // A lookup under way may have read the old rows: later requests must not join it.
      inFlight.clear();
      for (const [hash, entry] of entries) if (entry.viewer.tenantId === tenantId) entries.delete(hash);
    },
    size: () => entries.size,
  };
}
