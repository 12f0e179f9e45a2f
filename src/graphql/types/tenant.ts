// Tenant (one person), Identity, and signUp: the one public mutation.
import { builder } from '../builder.js';
import { loadRequired } from '../loaders/create-loaders.js';
import { signUp } from '../../tenancy/sign-up.js';
import { visibleDomains, visibleSurfaces } from '../../auth/access.js';

export const IdentityRef = builder.objectType('Identity', {
  description: 'The person behind a tenant.',
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email'),
    displayName: t.exposeString('displayName', { nullable: true }),
  }),
});

export const TenantRef = builder.objectType('Tenant', {
  description: 'One person: signs up once, is billed once.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Also the prefix of the tenant\'s vector storage.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    identity: t.field({
      type: 'Identity',
      resolve: (tenant, _args, ctx) => loadRequired(ctx.loaders.identityByTenantId, tenant.id, 'identity'),
    }),
    wallet: t.field({
      type: 'Wallet',
      resolve: (tenant, _args, ctx) => loadRequired(ctx.loaders.walletByTenantId, tenant.id, 'wallet'),
    }),
    domains: t.field({
      type: ['Domain'],
      description: 'Every domain for the owner; the mounted ones for a surface.',
      resolve: async (tenant, _args, ctx) => {
        return visibleDomains(ctx.viewer, await ctx.loaders.domainsByTenantId.load(tenant.id));
      },
    }),
    surfaces: t.field({
      type: ['Surface'],
      description: 'Every surface for the owner; only itself for a surface.',
      resolve: async (tenant, _args, ctx) => {
        return visibleSurfaces(ctx.viewer, await ctx.loaders.surfacesByTenantId.load(tenant.id));
      },
    }),
  }),
});

const SignUpInput = builder.inputType('SignUpInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    displayName: t.string(),
    domains: t.stringList({ description: 'Domain keys to create; default: health, business, finance.' }),
  }),
});

const SignUpPayload = builder.objectRef<{ ownerToken: string; tenant: import('../../generated/prisma/client.js').Tenant }>('SignUpPayload').implement({
  fields: (t) => ({
    ownerToken: t.exposeString('ownerToken', { description: 'Shown once: store it now. Only its hash is kept.' }),
    tenant: t.field({ type: 'Tenant', resolve: (p) => p.tenant }),
  }),
});

builder.mutationFields((t) => ({
  signUp: t.field({
    type: SignUpPayload,
    description: 'Public. Creates a tenant, its identity, an empty wallet and its first domains; returns the owner token once.',
    args: { input: t.arg({ type: SignUpInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const created = await signUp(ctx.services.db.prisma, input);
      // The caller holds no token yet: let the payload's fields read back this one tenant.
      ctx.signedUpTenantIds.add(created.tenant.id);
      return created;
    },
  }),
}));
