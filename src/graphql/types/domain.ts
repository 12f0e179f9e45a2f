// Domain (an area of life): the domain(key) query and createDomain.
// Its records are reached through record.ts (search, recordCount).
import { builder } from '../builder.js';
import { viewerOf } from '../context.js';
import { visibleSurfaces } from '../../auth/access.js';
import { createDomain, domainByKey } from '../../tenancy/domains.js';

export const DomainRef = builder.objectType('Domain', {
  description: 'An area of a person\'s life (health, business, finance, …) and its shared store.',
  fields: (t) => ({
    id: t.exposeID('id'),
    key: t.exposeString('key'),
    name: t.exposeString('name'),
    surfaces: t.field({
      type: ['Surface'],
      description: 'Surfaces that mount this domain (for a surface token: only itself).',
      resolve: async (domain, _args, ctx) => {
        const mounts = visibleSurfaces(ctx.viewer, (await ctx.loaders.mountsByDomainId.load(domain.id)).map((m) => ({ id: m.surfaceId })));
        const surfaces = await Promise.all(mounts.map((m) => ctx.loaders.surfaceById.load(m.id)));
        return surfaces
          .filter((s): s is NonNullable<typeof s> => s !== null && s.tenantId === domain.tenantId)
          .sort((a, b) => a.key.localeCompare(b.key));
      },
    }),
  }),
});

const CreateDomainInput = builder.inputType('CreateDomainInput', {
  fields: (t) => ({
    key: t.string({ required: true, description: 'Matches ^[a-z][a-z0-9-]{0,31}$.' }),
    name: t.string({ description: 'Default: the key, capitalised.' }),
  }),
});

builder.queryFields((t) => ({
  domain: t.field({
    type: 'Domain',
    nullable: true,
    description: 'A domain the token can read (FORBIDDEN otherwise; NOT_FOUND for the owner when it does not exist).',
    args: { key: t.arg.string({ required: true }) },
    resolve: (_root, { key }, ctx) => domainByKey(ctx.services.db.prisma, viewerOf(ctx).tenantId, key),
  }),
}));

builder.mutationFields((t) => ({
  createDomain: t.field({
    type: 'Domain',
    description: 'Owner only.',
    args: { input: t.arg({ type: CreateDomainInput, required: true }) },
    resolve: (_root, { input }, ctx) => createDomain(ctx.services.db.prisma, viewerOf(ctx).tenantId, input),
  }),
}));
