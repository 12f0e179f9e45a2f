// Issuing and revoking tokens for a tenant's surfaces. The secret is returned
// once; only its hash is stored. Revocation takes effect on the next request.
import type { PrismaClient, Surface, Token } from '../generated/prisma/client.js';
import { BadUserInputError, NotFoundError } from '../errors.js';
import { isUuid } from '../auth/identifiers.js';
import { newToken } from '../auth/tokens.js';
import { surfaceByKey } from './surfaces.js';

const MAX_EXPIRY_SECONDS = 10 * 366 * 24 * 3600;

export async function issueSurfaceToken(
  prisma: PrismaClient,
  tenantId: string,
  input: { surface: string; expiresInSeconds?: number | null },
  now = new Date(),
): Promise<{ row: Token; token: string; surface: Surface }> {
  const seconds = input.expiresInSeconds;
  if (seconds != null && (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_EXPIRY_SECONDS)) {
    throw new BadUserInputError(`expiresInSeconds must be from 1 to ${MAX_EXPIRY_SECONDS}`, 'expiresInSeconds');
  }
  const surface = await surfaceByKey(prisma, tenantId, input.surface);
  const token = newToken('surface');
  const row = await prisma.token.create({
    data: {
      tenantId,
      role: 'SURFACE',
      surfaceId: surface.id,
      hash: token.hash,
      expiresAt: seconds == null ? null : new Date(now.getTime() + seconds * 1000),
    },
  });
  return { row, token: token.token, surface };
}

/** Revokes a token of this tenant; idempotent. Another tenant's id is NOT_FOUND, like a missing one. */
export async function revokeToken(prisma: PrismaClient, tenantId: string, id: string): Promise<boolean> {
  if (!isUuid(id)) throw new NotFoundError('token', id);
  const result = await prisma.token.updateMany({ where: { id, tenantId, revokedAt: null }, data: { revokedAt: new Date() } });
  if (result.count === 0 && !(await prisma.token.findFirst({ where: { id, tenantId }, select: { id: true } }))) {
    throw new NotFoundError('token', id);
  }
  return true;
}
