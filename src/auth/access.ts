// The one access decision: which stores a viewer may read or write, and which surfaces and
// domains it may see. Shield rules ask it before any resolver runs; resolvers ask it again for grants.
import { BadUserInputError, ForbiddenError, UnauthenticatedError } from '../errors.js';
import type { StoreRef } from '../vectors/layout.js';
import type { Scope } from '../vectors/records.js';
import { mintStoreGrant, type StoreGrant } from '../vectors/store-grant.js';
import { isKey, KEY_PATTERN } from './identifiers.js';
import type { Viewer } from './viewer.js';

export type { StoreGrant };

/** Most domains one request may name. */
export const MAX_DOMAINS_PER_REQUEST = 64;

const denied = {
  notMounted: (key: string) => new ForbiddenError(`domain ${JSON.stringify(key)} is not mounted for this surface`),
  notWritable: (key: string) => new ForbiddenError(`domain ${JSON.stringify(key)} is not mounted READ_WRITE for this surface`),
  globalWrite: () => new ForbiddenError('only the owner writes to the global store'),
  noSurfaceStore: (field: string) => new BadUserInputError('only a surface token has a private surface store', field),
  badKey: (field: string) => new BadUserInputError(`${field} must match ${KEY_PATTERN.source} (lowercase letter first, then up to 31 of a-z, 0-9, -)`, field),
};

export function canReadDomain(viewer: Viewer, domainKey: string): boolean {
  return viewer.role === 'OWNER' || viewer.mounts.has(domainKey);
}

export function canWriteDomain(viewer: Viewer, domainKey: string): boolean {
  return viewer.role === 'OWNER' || viewer.mounts.get(domainKey)?.access === 'READ_WRITE';
}

/** What a request asks to use: the stores of a search or subscription, or the one store of a write. */
export type StoreIntent =
  | {
      readonly op: 'read';
      /** Domain keys as the client sent them; null or absent means every readable domain. */
      readonly domains?: readonly unknown[] | null;
      readonly includeSurface?: boolean | null;
      readonly includeGlobal?: boolean | null;
    }
  | { readonly op: 'write'; readonly scope?: Scope | null; readonly domain?: unknown };

export interface StoreDecision {
  readonly stores: readonly StoreRef[];
  readonly write: boolean;
  /**
   * Domains the owner named that were not among the tenant's domains when the request began (one may have been
   * created since): the caller must confirm they exist before using them.
   */
  readonly unconfirmedDomains: readonly string[];
}

function domainKey(value: unknown, field: string): string {
  if (typeof value !== 'string' || !isKey(value)) throw denied.badKey(field);
  return value;
}

function decideRead(viewer: Viewer, intent: Extract<StoreIntent, { op: 'read' }>): StoreDecision {
  let keys: string[];
  if (intent.domains == null) {
    keys = [...viewer.mounts.keys()].sort();
  } else {
    if (intent.domains.length > MAX_DOMAINS_PER_REQUEST) throw new BadUserInputError(`at most ${MAX_DOMAINS_PER_REQUEST} domains`, 'domains');
    keys = [...new Set(intent.domains.map((k) => domainKey(k, 'domains')))];
    for (const key of keys) if (!canReadDomain(viewer, key)) throw denied.notMounted(key);
  }
  const stores: StoreRef[] = keys.map((key) => ({ scope: 'DOMAIN', tenantId: viewer.tenantId, domainKey: key }));
  if (intent.includeSurface) {
    if (viewer.role !== 'SURFACE' || !viewer.surface) throw denied.noSurfaceStore('includeSurface');
    stores.push({ scope: 'SURFACE', tenantId: viewer.tenantId, surfaceKey: viewer.surface.key });
  }
  // Every token of the tenant reads the global store.
  if (intent.includeGlobal) stores.push({ scope: 'GLOBAL', tenantId: viewer.tenantId });
  return { stores, write: false, unconfirmedDomains: keys.filter((k) => !viewer.mounts.has(k)) };
}

function decideWrite(viewer: Viewer, intent: Extract<StoreIntent, { op: 'write' }>): StoreDecision {
  const scope = intent.scope ?? 'DOMAIN';
  if (scope !== 'DOMAIN' && intent.domain != null) throw new BadUserInputError('domain is only used with scope DOMAIN', 'domain');
  if (scope === 'GLOBAL') {
    if (viewer.role !== 'OWNER') throw denied.globalWrite();
    return { stores: [{ scope: 'GLOBAL', tenantId: viewer.tenantId }], write: true, unconfirmedDomains: [] };
  }
  if (scope === 'SURFACE') {
    if (viewer.role !== 'SURFACE' || !viewer.surface) throw denied.noSurfaceStore('scope');
    return { stores: [{ scope: 'SURFACE', tenantId: viewer.tenantId, surfaceKey: viewer.surface.key }], write: true, unconfirmedDomains: [] };
  }
  const requested = intent.domain ?? viewer.surface?.homeDomainKey;
  if (requested == null) throw new BadUserInputError('domain is required for an owner token (only surfaces have a home domain)', 'domain');
  const key = domainKey(requested, 'domain');
  if (!canWriteDomain(viewer, key)) throw denied.notWritable(key);
  return { stores: [{ scope: 'DOMAIN', tenantId: viewer.tenantId, domainKey: key }], write: true, unconfirmedDomains: viewer.mounts.has(key) ? [] : [key] };
}

/**
 * The decision itself: synchronous, from the viewer alone (its own tenant and mounts), so the shield can ask it
 * before anything runs. Throws the coded error a client should see; never touches storage.
 */
export function decideStores(viewer: Viewer | null, intent: StoreIntent): StoreDecision {
  if (!viewer) throw new UnauthenticatedError();
  return intent.op === 'read' ? decideRead(viewer, intent) : decideWrite(viewer, intent);
}

/** The same decision, as grants: the only way the vectors layer opens a table. */
export function grantStores(viewer: Viewer | null, intent: StoreIntent): { grants: StoreGrant[]; unconfirmedDomains: readonly string[] } {
  const decision = decideStores(viewer, intent);
  const writer = viewer?.surface?.id ?? null;
  return { grants: decision.stores.map((store) => mintStoreGrant(store, decision.write, writer)), unconfirmedDomains: decision.unconfirmedDomains };
}

// ---- What a viewer sees of the tenant's surfaces and domains. ----

/** Owners see every surface of their tenant; a surface sees only itself. */
export function canSeeSurfaceDetails(viewer: Viewer, surfaceId: string): boolean {
  return viewer.role === 'OWNER' || viewer.surface?.id === surfaceId;
}

/** Whether the viewer may see this domain at all (its key and name): the owner, or a surface that mounts it. */
export function canSeeDomain(viewer: Viewer | null, domainId: string): boolean {
  if (viewer?.role !== 'SURFACE') return true;
  for (const mount of viewer.mounts.values()) if (mount.domainId === domainId) return true;
  return false;
}

/** The surfaces of a list the caller may see: all for the owner (or the fresh owner of signUp), itself for a surface. */
export function visibleSurfaces<T extends { id: string }>(viewer: Viewer | null, surfaces: readonly T[]): T[] {
  return viewer?.role === 'SURFACE' ? surfaces.filter((s) => s.id === viewer.surface?.id) : [...surfaces];
}

/** The domains of a list the caller may see: all for the owner, the mounted ones for a surface. */
export function visibleDomains<T extends { key: string }>(viewer: Viewer | null, domains: readonly T[]): T[] {
  return viewer?.role === 'SURFACE' ? domains.filter((d) => viewer.mounts.has(d.key)) : [...domains];
}
