// Everything a request needs, built once per request: the long-lived services (the one way to reach
// them), who is calling, the per-request DataLoaders, and a logger carrying the request id.
import type { Config } from '../config/env.js';
import type { Database } from '../db/create-database.js';
import type { NexusEvents } from '../events/nexus-events.js';
import type { Logger } from '../log/logger.js';
import type { Viewer } from '../auth/viewer.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { VectorStores } from '../vectors/store.js';
import type { ObjectStorage } from '../vectors/objects.js';
import type { TenantUsage } from '../tenancy/usage.js';
import type { CleanupScheduler } from '../memories/cleanup.js';
import type { Loaders } from './loaders/create-loaders.js';
import type { Embedder } from '../embeddings/embedder.js';
import type { CreditMeter } from '../billing/credit-meter.js';
import { UnauthenticatedError } from '../errors.js';

/** The long-lived parts of a server, made once at start-up and shared by all requests. */
export interface Services {
  readonly config: Config;
  readonly db: Database;
  readonly vectors: VectorStores;
  /** The files of the stores as objects (erasure, usage): S3 or the local directory. */
  readonly objects: ObjectStorage;
  /** Purges what forget deleted from every file, NEXUS_CLEANUP_WINDOW after the store's last forget. */
  readonly cleanup: CleanupScheduler;
  /** A tenant's usage per store, measured from storage and remembered briefly. */
  readonly usage: (tenantId: string) => Promise<TenantUsage>;
  /** The server's embedder (NEXUS_EMBEDDER); null: text is searched by BM25 only. */
  readonly embedder: Embedder | null;
  readonly events: NexusEvents;
  readonly rateLimits: RateLimits;
  readonly log: Logger;
  /** Told of each burn and top-up the API applies (the server's metrics); undefined when metrics are off. */
  readonly creditMeter?: CreditMeter;
}

export interface NexusContext {
  readonly services: Services;
  readonly viewer: Viewer | null;
  readonly loaders: Loaders;
  readonly log: Logger;
  readonly requestId: string;
  /** Tenants that signUp created in this request: their objects are the anonymous caller's to read back. */
  readonly signedUpTenantIds: Set<string>;
  /** Where the request comes from (rate limits per address). */
  readonly clientAddress: string;
  /** The request's Last-Event-ID header (a live stream resuming); null without one. */
  readonly lastEventId: string | null;
  /** Looks the request's token up again in the database, past every cache (a live stream checking its access again). */
  readonly revalidateViewer: () => Promise<Viewer | null>;
  /** The id of the live-stream item being sent (the SSE id: line); set by the stream as it hands items out. */
  readonly eventCursor: { id: string | null };
}

/**
 * Who looks at objects of this tenant. For a tenant signUp created in this request that is its fresh owner (null,
 * which the visibility rules of auth/access.ts read as the owner), whatever token the request carried.
 */
export function viewerFor(ctx: NexusContext, tenantId: string): Viewer | null {
  return ctx.signedUpTenantIds.has(tenantId) ? null : ctx.viewer;
}

/** The viewer of a context that the shield rules have already authenticated (and, should a rule be missing, still denied). */
export function viewerOf(ctx: NexusContext): Viewer {
  if (!ctx.viewer) throw new UnauthenticatedError();
  return ctx.viewer;
}
