// What a tenant costs to keep: records and stored bytes per store, from the storage listing (S3 ListObjectsV2 or file
// sizes) and each table's row count, remembered briefly so that a dashboard polling it does not list the bucket.
import type { PrismaClient } from '../generated/prisma/client.js';
import type { StoreRef } from '../vectors/layout.js';
import { tenantSegments } from '../vectors/layout.js';
import type { ObjectStorage } from '../vectors/objects.js';
import type { VectorStores } from '../vectors/store.js';

export interface StoreUsage {
  scope: StoreRef['scope'];
  /** The domain key (DOMAIN) or surface key (SURFACE); null for GLOBAL. */
  key: string | null;
  records: number;
  /** Bytes of every object of the store: data, old versions kept for the cleanup window, indexes, manifests. */
  bytes: number;
  files: number;
}

export interface TenantUsage {
  tenantId: string;
  stores: StoreUsage[];
  records: number;
  bytes: number;
  /** When it was measured (it is remembered for USAGE_CACHE_MS). */
  measuredAt: Date;
}

export interface UsageDeps {
  readonly db: { readonly prisma: PrismaClient };
  readonly vectors: Pick<VectorStores, 'storeCount'>;
  readonly objects: ObjectStorage;
}

export const USAGE_CACHE_MS = 30_000;

/** The store an object key (tenant/domains/health/vectors.lance/…) belongs to. */
function storeOf(key: string): { scope: StoreRef['scope']; key: string | null } | null {
  const [, kind, name] = key.split('/');
  if (kind === 'domains' && name) return { scope: 'DOMAIN', key: name };
  if (kind === 'surfaces' && name) return { scope: 'SURFACE', key: name };
  if (kind === 'global') return { scope: 'GLOBAL', key: null };
  return null;
}

/** Measures a tenant's usage now: every store it has rows for, and any files the listing finds. */
export async function measureUsage(deps: UsageDeps, tenantId: string): Promise<TenantUsage> {
  const tenant = await deps.db.prisma.tenant.findUnique({
    where: { id: tenantId },
    select: { domains: { select: { key: true }, orderBy: { key: 'asc' } }, surfaces: { select: { key: true }, orderBy: { key: 'asc' } } },
  });
  const stores = new Map<string, StoreUsage>();
  const entry = (scope: StoreRef['scope'], key: string | null) => {
    const id = `${scope}/${key ?? ''}`;
    let usage = stores.get(id);
    if (!usage) {
      usage = { scope, key, records: 0, bytes: 0, files: 0 };
      stores.set(id, usage);
    }
    return usage;
  };
  for (const d of tenant?.domains ?? []) entry('DOMAIN', d.key);
  entry('GLOBAL', null);
  for (const s of tenant?.surfaces ?? []) entry('SURFACE', s.key);
  for await (const page of deps.objects.list(tenantSegments(tenantId))) {
    for (const object of page) {
      const store = storeOf(object.key);
      if (!store) continue;
      const usage = entry(store.scope, store.key);
      usage.bytes += object.size;
      usage.files += 1;
    }
  }
  for (const usage of stores.values()) {
    if (usage.files === 0) continue;
    const ref: StoreRef =
      usage.scope === 'DOMAIN' ? { scope: 'DOMAIN', tenantId, domainKey: usage.key as string } : usage.scope === 'SURFACE' ? { scope: 'SURFACE', tenantId, surfaceKey: usage.key as string } : { scope: 'GLOBAL', tenantId };
    usage.records = await deps.vectors.storeCount(ref);
  }
  const list = [...stores.values()];
  return { tenantId, stores: list, records: list.reduce((n, s) => n + s.records, 0), bytes: list.reduce((n, s) => n + s.bytes, 0), measuredAt: new Date() };
}

/** Usage remembered per tenant for USAGE_CACHE_MS, concurrent askers sharing one measurement. */
export function createUsageCache(deps: UsageDeps, maxAgeMs = USAGE_CACHE_MS) {
  const cached = new Map<string, { at: number; value: Promise<TenantUsage> }>();
  return (tenantId: string): Promise<TenantUsage> => {
    const hit = cached.get(tenantId);
    if (hit && Date.now() - hit.at < maxAgeMs) return hit.value;
    const value = measureUsage(deps, tenantId);
    cached.set(tenantId, { at: Date.now(), value });
    value.catch(() => cached.delete(tenantId));
    if (cached.size > 10_000) cached.delete(cached.keys().next().value as string);
    return value;
  };
}
