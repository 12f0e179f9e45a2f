// Surface (an app, connector or dashboard) and its mounts: createSurface,
// setMounts, issueSurfaceToken and revokeToken.
import { builder } from '../builder.js';
import { loadRequired } from '../loaders/create-loaders.js';
import { viewerOf } from '../context.js';
import { canSeeDomain } from '../../auth/access.js';
import { createSurface, setMounts } from '../../tenancy/surfaces.js';
import { issueSurfaceToken, revokeToken } from '../../tenancy/tokens.js';

export const SurfaceKindEnum = builder.enumType('SurfaceKind', { values: ['APP', 'CONNECTOR', 'DASHBOARD'] as const });
export const MountAccessEnum = builder.enumType('MountAccess', { values: ['READ', 'READ_WRITE'] as const });

export const MountRef = builder.objectType('Mount', {
  description: 'A domain a surface may use, and how.',
  fields: (t) => ({
    access: t.field({ type: MountAccessEnum, resolve: (m) => m.access }),
    domain: t.field({
      type: 'Domain',
      resolve: (m, _args, ctx) => loadRequired(ctx.loaders.domainById, m.domainId, 'domain'),
    }),
  }),
});

export const SurfaceRef = builder.objectType('Surface', {
  description: 'An app, connector or dashboard acting for the person, with its home domain and mounts.',
  fields: (t) => ({
    id: t.exposeID('id'),
    key: t.exposeString('key'),
    name: t.exposeString('name'),
    kind: t.field({ type: SurfaceKindEnum, resolve: (s) => s.kind }),
    homeDomain: t.field({
      type: 'Domain',
      nullable: true,
      description: 'The domain it writes to by default (always mounted READ_WRITE). Null where the token may not read that domain: a surface sees the home domain of another surface only if it mounts it.',
      resolve: (s, _args, ctx) => (canSeeDomain(ctx.viewer, s.homeDomainId) ? loadRequired(ctx.loaders.domainById, s.homeDomainId, 'domain') : null),
    }),
    mounts: t.field({
      type: ['Mount'],
      description: 'Visible to the owner and to the surface itself.',
      resolve: (s, _args, ctx) => ctx.loaders.mountsBySurfaceId.load(s.id),
    }),
  }),
});

const MountInput = builder.inputType('MountInput', {
  fields: (t) => ({
    domain: t.string({ required: true }),
    access: t.field({ type: MountAccessEnum, required: true }),
  }),
});

const CreateSurfaceInput = builder.inputType('CreateSurfaceInput', {
  fields: (t) => ({
    key: t.string({ required: true, description: 'Matches ^[a-z][a-z0-9-]{0,31}$.' }),
    name: t.string({ description: 'Default: the key.' }),
    kind: t.field({ type: SurfaceKindEnum, defaultValue: 'APP' }),
    homeDomain: t.string({ required: true, description: 'Always mounted READ_WRITE.' }),
    mounts: t.field({ type: [MountInput] }),
  }),
});

const SetMountsInput = builder.inputType('SetMountsInput', {
  fields: (t) => ({
    surface: t.string({ required: true }),
    mounts: t.field({ type: [MountInput], required: true, description: 'Replaces every mount; the home domain stays READ_WRITE.' }),
  }),
});

const IssueSurfaceTokenInput = builder.inputType('IssueSurfaceTokenInput', {
  fields: (t) => ({
    surface: t.string({ required: true }),
    expiresInSeconds: t.int({ description: 'Default: never expires.' }),
  }),
});

const IssuedTokenRef = builder
  .objectRef<{ id: string; token: string; surface: import('../../generated/prisma/client.js').Surface; expiresAt: Date | null }>('IssuedToken')
  .implement({
    fields: (t) => ({
      id: t.exposeID('id', { description: 'Use it with revokeToken.' }),
      token: t.exposeString('token', { description: 'Shown once: store it now. Only its hash is kept.' }),
      surface: t.field({ type: 'Surface', resolve: (x) => x.surface }),
      expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    }),
  });

builder.mutationFields((t) => ({
  createSurface: t.field({
    type: 'Surface',
    description: 'Owner only.',
    args: { input: t.arg({ type: CreateSurfaceInput, required: true }) },
    resolve: (_root, { input }, ctx) => createSurface(ctx.services.db.prisma, viewerOf(ctx).tenantId, input),
  }),
  setMounts: t.field({
    type: 'Surface',
    description: 'Owner only.',
    args: { input: t.arg({ type: SetMountsInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const tenantId = viewerOf(ctx).tenantId;
      const surface = await setMounts(ctx.services.db.prisma, tenantId, input);
      ctx.services.events.publishAccessChange(tenantId);
      return surface;
    },
  }),
  issueSurfaceToken: t.field({
    type: IssuedTokenRef,
    description: 'Owner only.',
    args: { input: t.arg({ type: IssueSurfaceTokenInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const issued = await issueSurfaceToken(ctx.services.db.prisma, viewerOf(ctx).tenantId, input);
      return { id: issued.row.id, token: issued.token, surface: issued.surface, expiresAt: issued.row.expiresAt };
    },
  }),
  revokeToken: t.boolean({
    description: 'Owner only. Idempotent.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const tenantId = viewerOf(ctx).tenantId;
      const revoked = await revokeToken(ctx.services.db.prisma, tenantId, String(id));
      ctx.services.events.publishAccessChange(tenantId);
      return revoked;
    },
  }),
}));
