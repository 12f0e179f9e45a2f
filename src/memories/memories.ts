// Remember, forget and the choice of stores a search reads: each store is
// reached only through a grant made from the viewer's own mounts.
import type { PrismaClient } from '../generated/prisma/client.js';
import { grantStores, type StoreGrant } from '../auth/access.js';
import { BadUserInputError, NotFoundError } from '../errors.js';
import type { Viewer } from '../auth/viewer.js';
import { toWire, type NexusEvents } from '../events/nexus-events.js';
import { assertRecordId, prepareRecords, type RecordInput, type Scope, type StoredRecord } from '../vectors/records.js';
import type { VectorStores } from '../vectors/store.js';

export interface MemoryDeps {
  readonly db: { readonly prisma: PrismaClient };
  readonly vectors: VectorStores;
  readonly events: NexusEvents;
  readonly config: { readonly vectorDimension: number };
}

export interface StoreChoice {
  scope?: Scope | null;
  domain?: string | null;
}

/** The store a remember/forget targets (DOMAIN defaults to the surface's home domain), as access decides it. */
export async function writeGrant(deps: Pick<MemoryDeps, 'db'>, viewer: Viewer, choice: StoreChoice): Promise<StoreGrant> {
  const { grants, unconfirmedDomains } = grantStores(viewer, { op: 'write', scope: choice.scope, domain: choice.domain });
  await assertDomainsExist(deps.db.prisma, viewer, unconfirmedDomains);
  const [grant] = grants;
  if (!grant) throw new Error('a write decision names exactly one store');
  return grant;
}

/** NOT_FOUND for the first key that is not one of the tenant's domains. */
async function assertDomainsExist(prisma: PrismaClient, viewer: Viewer, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  const found = new Set(
    (await prisma.domain.findMany({ where: { tenantId: viewer.tenantId, key: { in: [...keys] } }, select: { key: true } })).map((d) => d.key),
  );
  const missing = keys.find((k) => !found.has(k));
  if (missing !== undefined) throw new NotFoundError('domain', missing);
}

export async function remember(deps: MemoryDeps, viewer: Viewer, choice: StoreChoice, records: readonly RecordInput[]): Promise<StoredRecord[]> {
  const grant = await writeGrant(deps, viewer, choice);
  const prepared = prepareRecords(records, deps.config.vectorDimension);
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
  if (grant.store.scope === 'DOMAIN') {
    // Only what existed was forgotten: an id that never did is no event.
    for (const recordId of deleted) {
      deps.events.publish({ type: 'FORGOTTEN', tenantId: viewer.tenantId, domainKey: grant.store.domainKey, surfaceId: grant.writerSurfaceId, record: null, recordId });
    }
  }
  return deleted.length;
}

export interface ReadChoice {
  domains?: readonly string[] | null;
  includeSurface?: boolean | null;
  includeGlobal?: boolean | null;
}

/** The stores a fused search or a subscription reads: the named (or every readable) domain, plus the private and global stores on request. */
export async function readGrants(deps: Pick<MemoryDeps, 'db'>, viewer: Viewer, choice: ReadChoice): Promise<StoreGrant[]> {
  const { grants, unconfirmedDomains } = grantStores(viewer, { op: 'read', ...choice });
  await assertDomainsExist(deps.db.prisma, viewer, unconfirmedDomains);
  return grants;
}
