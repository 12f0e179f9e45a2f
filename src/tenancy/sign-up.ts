// Sign-up: one transaction creates the tenant, its identity, an empty wallet,
// its first domains and the owner token. Nothing is left half-made on failure.
import type { PrismaClient, Tenant } from '../generated/prisma/client.js';
import { BadUserInputError, ConflictError } from '../errors.js';
import { assertKey, cleanName, newTenantId, normaliseEmail } from '../auth/identifiers.js';
import { newToken } from '../auth/tokens.js';
import { isUniqueViolation } from '../db/errors.js';
import { defaultDomainName } from './domains.js';

export const DEFAULT_DOMAINS = ['health', 'business', 'finance'] as const;
const MAX_DOMAINS_AT_SIGN_UP = 32;

export interface SignUpInput {
  email: string;
  displayName?: string | null;
  domains?: readonly string[] | null;
}

export async function signUp(prisma: PrismaClient, input: SignUpInput): Promise<{ tenant: Tenant; ownerToken: string }> {
  const email = normaliseEmail(input.email);
  const displayName = input.displayName == null ? null : cleanName(input.displayName, 'displayName');
  const keys = input.domains ?? DEFAULT_DOMAINS;
  if (keys.length > MAX_DOMAINS_AT_SIGN_UP) throw new BadUserInputError(`at most ${MAX_DOMAINS_AT_SIGN_UP} domains at sign-up`, 'domains');
  keys.forEach((k) => assertKey(k, 'domains'));
  if (new Set(keys).size !== keys.length) throw new BadUserInputError('domains must not repeat a key', 'domains');
  const token = newToken('owner');
  try {
    const tenant = await prisma.tenant.create({
      data: {
        id: newTenantId(),
        identity: { create: { email, displayName } },
        wallet: { create: {} },
        domains: { create: keys.map((key) => ({ key, name: defaultDomainName(key) })) },
        tokens: { create: { role: 'OWNER', hash: token.hash } },
      },
    });
    return { tenant, ownerToken: token.token };
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError('an account with this email already exists');
    throw error;
  }
}
