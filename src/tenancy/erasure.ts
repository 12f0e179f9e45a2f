// A person gone for good, and a surface removed: physical erasure of rows and files. A tenant's erasure is recorded
// and its tokens revoked in one transaction before anything is deleted, so it stops working at once and a crash
// midway is finished at the next start-up (resumeErasures). Storage goes before rows: rows left behind can always
// name what is still to delete, files left behind could not.
import type { PrismaClient } from '../generated/prisma/client.js';
import { BadUserInputError, NotFoundError } from '../errors.js';
import { assertKey, isKey } from '../auth/identifiers.js';
import type { NexusEvents } from '../events/nexus-events.js';
import { storeSegments, tenantSegments } from '../vectors/layout.js';
import type { ObjectStorage } from '../vectors/objects.js';
import type { VectorStores } from '../vectors/store.js';

export interface ErasureDeps {
  readonly db: { readonly prisma: PrismaClient };
  readonly vectors: Pick<VectorStores, 'releaseStores' | 'indexIdle'>;
  readonly objects: ObjectStorage;
  readonly events: Pick<NexusEvents, 'publishViewersChanged' | 'publishAccessChange' | 'eraseTenant'>;
  /** Told when an erasure has begun (recorded, tokens revoked) and its deletions start. */
  readonly log?: { info(fields: Record<string, unknown>, message: string): void };
}

export interface ErasureReport {
  tenantId: string;
  /** Objects (files) removed from storage. */
  objects: number;
  ms: number;
}

export type ErasureRequester = 'owner' | 'operator';

/**
 * Step one, at once: the erasure is recorded and every token of the tenant revoked, in one transaction, and every
 * gateway is told (token caches dropped, live streams ended). Idempotent.
 */
async function beginErasure(deps: ErasureDeps, tenantId: string, requestedBy: ErasureRequester): Promise<void> {
  const { prisma } = deps.db;
  await prisma.$transaction([
    prisma.erasure.upsert({ where: { tenantId }, create: { tenantId, requestedBy }, update: {} }),
    prisma.token.updateMany({ where: { tenantId, revokedAt: null }, data: { revokedAt: new Date() } }),
  ]);
  deps.events.publishViewersChanged(tenantId);
  deps.events.publishAccessChange(tenantId);
}

/** The rest: every object under the tenant's prefix (old versions, indexes and manifests too), then every row. */
async function finishErasure(deps: ErasureDeps, tenantId: string, onProgress?: (removed: number) => void): Promise<number> {
  const { prisma } = deps.db;
  deps.vectors.releaseStores(tenantSegments(tenantId).join('/'));
  // Index work of this process on the tenant's stores could write after the files are gone: it ends first.
  await deps.vectors.indexIdle();
  let objects = await deps.objects.removeAll(tenantSegments(tenantId), onProgress);
  // The tenant's kept events (records, vectors) go too, before the erasure's own row does.
  await deps.events.eraseTenant(tenantId);
  await prisma.$transaction([
    // Surfaces before domains: a surface's home domain may not go first (ON DELETE RESTRICT).
    prisma.surface.deleteMany({ where: { tenantId } }),
    prisma.tenant.deleteMany({ where: { id: tenantId } }),
    prisma.storeCleanup.deleteMany({ where: { tenantId } }),
    prisma.erasure.deleteMany({ where: { tenantId } }),
  ]);
  // A write that was in flight when the tokens were revoked may have landed since the first pass.
  objects += await deps.objects.removeAll(tenantSegments(tenantId));
  return objects;
}

/**
 * Erases a tenant for good: its rows (identity, wallet and ledger, domains, surfaces, mounts, tokens) and every file
 * of its stores. Idempotent: erasing an erased tenant removes nothing more. The same email may sign up afterwards.
 */
export async function eraseTenant(deps: ErasureDeps, tenantId: string, requestedBy: ErasureRequester, onProgress?: (removed: number) => void): Promise<ErasureReport> {
  if (!isKey(tenantId)) throw new NotFoundError('tenant', tenantId.slice(0, 64));
  const started = performance.now();
  const exists = await deps.db.prisma.tenant.findUnique({ where: { id: tenantId }, select: { id: true } });
  const pending = await deps.db.prisma.erasure.findUnique({ where: { tenantId } });
  if (!exists && !pending) return { tenantId, objects: await deps.objects.removeAll(tenantSegments(tenantId), onProgress), ms: Math.round(performance.now() - started) };
  await beginErasure(deps, tenantId, requestedBy);
  deps.log?.info({ tenant: tenantId, requestedBy }, 'erasing tenant: recorded, tokens revoked; deleting storage, then rows');
  const objects = await finishErasure(deps, tenantId, onProgress);
  return { tenantId, objects, ms: Math.round(performance.now() - started) };
}

/** Finishes every erasure a crash interrupted (run at start-up); answers what it finished. */
export async function resumeErasures(deps: ErasureDeps): Promise<ErasureReport[]> {
  const pending = await deps.db.prisma.erasure.findMany({ orderBy: { startedAt: 'asc' } });
  const reports: ErasureReport[] = [];
  for (const erasure of pending) {
    const started = performance.now();
    // Tokens issued between the crash and now cannot exist (the tenant's owner is revoked), but revoke again.
    await beginErasure(deps, erasure.tenantId, erasure.requestedBy === 'operator' ? 'operator' : 'owner');
    const objects = await finishErasure(deps, erasure.tenantId);
    reports.push({ tenantId: erasure.tenantId, objects, ms: Math.round(performance.now() - started) });
  }
  return reports;
}

/** The owner's deleteTenant: confirm must be the tenant's own id, typed out. */
export function assertErasureConfirmed(tenantId: string, confirm: string): void {
  if (confirm !== tenantId) throw new BadUserInputError('confirm must be this tenant\'s id, exactly (Viewer.tenant.id): erasure cannot be undone', 'confirm');
}

/**
 * Removes a surface for good: its tokens stop working first, then its private store's files, then its row (its
 * mounts and tokens with it; ledger entries keep their amounts and lose the surface). Records it wrote into domain
 * stores stay there: they belong to the domain. NOT_FOUND for a key the tenant does not have.
 */
export async function deleteSurface(deps: ErasureDeps, tenantId: string, key: string): Promise<{ objects: number }> {
  assertKey(key, 'key');
  const { prisma } = deps.db;
  const surface = await prisma.surface.findUnique({ where: { tenantId_key: { tenantId, key } }, select: { id: true } });
  if (!surface) throw new NotFoundError('surface', key);
  await prisma.token.updateMany({ where: { surfaceId: surface.id, revokedAt: null }, data: { revokedAt: new Date() } });
  deps.events.publishViewersChanged(tenantId);
  deps.events.publishAccessChange(tenantId);
  const segments = storeSegments({ scope: 'SURFACE', tenantId, surfaceKey: key });
  deps.vectors.releaseStores(segments.join('/'));
  let objects = await deps.objects.removeAll(segments);
  await prisma.$transaction([prisma.surface.deleteMany({ where: { id: surface.id } }), prisma.storeCleanup.deleteMany({ where: { store: segments.join('/') } })]);
  objects += await deps.objects.removeAll(segments);
  return { objects };
}
