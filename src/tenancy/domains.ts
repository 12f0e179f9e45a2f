// Domains (areas of life) of one tenant. Every lookup is scoped by tenant id, so
// another tenant's domain is indistinguishable from one that does not exist.
import type { Domain, PrismaClient } from '../generated/prisma/client.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { assertKey, cleanName } from '../auth/identifiers.js';
import { isUniqueViolation } from '../db/errors.js';

export function defaultDomainName(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

export async function createDomain(prisma: PrismaClient, tenantId: string, input: { key: string; name?: string | null }): Promise<Domain> {
  const key = assertKey(input.key, 'key');
  const name = input.name == null ? defaultDomainName(key) : cleanName(input.name, 'name');
  try {
    return await prisma.domain.create({ data: { tenantId, key, name } });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`domain ${JSON.stringify(key)} already exists`);
    throw error;
  }
}

/** The tenant's domain with this key, or NOT_FOUND (same answer for another tenant's). */
export async function domainByKey(prisma: PrismaClient, tenantId: string, key: string): Promise<Domain> {
  assertKey(key, 'domain');
  const domain = await prisma.domain.findUnique({ where: { tenantId_key: { tenantId, key } } });
  if (!domain) throw new NotFoundError('domain', key);
  return domain;
}
