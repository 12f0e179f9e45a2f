// The only place a storage location is built: store → URI of the directory that
// holds its `vectors.lance` table. Every identifier is validated before use.
import path from 'node:path';

export type StoreRef =
  | { readonly scope: 'DOMAIN'; readonly tenantId: string; readonly domainKey: string }
  | { readonly scope: 'SURFACE'; readonly tenantId: string; readonly surfaceKey: string }
  | { readonly scope: 'GLOBAL'; readonly tenantId: string };

/** Domain and surface keys, and tenant ids: the only strings that ever become path segments. */
export const KEY_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

export const TABLE_NAME = 'vectors';

export class LayoutError extends Error {
  override name = 'LayoutError';
}

function segment(value: string, what: string): string {
  // Identifiers come from the control plane, already validated; checking again costs nothing.
  if (!KEY_PATTERN.test(value)) throw new LayoutError(`refusing to build a storage path from an invalid ${what}`);
  return value;
}

/** Path segments of a store under the storage root, e.g. [tenant, 'domains', 'health']. */
export function storeSegments(store: StoreRef): string[] {
  const tenant = segment(store.tenantId, 'tenant id');
  switch (store.scope) {
    case 'DOMAIN':
      return [tenant, 'domains', segment(store.domainKey, 'domain key')];
    case 'SURFACE':
      return [tenant, 'surfaces', segment(store.surfaceKey, 'surface key')];
    case 'GLOBAL':
      return [tenant, 'global'];
  }
}

/** The prefix holding all of a tenant's stores (for erasure, export and usage). */
export function tenantSegments(tenantId: string): string[] {
  return [segment(tenantId, 'tenant id')];
}

/** The URI a LanceDB connection opens for this store; the table inside is always TABLE_NAME. */
export function storeUri(root: string, store: StoreRef): string {
  const segments = storeSegments(store);
  return root.startsWith('s3://') ? `${root}/${segments.join('/')}` : path.join(root, ...segments);
}

/** A stable key naming a store, for caches and loaders. */
export function storeKey(store: StoreRef): string {
  return storeSegments(store).join('/');
}

/** The store a storeKey names, or null for anything that is not one (validated segment by segment). */
export function storeFromKey(key: string): StoreRef | null {
  const [tenantId, kind, name, ...rest] = key.split('/');
  if (!tenantId || !KEY_PATTERN.test(tenantId) || rest.length > 0) return null;
  if (kind === 'global' && name === undefined) return { scope: 'GLOBAL', tenantId };
  if (!name || !KEY_PATTERN.test(name)) return null;
  if (kind === 'domains') return { scope: 'DOMAIN', tenantId, domainKey: name };
  if (kind === 'surfaces') return { scope: 'SURFACE', tenantId, surfaceKey: name };
  return null;
}
