// Sign-up: one transaction creates the tenant, its identity, an empty wallet,
// its first domains and the owner token. Nothing is left half-made on failure.
// By invitation (NEXUS_SIGNUP=invite) the same transaction consumes the invite; closed, nobody signs up.
import type { PrismaClient, Tenant } from '../generated/prisma/client.js';
import type { SignUpMode } from '../config/env.js';
import { BadUserInputError, ConflictError, ForbiddenError } from '../errors.js';
import { assertKey, cleanName, newTenantId, normaliseEmail } from '../auth/identifiers.js';
import { newToken } from '../auth/tokens.js';
import { isUniqueViolation } from '../db/errors.js';
import { defaultDomainName } from './domains.js';
import { claimInvite } from './invites.js';

export const DEFAULT_DOMAINS = ['health', 'business', 'finance'] as const;
const MAX_DOMAINS_AT_SIGN_UP = 32;

/**
 * The one answer to every refused sign-up by invitation and to every sign-up when closed: no code, a wrong, used,
 * revoked or expired one, and an email that already has an account all look the same, so that sign-up never tells
 * whether an address is registered.
 */
export const SIGN_UP_REFUSED = 'sign-up needs a valid invite code';

export interface SignUpInput {
  email: string;
  displayName?: string | null;
  domains?: readonly string[] | null;
  /** Needed when mode is 'invite'; ignored otherwise. */
  inviteCode?: string | null;
}

export interface SignUpOptions {
  /** The deployment's sign-up mode (config.signUp). Default 'open': callers on the public path must pass it. */
  mode?: SignUpMode;
  now?: Date;
}

export async function signUp(
  prisma: PrismaClient,
  input: SignUpInput,
  options: SignUpOptions = {},
): Promise<{ tenant: Tenant; ownerToken: string }> {
  const mode = options.mode ?? 'open';
  const now = options.now ?? new Date();
  const inviteCode = (input.inviteCode ?? '').trim();
  if (mode === 'closed' || (mode === 'invite' && inviteCode === '')) throw new ForbiddenError(SIGN_UP_REFUSED);
  const email = normaliseEmail(input.email);
  const displayName = input.displayName == null ? null : cleanName(input.displayName, 'displayName');
  const keys = input.domains ?? DEFAULT_DOMAINS;
  if (keys.length > MAX_DOMAINS_AT_SIGN_UP) throw new BadUserInputError(`at most ${MAX_DOMAINS_AT_SIGN_UP} domains at sign-up`, 'domains');
  keys.forEach((k) => assertKey(k, 'domains'));
  if (new Set(keys).size !== keys.length) throw new BadUserInputError('domains must not repeat a key', 'domains');
  const token = newToken('owner');
  const data = {
    id: newTenantId(),
    identity: { create: { email, displayName } },
    wallet: { create: {} },
    domains: { create: keys.map((key) => ({ key, name: defaultDomainName(key) })) },
    tokens: { create: { role: 'OWNER' as const, hash: token.hash } },
  };
  try {
    const tenant =
      mode === 'open'
        ? await prisma.tenant.create({ data })
        : // The tenant first (a duplicate email fails here, before the invite is touched), then the claim; a failed
          // claim rolls the tenant back, a failed commit the claim.
          await prisma.$transaction(
            async (tx) => {
              const created = await tx.tenant.create({ data });
              if (!(await claimInvite(tx, inviteCode, created.id, now))) throw new ForbiddenError(SIGN_UP_REFUSED);
              return created;
            },
            { maxWait: 10_000, timeout: 10_000 },
          );
    return { tenant, ownerToken: token.token };
  } catch (error) {
    if (isUniqueViolation(error)) {
      // By invitation a registered email must look exactly like a wrong code (and leaves the code unused).
      throw mode === 'open' ? new ConflictError('an account with this email already exists') : new ForbiddenError(SIGN_UP_REFUSED);
    }
    throw error;
  }
}
