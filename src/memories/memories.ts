// Remember, forget and the choice of stores a search reads: each store is
// reached only through a grant made from the viewer's own mounts.
import type { PrismaClient } from '../generated/prisma/client.js';
import { grantDomain, grantGlobal, grantOwnSurfaceStore, type StoreGrant } from '../auth/access.js';
import { BadUserInputError, NotFoundError } from '../auth/errors.js';
import { assertKey } from '../auth/identifiers.js';
import type { Viewer } from '../auth/viewer.js';
import { toWire, type NexusEvents } from '../events/nexus-events.js';
import { assertRecordId, prepareRecords, type RecordInput, type Scope, type StoredRecord } from '../vectors/records.js';
import type { VectorStores } from '../vectors/store.js';

export interface MemoryDeps {
  prisma: PrismaClient;
  vectors: VectorStores;
  events: NexusEvents;
  dimension: number;
}

export interface StoreChoice {
  scope?: Scope | null;
  domain?: string | null;
}

/** The store a remember/forget targets; DOMAIN defaults to the surface's home domain. */
export async function writeGrant(deps: Pick<MemoryDeps, 'prisma'>, viewer: Viewer, choice: StoreChoice): Promise<StoreGrant> {
  const scope = choice.scope ?? 'DOMAIN';
  if (scope !== 'DOMAIN') {
    if (choice.domain != null) throw new BadUserInputError(`domain is only used with scope DOMAIN`, 'domain');
    return scope === 'SURFACE' ? grantOwnSurfaceStore(viewer, true) : grantGlobal(viewer, true);
  }
  const key = choice.domain ?? viewer.surface?.homeDomainKey;
  if (key == null) throw new BadUserInputError('domain is required for an owner token (only surfaces have a home domain)', 'domain');
  assertKey(key, 'domain');
  const grant = grantDomain(viewer, key, true);
  // Owners may name any key; it must be one of their domains.
  if (viewer.role === 'OWNER') await assertDomainsExist(deps.prisma, viewer, [key]);
  return grant;
}

/** NOT_FOUND for the first key that is not one of the owner's domains; the database is asked only about keys the viewer does not already know. */
export async function assertDomainsExist(prisma: PrismaClient, viewer: Viewer, keys: readonly string[]): Promise<void> {
  const unknown = keys.filter((k) => !viewer.mounts.has(k));
  if (unknown.length === 0) return;
  const found = new Set(
    (await prisma.domain.findMany({ where: { tenantId: viewer.tenantId, key: { in: unknown } }, select: { key: true } })).map((d) => d.key),
  );
  const missing = unknown.find((k) => !found.has(k));
  if (missing !== undefined) throw new NotFoundError('domain', missing);
}

export async function remember(deps: MemoryDeps, viewer: Viewer, choice: StoreChoice, records: readonly RecordInput[]): Promise<StoredRecord[]> {
  const grant = await writeGrant(deps, viewer, choice);
  const prepared = prepareRecords(records, deps.dimension);
  const stored = await deps.vectors.upsert(grant, prepared);
  if (grant.store.scope === 'DOMAIN') {
    for (const record of stored) {
      deps.events.publish({ type: 'REMEMBERED', tenantId: viewer.tenantId, domainKey: grant.store.domainKey, surfaceId: grant.writerSurfaceId, record: toWire(record) });
    }
  }
  return stored;
}

export async function forget(deps: MemoryDeps, viewer: Viewer, choice: StoreChoice, ids: readonly string[]): Promise<number> {
  const grant = await writeGrant(deps, viewer, choice);
  if (ids.length > 1000) throw new BadUserInputError('at most 1000 ids per call', 'ids');
  const valid = ids.map((id, i) => assertRecordId(String(id), `ids[${i}]`));
  const deleted = await deps.vectors.remove(grant, valid);
  if (grant.store.scope === 'DOMAIN' && deleted > 0) {
    for (const recordId of valid) {
      deps.events.publish({ type: 'FORGOTTEN', tenantId: viewer.tenantId, domainKey: grant.store.domainKey, surfaceId: grant.writerSurfaceId, record: null, recordId });
    }
  }
  return deleted;
}

export interface ReadChoice {
  domains?: readonly string[] | null;
  includeSurface?: boolean | null;
  includeGlobal?: boolean | null;
}

/** The stores a fused search reads: the named (or every readable) domain, plus the private and global stores on request. */
export async function readGrants(deps: Pick<MemoryDeps, 'prisma'>, viewer: Viewer, choice: ReadChoice): Promise<StoreGrant[]> {
  let keys: string[];
  if (choice.domains == null) {
    // Every readable domain: a surface's mounts, or all of the owner's domains.
    keys = [...viewer.mounts.keys()].sort();
  } else {
    if (choice.domains.length > 64) throw new BadUserInputError('at most 64 domains', 'domains');
    keys = [...new Set(choice.domains.map((k) => assertKey(k, 'domains')))];
  }
  const grants = keys.map((key) => grantDomain(viewer, key, false));
  if (viewer.role === 'OWNER' && choice.domains != null) await assertDomainsExist(deps.prisma, viewer, keys);
  if (choice.includeSurface) grants.push(grantOwnSurfaceStore(viewer, false));
  if (choice.includeGlobal) grants.push(grantGlobal(viewer, false));
  return grants;
}
