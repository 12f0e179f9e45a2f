// Who is calling: resolves a bearer token to a viewer (owner or surface, with
// the surface's mounts) on every request. Unknown, revoked or expired → UNAUTHENTICATED.
import type { PrismaClient } from '../generated/prisma/client.js';
import { UnauthenticatedError } from '../errors.js';
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
  /**
   * Domain key → access. A surface: its mounts. The owner: every domain of the tenant when the request began
   * (owners may use any domain of theirs; one created later in the same request is found in the database).
   */
  readonly mounts: ReadonlyMap<string, { readonly domainId: string; readonly access: Access }>;
  /** When the token stops working (long-lived streams end then); null for no expiry. */
  readonly expiresAt: Date | null;
}

interface ViewerRow {
  id: string;
  tenantId: string;
  role: 'OWNER' | 'SURFACE';
  expiresAt: Date | string | null;
  revokedAt: Date | string | null;
  surfaceId: string | null;
  surfaceKey: string | null;
  surfaceTenantId: string | null;
  homeDomainId: string | null;
  homeDomainKey: string | null;
  /** Surface tokens: the surface's mounts. Owner tokens: every domain of the tenant. */
  domains: ViewerDomain[] | string | null;
}

interface ViewerDomain {
  domainId: string;
  key: string;
  access: Access;
}

/**
 * Resolves the Authorization header in one round trip. No header → null (anonymous); anything unusable → throws.
 * Every request pays this, so the token, its surface, the home domain and the mounts (or, for the owner, the
 * tenant's domains) come back from a single statement.
 */
export async function resolveViewer(prisma: PrismaClient, header: string | null, now = new Date()): Promise<Viewer | null> {
  const hash = tokenHashOf(header);
  return hash === null ? null : viewerOfHash(prisma, hash, now);
}

/** The hash of the header's bearer token; null for no header; UNAUTHENTICATED for a malformed one. */
export function tokenHashOf(header: string | null): string | null {
  const token = bearerToken(header);
  if (token === undefined) return null;
  if (token === null || !looksLikeToken(token)) throw new UnauthenticatedError('the bearer token is malformed');
  return hashToken(token);
}

/** The viewer of a token hash, from the database; UNAUTHENTICATED when unknown, revoked or expired. */
export async function viewerOfHash(prisma: PrismaClient, hash: string, now = new Date()): Promise<Viewer> {
  const rows = await prisma.$queryRaw<ViewerRow[]>`
    SELECT t.id, t."tenantId", t.role::text AS role, t."expiresAt", t."revokedAt",
           s.id AS "surfaceId", s.key AS "surfaceKey", s."tenantId" AS "surfaceTenantId",
           s."homeDomainId", hd.key AS "homeDomainKey",
           CASE WHEN t.role = 'OWNER' THEN
             (SELECT json_agg(json_build_object('domainId', d.id, 'key', d.key, 'access', 'READ_WRITE'))
                FROM "Domain" d WHERE d."tenantId" = t."tenantId")
           ELSE
             (SELECT json_agg(json_build_object('domainId', m."domainId", 'key', d.key, 'access', m.access::text))
                FROM "Mount" m JOIN "Domain" d ON d.id = m."domainId" WHERE m."surfaceId" = s.id)
           END AS domains
    FROM "Token" t
    LEFT JOIN "Surface" s ON s.id = t."surfaceId"
    LEFT JOIN "Domain" hd ON hd.id = s."homeDomainId"
    WHERE t.hash = ${hash}`;
  const row = rows[0];
  if (!row || row.revokedAt !== null) throw new UnauthenticatedError('the bearer token is unknown or revoked');
  const expiresAt = row.expiresAt === null ? null : new Date(row.expiresAt);
  if (expiresAt !== null && expiresAt.getTime() <= now.getTime()) throw new UnauthenticatedError('the bearer token has expired');
  // json_agg arrives decoded from some drivers and as text from others.
  const domains = (typeof row.domains === 'string' ? JSON.parse(row.domains) : row.domains) as ViewerDomain[] | null;
  const mounts = new Map<string, { domainId: string; access: Access }>();
  for (const d of domains ?? []) mounts.set(d.key, { domainId: d.domainId, access: d.access === 'READ_WRITE' ? 'READ_WRITE' : 'READ' });
  if (row.role === 'OWNER') return { role: 'OWNER', tenantId: row.tenantId, tokenId: row.id, surface: null, mounts, expiresAt };
  // A surface token whose surface is gone, or belongs elsewhere, is as good as revoked (deny by default).
  if (row.role !== 'SURFACE' || !row.surfaceId || !row.surfaceKey || !row.homeDomainId || !row.homeDomainKey || row.surfaceTenantId !== row.tenantId) {
    throw new UnauthenticatedError('the bearer token is unknown or revoked');
  }
  // The home domain is always READ_WRITE, whatever the rows say.
  mounts.set(row.homeDomainKey, { domainId: row.homeDomainId, access: 'READ_WRITE' });
  return {
    role: 'SURFACE',
    tenantId: row.tenantId,
    tokenId: row.id,
    surface: { id: row.surfaceId, key: row.surfaceKey, homeDomainId: row.homeDomainId, homeDomainKey: row.homeDomainKey },
    mounts,
    expiresAt,
  };
}
