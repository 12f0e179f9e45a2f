// Per-request DataLoaders for control-plane rows, so nested fields cost one
// query per kind of row, not one per parent. Created fresh for every request.
import DataLoader from 'dataloader';
import { NotFoundError } from '../../errors.js';
import type { Domain, Identity, PrismaClient, Surface, Wallet } from '../../generated/prisma/client.js';
import type { Access } from '../../auth/viewer.js';
import { createStoreSearchLoader } from '../../search/fused-search.js';
import type { VectorStores } from '../../vectors/store.js';

export interface MountRow {
  surfaceId: string;
  domainId: string;
  access: Access;
}

function byKey<K, V>(keys: readonly K[], rows: V[], keyOf: (row: V) => K): (V | null)[] {
  const map = new Map(rows.map((r) => [keyOf(r), r]));
  return keys.map((k) => map.get(k) ?? null);
}

function groupBy<K, V>(keys: readonly K[], rows: V[], keyOf: (row: V) => K): V[][] {
  const map = new Map<K, V[]>(keys.map((k) => [k, []]));
  for (const r of rows) map.get(keyOf(r))?.push(r);
  return keys.map((k) => map.get(k) ?? []);
}

/**
 * `embedQueries` embeds (and pays for) search texts for this request's viewer; absent without an embedder or a
 * viewer. The same text asked by several fields of one request is embedded, and paid for, once.
 */
export function createLoaders(prisma: PrismaClient, vectors: VectorStores, embedQueries?: (texts: readonly string[]) => Promise<Float32Array[]>) {
  return {
    storeSearch: createStoreSearchLoader(vectors),
    queryEmbedding: embedQueries ? new DataLoader<string, Float32Array>((texts) => embedQueries(texts)) : null,
    domainById: new DataLoader<string, Domain | null>(async (ids) =>
      byKey(ids, await prisma.domain.findMany({ where: { id: { in: [...ids] } } }), (d) => d.id),
    ),
    /** Key: `${tenantId}/${domainKey}`. */
    domainByKey: new DataLoader<string, Domain | null>(async (keys) => {
      const pairs = keys.map((k) => {
        const slash = k.indexOf('/');
        return { tenantId: k.slice(0, slash), key: k.slice(slash + 1) };
      });
      const rows = await prisma.domain.findMany({ where: { OR: pairs } });
      return byKey(keys, rows, (d) => `${d.tenantId}/${d.key}`);
    }),
    surfaceById: new DataLoader<string, Surface | null>(async (ids) =>
      byKey(ids, await prisma.surface.findMany({ where: { id: { in: [...ids] } } }), (s) => s.id),
    ),
    mountsBySurfaceId: new DataLoader<string, MountRow[]>(async (ids) =>
      groupBy(ids, await prisma.mount.findMany({ where: { surfaceId: { in: [...ids] } }, orderBy: { domainId: 'asc' } }), (m) => m.surfaceId),
    ),
    mountsByDomainId: new DataLoader<string, MountRow[]>(async (ids) =>
      groupBy(ids, await prisma.mount.findMany({ where: { domainId: { in: [...ids] } } }), (m) => m.domainId),
    ),
    domainsByTenantId: new DataLoader<string, Domain[]>(async (ids) =>
      groupBy(ids, await prisma.domain.findMany({ where: { tenantId: { in: [...ids] } }, orderBy: { key: 'asc' } }), (d) => d.tenantId),
    ),
    surfacesByTenantId: new DataLoader<string, Surface[]>(async (ids) =>
      groupBy(ids, await prisma.surface.findMany({ where: { tenantId: { in: [...ids] } }, orderBy: { key: 'asc' } }), (s) => s.tenantId),
    ),
    identityByTenantId: new DataLoader<string, Identity | null>(async (ids) =>
      byKey(ids, await prisma.identity.findMany({ where: { tenantId: { in: [...ids] } } }), (i) => i.tenantId),
    ),
    walletByTenantId: new DataLoader<string, Wallet | null>(async (ids) =>
      byKey(ids, await prisma.wallet.findMany({ where: { tenantId: { in: [...ids] } } }), (w) => w.tenantId),
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

/** Loads a row every parent must have; a missing one is NOT_FOUND (never a null in a non-null field). */
export async function loadRequired<T>(loader: DataLoader<string, T | null>, key: string, what: string, shown = key): Promise<T> {
  const row = await loader.load(key);
  if (row === null) throw new NotFoundError(what, shown);
  return row;
}
