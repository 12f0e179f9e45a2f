// Viewer (who the token is) and ServerInfo (public facts about this deployment).
import { builder } from '../builder.js';
import { viewerOf } from '../context.js';
import { NotFoundError } from '../../errors.js';

export const RoleEnum = builder.enumType('Role', {
  description: 'What kind of token is calling.',
  values: {
    OWNER: { description: 'The person: the owner token from signUp, which may do everything in its tenant.' },
    SURFACE: { description: 'One of their surfaces: a token from issueSurfaceToken, limited to the domains that surface mounts.' },
  },
});

const ViewerRef = builder.objectRef<{ role: 'OWNER' | 'SURFACE'; tenantId: string; surfaceId: string | null }>('Viewer').implement({
  description: 'Who the bearer token is: the person (OWNER) or one of their surfaces.',
  fields: (t) => ({
    role: t.field({ type: RoleEnum, description: 'OWNER for an owner token, SURFACE for a surface token.', resolve: (v) => v.role }),
    tenant: t.field({
      type: 'Tenant',
      description: 'The tenant the token belongs to.',
      resolve: async (v, _args, ctx) => {
        const tenant = await ctx.services.db.prisma.tenant.findUnique({ where: { id: v.tenantId } });
        if (!tenant) throw new NotFoundError('tenant', v.tenantId);
        return tenant;
      },
    }),
    surface: t.field({
      type: 'Surface',
      nullable: true,
      description: 'The surface a surface token acts as; null for the owner.',
      resolve: (v, _args, ctx) => (v.surfaceId ? ctx.loaders.surfaceById.load(v.surfaceId) : null),
    }),
  }),
});

const ServerInfoRef = builder.objectRef<{ vectorDimension: number; version: string }>('ServerInfo').implement({
  description: 'Public facts about this deployment.',
  fields: (t) => ({
    vectorDimension: t.exposeInt('vectorDimension', {
      description: 'Every vector written or searched has exactly this many finite numbers (one value per deployment, 1 to 4096; default 384).',
    }),
    version: t.exposeString('version', { description: 'The Nexus server version, e.g. "0.1.0".' }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    description: 'Who the token is: its role, its tenant and, for a surface token, its surface. UNAUTHENTICATED without a token.',
    resolve: (_root, _args, ctx) => {
      const v = viewerOf(ctx);
      return { role: v.role, tenantId: v.tenantId, surfaceId: v.surface?.id ?? null };
    },
  }),
  serverInfo: t.field({
    type: ServerInfoRef,
    description: 'Public (no token needed): the vector dimension and the server version.',
    resolve: (_root, _args, ctx) => ({ vectorDimension: ctx.services.config.vectorDimension, version: ctx.services.config.version }),
  }),
}));
