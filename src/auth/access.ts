// What a viewer may use: which domains it can read or write and which surfaces
// it can see. Shield rules ask these questions; the storage layer asks them again.
import type { StoreRef } from '../vectors/layout.js';
import { BadUserInputError, ForbiddenError } from './errors.js';
import type { Viewer } from './viewer.js';

export function canReadDomain(viewer: Viewer, domainKey: string): boolean {
  return viewer.role === 'OWNER' || viewer.mounts.has(domainKey);
}

export function canWriteDomain(viewer: Viewer, domainKey: string): boolean {
  return viewer.role === 'OWNER' || viewer.mounts.get(domainKey)?.access === 'READ_WRITE';
}

/** Owners see every surface of their tenant; a surface sees only itself. */
export function canSeeSurfaceDetails(viewer: Viewer, surfaceId: string): boolean {
  return viewer.role === 'OWNER' || viewer.surface?.id === surfaceId;
}

/** The surfaces of a list the caller may see: all for the owner (or the fresh owner of signUp), itself for a surface. */
export function visibleSurfaces<T extends { id: string }>(viewer: Viewer | null, surfaces: readonly T[]): T[] {
  return viewer?.role === 'SURFACE' ? surfaces.filter((s) => s.id === viewer.surface?.id) : [...surfaces];
}

/** The domains of a list the caller may see: all for the owner, the mounted ones for a surface. */
export function visibleDomains<T extends { key: string }>(viewer: Viewer | null, domains: readonly T[]): T[] {
  return viewer?.role === 'SURFACE' ? domains.filter((d) => viewer.mounts.has(d.key)) : [...domains];
}

// ---- Store grants: the only way the vectors layer opens a table. ----


const MINT = Symbol('store-grant');

/** Permission to read (or read and write) exactly one store. Only this module can make one. */
export class StoreGrant {
  readonly store: StoreRef;
  readonly write: boolean;
  /** The surface acting, recorded as the writer of new records. */
  readonly writerSurfaceId: string | null;

  constructor(mint: symbol, viewer: Viewer, store: StoreRef, write: boolean) {
    if (mint !== MINT) throw new Error('store grants are made by auth/access only');
    // The second layer: whatever a resolver asked for, the viewer's own tenant and mounts decide.
    if (store.tenantId !== viewer.tenantId) throw new ForbiddenError();
    this.store = store;
    this.write = write;
    this.writerSurfaceId = viewer.surface?.id ?? null;
  }
}

export function grantDomain(viewer: Viewer, domainKey: string, write: boolean): StoreGrant {
  const allowed = write ? canWriteDomain(viewer, domainKey) : canReadDomain(viewer, domainKey);
  if (!allowed) {
    throw new ForbiddenError(
      write ? `domain ${JSON.stringify(domainKey)} is not mounted READ_WRITE for this surface` : `domain ${JSON.stringify(domainKey)} is not mounted for this surface`,
    );
  }
  return new StoreGrant(MINT, viewer, { scope: 'DOMAIN', tenantId: viewer.tenantId, domainKey }, write);
}

/** A surface's private store: only the surface itself, never the owner or another surface. */
export function grantOwnSurfaceStore(viewer: Viewer, write: boolean): StoreGrant {
  if (viewer.role !== 'SURFACE' || !viewer.surface) throw new BadUserInputError('only a surface token has a private surface store', 'scope');
  return new StoreGrant(MINT, viewer, { scope: 'SURFACE', tenantId: viewer.tenantId, surfaceKey: viewer.surface.key }, write);
}

/** The global store: every token of the tenant reads it; only the owner writes. */
export function grantGlobal(viewer: Viewer, write: boolean): StoreGrant {
  if (write && viewer.role !== 'OWNER') throw new ForbiddenError('only the owner writes to the global store');
  return new StoreGrant(MINT, viewer, { scope: 'GLOBAL', tenantId: viewer.tenantId }, write);
}
