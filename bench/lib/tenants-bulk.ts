// The fast way bench/tenants.ts makes most of its tenants (see its header): control-plane rows inserted in bulk, the
// same rows signUp creates, and each tenant's three tables hard-linked from a tenant written through the API.
import { link, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { newTenantId } from '../../src/auth/identifiers.js';
import { newToken } from '../../src/auth/tokens.js';
import { defaultDomainName } from '../../src/tenancy/domains.js';
import { pool } from './tenants-gateway.js';

export interface BulkTenant {
  tenantId: string;
  ownerToken: string;
  /** What the database keeps of the token. */
  tokenHash: string;
}

const CHUNK = 1000;

/** Ids and owner tokens for `count` new tenants, made as signUp makes them. */
export function newTenants(count: number): BulkTenant[] {
  return Array.from({ length: count }, () => {
    const token = newToken('owner');
    return { tenantId: newTenantId(), ownerToken: token.token, tokenHash: token.hash };
  });
}

/**
 * Inserts the tenants as signUp would make them (tenant, identity, wallet, domains, owner token), in transactions of
 * createMany for 1000 tenants at a time instead of one nested create per tenant.
 */
export async function insertTenants(prisma: PrismaClient, tenants: readonly BulkTenant[], domains: readonly string[], emailPrefix: string): Promise<void> {
  for (let from = 0; from < tenants.length; from += CHUNK) {
    const batch = tenants.slice(from, from + CHUNK);
    await prisma.$transaction([
      prisma.tenant.createMany({ data: batch.map((b) => ({ id: b.tenantId })) }),
      prisma.identity.createMany({ data: batch.map((b, i) => ({ tenantId: b.tenantId, email: `${emailPrefix}-${from + i}@example.com`, displayName: 'Bulk' })) }),
      prisma.wallet.createMany({ data: batch.map((b) => ({ tenantId: b.tenantId })) }),
      prisma.domain.createMany({ data: batch.flatMap((b) => domains.map((key) => ({ tenantId: b.tenantId, key, name: defaultDomainName(key) }))) }),
      prisma.token.createMany({ data: batch.map((b) => ({ tenantId: b.tenantId, role: 'OWNER' as const, hash: b.tokenHash })) }),
    ]);
  }
}

/** Every file under dir, as paths relative to it, and the leaf directories that hold them. */
export async function listTree(dir: string): Promise<{ files: string[]; dirs: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    let hasFile = false;
    for (const e of entries) {
      const p = path.join(rel, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        files.push(p);
        hasFile = true;
      }
    }
    if (hasFile) dirs.push(rel);
  };
  await walk('');
  return { files, dirs };
}

/**
 * Gives each target the template's tree as hard links (Lance files are immutable and name one another by relative
 * path, so a linked table is a valid table of its own; on the S3 server a linked object is an object), `parallel`
 * targets at a time.
 */
export async function linkTrees(template: string, tree: { files: string[]; dirs: string[] }, targets: readonly string[], parallel = 16): Promise<void> {
  await pool(targets, parallel, async (target) => {
    for (const d of tree.dirs) await mkdir(path.join(target, d), { recursive: true });
    await Promise.all(tree.files.map((f) => link(path.join(template, f), path.join(target, f))));
  });
}
