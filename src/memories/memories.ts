// Remember, forget and the choice of stores a search reads: each store is
// reached only through a grant made from the viewer's own mounts.
import type { PrismaClient } from '../generated/prisma/client.js';
import { grantStores, type StoreGrant } from '../auth/access.js';
import { BadUserInputError, NotFoundError } from '../errors.js';
import type { Viewer } from '../auth/viewer.js';
import { toWire, type NexusEvents } from '../events/nexus-events.js';
import { assertRecordId, prepareRecords, recordsToEmbed, type RecordInput, type Scope, type StoredRecord } from '../vectors/records.js';
import type { VectorStores } from '../vectors/store.js';
import type { Embedder } from '../embeddings/embedder.js';
import { assertCanPay, embeddingBurn, embedTexts, withBurn } from '../embeddings/metered.js';
import type { CleanupScheduler } from './cleanup.js';
import type { CreditMeter } from '../billing/credit-meter.js';

export interface MemoryDeps {
  readonly db: { readonly prisma: PrismaClient };
  readonly vectors: VectorStores;
  readonly events: NexusEvents;
  /** Purges stores of what forget deleted, within the cleanup window. */
  readonly cleanup: Pick<CleanupScheduler, 'noteForgotten'>;
  /** The server's embedder; null: text without a vector is stored as text only. */
  readonly embedder: Embedder | null;
  readonly config: { readonly vectorDimension: number; readonly embedder: { readonly creditsPerEmbedding: bigint } };
  /** Told of each embedding burn once committed (the server's metrics). */
  readonly creditMeter?: CreditMeter;
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

/**
 * Writes a batch to one store, all or nothing. With an embedder, text given without a vector is embedded first
 * (EMBEDDER_UNAVAILABLE: nothing written) and paid for in the same request (INSUFFICIENT_CREDITS: nothing written).
 */
export async function remember(deps: MemoryDeps, viewer: Viewer, choice: StoreChoice, records: readonly RecordInput[]): Promise<StoredRecord[]> {
  const grant = await writeGrant(deps, viewer, choice);
  const dimension = deps.config.vectorDimension;
  // Validated whole before the embedder is asked anything.
  let prepared = prepareRecords(records, dimension);
  const toEmbed = deps.embedder ? recordsToEmbed(records) : [];
  const burn = embeddingBurn(deps, viewer, toEmbed.length, 'remember');
  await assertCanPay(deps, burn);
  if (deps.embedder && toEmbed.length > 0) {
    const vectors = await embedTexts(deps.embedder, toEmbed.map((i) => records[i]?.text ?? ''));
    prepared = prepareRecords(records, dimension, Date.now(), new Map(toEmbed.map((index, j) => [index, vectors[j] as Float32Array])));
  }
  const stored = await withBurn(deps.db.prisma, burn, () => deps.vectors.upsert(grant, prepared), deps.creditMeter);
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
  // Deleted rows stay in old versions and data files until the store is purged, one cleanup window from now.
  if (deleted.length > 0) await deps.cleanup.noteForgotten(grant.store);
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
