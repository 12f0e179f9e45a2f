// Permission to use exactly one store. The vectors layer opens a table only for a minted grant;
// minting is reserved to auth/access.ts (the dependency rules refuse any other importer of mintStoreGrant).
import type { StoreRef } from './layout.js';

const minted = new WeakSet<object>();

export interface StoreGrant {
  readonly store: StoreRef;
  readonly write: boolean;
  /** The surface acting, recorded as the writer of new records; null for the owner. */
  readonly writerSurfaceId: string | null;
}

/** Makes a grant. Only auth/access.ts calls this, after deciding from the viewer's own tenant and mounts. */
export function mintStoreGrant(store: StoreRef, write: boolean, writerSurfaceId: string | null): StoreGrant {
  const grant = Object.freeze({ store, write, writerSurfaceId });
  minted.add(grant);
  return grant;
}

/** Whether this object is a grant that was minted (not a look-alike built elsewhere). */
export function isMintedGrant(grant: unknown): grant is StoreGrant {
  return typeof grant === 'object' && grant !== null && minted.has(grant);
}
