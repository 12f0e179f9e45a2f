// Surfaces (apps, connectors, dashboards) and their mounts. The home domain is
// always mounted READ_WRITE; mount lists are replaced whole, in one transaction.
import type { Prisma, PrismaClient, Surface } from '../generated/prisma/client.js';
import { BadUserInputError, ConflictError, NotFoundError } from '../errors.js';
import { assertKey, cleanName } from '../auth/identifiers.js';
import type { Access } from '../auth/viewer.js';
import { isUniqueViolation } from '../db/errors.js';

export interface MountInput {
  domain: string;
  access: Access;
}

const MAX_MOUNTS = 64;

/** Validates mount keys and resolves them to domain ids of the tenant; the home domain ends READ_WRITE. */
async function resolveMounts(
  tx: Prisma.TransactionClient,
  tenantId: string,
  homeDomainId: string,
  mounts: readonly MountInput[],
): Promise<{ domainId: string; access: Access }[]> {
  if (mounts.length > MAX_MOUNTS) throw new BadUserInputError(`at most ${MAX_MOUNTS} mounts`, 'mounts');
  const keys = mounts.map((m) => assertKey(m.domain, 'mounts.domain'));
  if (new Set(keys).size !== keys.length) throw new BadUserInputError('mounts must not name a domain twice', 'mounts');
  const domains = await tx.domain.findMany({ where: { tenantId, key: { in: keys } } });
  const idByKey = new Map(domains.map((d) => [d.key, d.id]));
  const resolved = new Map<string, Access>();
  for (const m of mounts) {
    const id = idByKey.get(m.domain);
    if (!id) throw new NotFoundError('domain', m.domain);
    resolved.set(id, m.access);
  }
  resolved.set(homeDomainId, 'READ_WRITE');
  return [...resolved].map(([domainId, access]) => ({ domainId, access }));
}

export interface CreateSurfaceInput {
  key: string;
  name?: string | null;
  kind?: 'APP' | 'CONNECTOR' | 'DASHBOARD' | null;
  homeDomain: string;
  mounts?: readonly MountInput[] | null;
}

export async function createSurface(prisma: PrismaClient, tenantId: string, input: CreateSurfaceInput): Promise<Surface> {
  const key = assertKey(input.key, 'key');
  const name = input.name == null ? key : cleanName(input.name, 'name');
  assertKey(input.homeDomain, 'homeDomain');
  try {
    return await prisma.$transaction(async (tx) => {
      const home = await tx.domain.findUnique({ where: { tenantId_key: { tenantId, key: input.homeDomain } } });
      if (!home) throw new NotFoundError('domain', input.homeDomain);
      const mounts = await resolveMounts(tx, tenantId, home.id, input.mounts ?? []);
      return tx.surface.create({
        data: { tenantId, key, name, kind: input.kind ?? 'APP', homeDomainId: home.id, mounts: { create: mounts } },
      });
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`surface ${JSON.stringify(key)} already exists`);
    throw error;
  }
}

export async function surfaceByKey(prisma: Prisma.TransactionClient, tenantId: string, key: string): Promise<Surface> {
  assertKey(key, 'surface');
  const surface = await prisma.surface.findUnique({ where: { tenantId_key: { tenantId, key } } });
  if (!surface) throw new NotFoundError('surface', key);
  return surface;
}

export async function setMounts(prisma: PrismaClient, tenantId: string, input: { surface: string; mounts: readonly MountInput[] }): Promise<Surface> {
  return prisma.$transaction(async (tx) => {
    const surface = await surfaceByKey(tx, tenantId, input.surface);
    const mounts = await resolveMounts(tx, tenantId, surface.homeDomainId, input.mounts);
    await tx.mount.deleteMany({ where: { surfaceId: surface.id } });
    await tx.mount.createMany({ data: mounts.map((m) => ({ ...m, surfaceId: surface.id })) });
    return surface;
  });
}
