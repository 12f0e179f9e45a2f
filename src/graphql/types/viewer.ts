// Viewer (who the token is) and ServerInfo (public facts about this deployment).
import { builder } from '../builder.js';
import { viewerOf } from '../context.js';
import { NotFoundError } from '../../errors.js';

export const RoleEnum = builder.enumType('Role', { values: ['OWNER', 'SURFACE'] as const });

const ViewerRef = builder.objectRef<{ role: 'OWNER' | 'SURFACE'; tenantId: string; surfaceId: string | null }>('Viewer').implement({
  description: 'Who the bearer token is: the person (OWNER) or one of their surfaces.',
  fields: (t) => ({
    role: t.field({ type: RoleEnum, resolve: (v) => v.role }),
    tenant: t.field({
      type: 'Tenant',
      resolve: async (v, _args, ctx) => {
        const tenant = await ctx.services.db.prisma.tenant.findUnique({ where: { id: v.tenantId } });
        if (!tenant) throw new NotFoundError('tenant', v.tenantId);
        return tenant;
      },
    }),
    surface: t.field({
      type: 'Surface',
      nullable: true,
      resolve: (v, _args, ctx) => (v.surfaceId ? ctx.loaders.surfaceById.load(v.surfaceId) : null),
    }),
  }),
});

const ServerInfoRef = builder.objectRef<{ vectorDimension: number; version: string }>('ServerInfo').implement({
  description: 'Public facts about this deployment.',
  fields: (t) => ({
    vectorDimension: t.exposeInt('vectorDimension', { description: 'Every vector has exactly this many finite numbers.' }),
    version: t.exposeString('version'),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    description: 'Who the token is.',
    resolve: (_root, _args, ctx) => {
      const v = viewerOf(ctx);
      return { role: v.role, tenantId: v.tenantId, surfaceId: v.surface?.id ?? null };
    },
  }),
  serverInfo: t.field({
    type: ServerInfoRef,
    description: 'Public: the vector dimension and the server version.',
    resolve: (_root, _args, ctx) => ({ vectorDimension: ctx.services.config.vectorDimension, version: ctx.services.config.version }),
  }),
}));
