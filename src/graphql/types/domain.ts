// Domain (an area of life): the domain(key) query and createDomain.
// Its records are reached through record.ts (search, recordCount).
import { builder } from '../builder.js';
import { viewerFor, viewerOf } from '../context.js';
import { visibleSurfaces } from '../../auth/access.js';
import { createDomain, domainByKey } from '../../tenancy/domains.js';

export const DomainRef = builder.objectType('Domain', {
  description: 'An area of a person\'s life (health, business, finance, …) and its shared store of records. The owner sees every domain; a surface token only the ones it mounts.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Server-assigned id.' }),
    key: t.exposeString('key', { description: 'Unique within the tenant and matching ^[a-z][a-z0-9-]{0,31}$; names the domain in every argument (and its store\'s path).' }),
    name: t.exposeString('name', { description: 'Display name, 1 to 100 characters; default: the key, capitalised.' }),
    surfaces: t.field({
      type: ['Surface'],
      description: 'Surfaces that mount this domain (home domain included), sorted by key. A surface token sees only itself here.',
      resolve: async (domain, _args, ctx) => {
        const mounts = visibleSurfaces(viewerFor(ctx, domain.tenantId), (await ctx.loaders.mountsByDomainId.load(domain.id)).map((m) => ({ id: m.surfaceId })));
        const surfaces = await Promise.all(mounts.map((m) => ctx.loaders.surfaceById.load(m.id)));
        return surfaces
          .filter((s): s is NonNullable<typeof s> => s !== null && s.tenantId === domain.tenantId)
          .sort((a, b) => a.key.localeCompare(b.key));
      },
    }),
  }),
});

const CreateDomainInput = builder.inputType('CreateDomainInput', {
  description: 'A new domain of the tenant.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'Matches ^[a-z][a-z0-9-]{0,31}$ (BAD_USER_INPUT otherwise); unique within the tenant (CONFLICT otherwise).' }),
    name: t.string({ description: '1 to 100 printable characters, trimmed (BAD_USER_INPUT otherwise). Default: the key, capitalised ("health" → "Health").' }),
  }),
});

builder.queryFields((t) => ({
  domain: t.field({
    type: 'Domain',
    nullable: true,
    description:
      'The tenant\'s domain with this key; never null. FORBIDDEN for a surface token unless it mounts the domain; NOT_FOUND for the owner when it does not exist.',
    args: { key: t.arg.string({ required: true, description: 'A domain key, matching ^[a-z][a-z0-9-]{0,31}$ (BAD_USER_INPUT otherwise).' }) },
    resolve: (_root, { key }, ctx) => domainByKey(ctx.services.db.prisma, viewerOf(ctx).tenantId, key),
  }),
}));

builder.mutationFields((t) => ({
  createDomain: t.field({
    type: 'Domain',
    description: 'Owner only (FORBIDDEN for a surface token). Creates a domain with an empty store; no surface mounts it until createSurface or setMounts says so.',
    args: { input: t.arg({ type: CreateDomainInput, required: true, description: 'The key and name of the new domain.' }) },
    resolve: async (_root, { input }, ctx) => {
      const tenantId = viewerOf(ctx).tenantId;
      const domain = await createDomain(ctx.services.db.prisma, tenantId, input);
      // The owner's tokens read every domain: what gateways remember of them now lacks this one.
      ctx.services.events.publishViewersChanged(tenantId);
      return domain;
    },
  }),
}));
