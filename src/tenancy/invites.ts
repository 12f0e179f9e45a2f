// Invite codes for sign-up by invitation (NEXUS_SIGNUP=invite): an operator issues, lists and revokes them
// (src/cli/), signUp consumes one in the transaction that creates the tenant. A code is 256 random bits,
// shown once when issued; only its SHA-256 hash is stored, so neither the database nor a log holds one.
import { randomBytes } from 'node:crypto';
import type { Invite, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { BadUserInputError, ConflictError, NotFoundError } from '../errors.js';
import { isUuid } from '../auth/identifiers.js';
import { hashToken } from '../auth/tokens.js';

const PREFIX = 'nxi_';
const SHAPE = /^nxi_[A-Za-z0-9_-]{43}$/;

export const MAX_INVITES_PER_ISSUE = 1000;
export const MAX_INVITE_EXPIRY_SECONDS = 10 * 366 * 24 * 3600;

/** An invite as an operator may see it: everything but the hash (the code itself is never kept). */
export type InviteSummary = Omit<Invite, 'hash'> & { readonly state: InviteState };

/** valid: may be used for one sign-up; used, revoked, expired: never again. */
export type InviteState = 'valid' | 'used' | 'revoked' | 'expired';

const SUMMARY = { id: true, createdAt: true, expiresAt: true, revokedAt: true, usedAt: true, usedByTenantId: true } as const;

/** A new code and its hash; the code goes to the operator once, the hash to the database. */
export function newInviteCode(): { readonly code: string; readonly hash: string } {
  const code = PREFIX + randomBytes(32).toString('base64url');
  return { code, hash: hashToken(code) };
}

/** Cheap shape check so garbage never reaches the database. */
export function looksLikeInviteCode(code: string): boolean {
  return SHAPE.test(code);
}

/** Used wins over revoked, revoked over expired. */
export function inviteState(invite: Pick<Invite, 'usedAt' | 'revokedAt' | 'expiresAt'>, now = new Date()): InviteState {
  if (invite.usedAt) return 'used';
  if (invite.revokedAt) return 'revoked';
  if (invite.expiresAt && invite.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'valid';
}

function summarise(row: Omit<Invite, 'hash'>, now: Date): InviteSummary {
  return { ...row, state: inviteState(row, now) };
}

export interface IssueInvitesInput {
  /** How many codes, 1 to MAX_INVITES_PER_ISSUE; default 1. */
  count?: number | null;
  /** Seconds until each code expires, 1 to MAX_INVITE_EXPIRY_SECONDS; default never. */
  expiresInSeconds?: number | null;
}

/** Issues invite codes. The codes are in the answer only: show them once, they cannot be read back. */
export async function issueInvites(
  prisma: PrismaClient,
  input: IssueInvitesInput = {},
  now = new Date(),
): Promise<{ invite: InviteSummary; code: string }[]> {
  const count = input.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_INVITES_PER_ISSUE) {
    throw new BadUserInputError(`count must be a whole number from 1 to ${MAX_INVITES_PER_ISSUE}`, 'count');
  }
  const seconds = input.expiresInSeconds;
  if (seconds != null && (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_INVITE_EXPIRY_SECONDS)) {
    throw new BadUserInputError(`expiresInSeconds must be a whole number from 1 to ${MAX_INVITE_EXPIRY_SECONDS}`, 'expiresInSeconds');
  }
  const expiresAt = seconds == null ? null : new Date(now.getTime() + seconds * 1000);
  const codes = Array.from({ length: count }, newInviteCode);
  const rows = await prisma.invite.createManyAndReturn({
    data: codes.map(({ hash }) => ({ hash, createdAt: now, expiresAt })),
    select: { ...SUMMARY, hash: true },
  });
  const byHash = new Map(rows.map(({ hash, ...row }) => [hash, row]));
  return codes.map(({ code, hash }) => {
    const row = byHash.get(hash);
    if (!row) throw new Error('an issued invite was not returned by the database');
    return { invite: summarise(row, now), code };
  });
}

/** Every invite, oldest first, with its state; never a code or a hash. */
export async function listInvites(prisma: PrismaClient, now = new Date()): Promise<InviteSummary[]> {
  const rows = await prisma.invite.findMany({ select: SUMMARY, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  return rows.map((row) => summarise(row, now));
}

/**
 * Revokes an unused invite so that no sign-up can use it; revoking a revoked one again changes nothing.
 * NOT_FOUND for an id that is not an invite's, CONFLICT for an invite already used (revoking it would change nothing).
 */
export async function revokeInvite(
  prisma: PrismaClient,
  id: string,
  now = new Date(),
): Promise<{ invite: InviteSummary; alreadyRevoked: boolean }> {
  // A code where the id belongs would be echoed into the error (a terminal, a CI log): never do that.
  if (looksLikeInviteCode(id)) throw new BadUserInputError("that is an invite code, not an invite's id (see invite:list)", 'id');
  if (!isUuid(id)) throw new NotFoundError('invite', id);
  // The same row condition signUp's claim uses: of a revoke and a sign-up racing, exactly one wins.
  const result = await prisma.invite.updateMany({ where: { id, usedAt: null, revokedAt: null }, data: { revokedAt: now } });
  const row = await prisma.invite.findUnique({ where: { id }, select: SUMMARY });
  if (!row) throw new NotFoundError('invite', id);
  if (result.count === 0 && row.usedAt) throw new ConflictError(`invite ${id} was already used; revoking it would change nothing`);
  return { invite: summarise(row, now), alreadyRevoked: result.count === 0 };
}

/**
 * Consumes a valid invite (issued, not used, not revoked, not expired) for the tenant being created, inside that
 * tenant's transaction; false when the code is no valid invite's. One conditional UPDATE: two sign-ups racing with
 * one code serialise on its row and only the first finds it unused.
 */
export async function claimInvite(tx: Prisma.TransactionClient, code: string, tenantId: string, now = new Date()): Promise<boolean> {
  if (!looksLikeInviteCode(code)) return false;
  const result = await tx.invite.updateMany({
    where: { hash: hashToken(code), usedAt: null, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
    data: { usedAt: now, usedByTenantId: tenantId },
  });
  return result.count === 1;
}
