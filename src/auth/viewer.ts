// Who is calling: resolves a bearer token to a viewer (owner or surface, with
// the surface's mounts) on every request. Unknown, revoked or expired → UNAUTHENTICATED.
import type { PrismaClient } from '../generated/prisma/client.js';
import { UnauthenticatedError } from './errors.js';
import { bearerToken, hashToken, looksLikeToken } from './tokens.js';

export type Access = 'READ' | 'READ_WRITE';

export interface ViewerSurface {
  readonly id: string;
  readonly key: string;
  readonly homeDomainId: string;
  readonly homeDomainKey: string;
}

export interface Viewer {
  readonly role: 'OWNER' | 'SURFACE';
  readonly tenantId: string;
  readonly tokenId: string;
  /** Set for surface tokens only. */
  readonly surface: ViewerSurface | null;
  /** Domain key → access, for surface tokens. Owners may use every domain of their tenant. */
  readonly mounts: ReadonlyMap<string, { readonly domainId: string; readonly access: Access }>;
}

/** Resolves the Authorization header. No header → null (anonymous); anything unusable → throws. */
export async function resolveViewer(prisma: PrismaClient, header: string | null, now = new Date()): Promise<Viewer | null> {
  const token = bearerToken(header);
  if (token === undefined) return null;
  if (token === null || !looksLikeToken(token)) throw new UnauthenticatedError('the bearer token is malformed');
  // One query for the token; a second, only for surface tokens, for the surface and its mounts.
  const row = await prisma.token.findUnique({
    where: { hash: hashToken(token) },
    select: { id: true, tenantId: true, role: true, surfaceId: true, expiresAt: true, revokedAt: true },
  });
  if (!row || row.revokedAt !== null) throw new UnauthenticatedError('the bearer token is unknown or revoked');
  if (row.expiresAt !== null && row.expiresAt.getTime() <= now.getTime()) throw new UnauthenticatedError('the bearer token has expired');
  if (row.role === 'OWNER') {
    return { role: 'OWNER', tenantId: row.tenantId, tokenId: row.id, surface: null, mounts: new Map() };
  }
  const surface = row.surfaceId
    ? await prisma.surface.findUnique({
        where: { id: row.surfaceId },
        include: { homeDomain: { select: { key: true } }, mounts: { select: { domainId: true, access: true, domain: { select: { key: true } } } } },
      })
    : null;
  // A surface token whose surface is gone is as good as revoked (deny by default).
  if (!surface || surface.tenantId !== row.tenantId) throw new UnauthenticatedError('the bearer token is unknown or revoked');
  const mounts = new Map<string, { domainId: string; access: Access }>();
  for (const m of surface.mounts) mounts.set(m.domain.key, { domainId: m.domainId, access: m.access });
  // The home domain is always READ_WRITE, whatever the rows say.
  mounts.set(surface.homeDomain.key, { domainId: surface.homeDomainId, access: 'READ_WRITE' });
  return {
    role: 'SURFACE',
    tenantId: row.tenantId,
    tokenId: row.id,
    surface: { id: surface.id, key: surface.key, homeDomainId: surface.homeDomainId, homeDomainKey: surface.homeDomain.key },
    mounts,
  };
}
