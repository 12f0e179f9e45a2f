// Surface (an app, connector or dashboard) and its mounts: createSurface,
// setMounts, issueSurfaceToken and revokeToken.
import { builder } from '../builder.js';
import { loadRequired } from '../loaders/create-loaders.js';
import { viewerFor, viewerOf } from '../context.js';
import { canSeeDomain } from '../../auth/access.js';
import { createSurface, setMounts } from '../../tenancy/surfaces.js';
import { issueSurfaceToken, revokeToken } from '../../tenancy/tokens.js';
import { deleteSurface } from '../../tenancy/erasure.js';

export const SurfaceKindEnum = builder.enumType('SurfaceKind', {
  description: 'What a surface is. Only a label: what it may use comes from its mounts alone.',
  values: {
    APP: { description: 'An app the person uses (the default).' },
    CONNECTOR: { description: 'A connector that brings in data from another service.' },
    DASHBOARD: {
      description: 'A "God View": a dashboard that mounts several domains, usually READ, so that one search is one fused query over all of them.',
    },
  },
});
export const MountAccessEnum = builder.enumType('MountAccess', {
  description: 'What a surface may do in a domain it mounts.',
  values: {
    READ: { description: 'Search and list the domain\'s records, and receive its live events.' },
    READ_WRITE: { description: 'READ, plus remember into and forget from the domain\'s store.' },
  },
});

export const MountRef = builder.objectType('Mount', {
  description: 'A domain a surface may use, and how.',
  fields: (t) => ({
    access: t.field({ type: MountAccessEnum, description: 'READ or READ_WRITE (always READ_WRITE for the home domain).', resolve: (m) => m.access }),
    domain: t.field({
      type: 'Domain',
      description: 'The mounted domain.',
      resolve: (m, _args, ctx) => loadRequired(ctx.loaders.domainById, m.domainId, 'domain'),
    }),
  }),
});

export const SurfaceRef = builder.objectType('Surface', {
  description:
    'An app, connector or dashboard acting for the person, with its home domain and mounts. A surface token sees only itself in surface lists, and other surfaces only as the writer of a record or an event.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Server-assigned id.' }),
    key: t.exposeString('key', { description: 'Unique within the tenant and matching ^[a-z][a-z0-9-]{0,31}$; names the surface in arguments (and its private store\'s path).' }),
    name: t.exposeString('name', { description: 'Display name, 1 to 100 characters; default: the key.' }),
    kind: t.field({ type: SurfaceKindEnum, description: 'APP, CONNECTOR or DASHBOARD: a label only; access comes from the mounts.', resolve: (s) => s.kind }),
    homeDomain: t.field({
      type: 'Domain',
      nullable: true,
      description:
        'The domain it writes to by default, always mounted READ_WRITE. Null where the viewer may not read that domain: a surface token sees another surface\'s home domain only if it mounts it.',
      resolve: (s, _args, ctx) => (canSeeDomain(viewerFor(ctx, s.tenantId), s.homeDomainId) ? loadRequired(ctx.loaders.domainById, s.homeDomainId, 'domain') : null),
    }),
    mounts: t.field({
      type: ['Mount'],
      description:
        'Every domain it may use, with its access, the home domain (READ_WRITE) included. The owner and the surface itself only: FORBIDDEN for another surface\'s token.',
      resolve: (s, _args, ctx) => ctx.loaders.mountsBySurfaceId.load(s.id),
    }),
  }),
});

const MountInput = builder.inputType('MountInput', {
  description: 'One domain to mount, and how.',
  fields: (t) => ({
    domain: t.string({ required: true, description: 'Key of one of the tenant\'s domains (BAD_USER_INPUT if malformed, NOT_FOUND if missing).' }),
    access: t.field({ type: MountAccessEnum, required: true, description: 'READ or READ_WRITE; the home domain stays READ_WRITE whatever is given.' }),
  }),
});

const CreateSurfaceInput = builder.inputType('CreateSurfaceInput', {
  description: 'A new surface: its key, name, kind, home domain and mounts.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'Matches ^[a-z][a-z0-9-]{0,31}$ (BAD_USER_INPUT otherwise); unique within the tenant (CONFLICT otherwise).' }),
    name: t.string({ description: '1 to 100 printable characters, trimmed (BAD_USER_INPUT otherwise). Default: the key.' }),
    kind: t.field({ type: SurfaceKindEnum, defaultValue: 'APP', description: 'Default APP. A label only: a DASHBOARD created without mounts can use only its home domain.' }),
    homeDomain: t.string({ required: true, description: 'Key of an existing domain (NOT_FOUND otherwise), always mounted READ_WRITE; remember writes there by default.' }),
    mounts: t.field({
      type: [MountInput],
      description: 'The other domains it may use: at most 64, each domain once (BAD_USER_INPUT otherwise). Default: none, only the home domain.',
    }),
  }),
});

const SetMountsInput = builder.inputType('SetMountsInput', {
  description: 'The complete new mount list of one surface.',
  fields: (t) => ({
    surface: t.string({ required: true, description: 'Key of the surface (NOT_FOUND if the tenant has none with this key).' }),
    mounts: t.field({
      type: [MountInput],
      required: true,
      description: 'Replaces every mount: at most 64, each domain once (BAD_USER_INPUT otherwise). The home domain stays READ_WRITE; [] leaves only it.',
    }),
  }),
});

const IssueSurfaceTokenInput = builder.inputType('IssueSurfaceTokenInput', {
  description: 'The surface a new token acts as, and how long it lasts.',
  fields: (t) => ({
    surface: t.string({ required: true, description: 'Key of the surface (NOT_FOUND if the tenant has none with this key).' }),
    expiresInSeconds: t.int({ description: 'Lifetime in seconds, 1 to 316224000 (about ten years; BAD_USER_INPUT otherwise). Default: never expires.' }),
  }),
});

const IssuedTokenRef = builder
  .objectRef<{ id: string; token: string; surface: import('../../generated/prisma/client.js').Surface; expiresAt: Date | null }>('IssuedToken')
  .implement({
    description: 'A new surface token. Owner only, like the mutation that issues it.',
    fields: (t) => ({
      id: t.exposeID('id', { description: 'The token\'s id (not the secret): pass it to revokeToken.' }),
      token: t.exposeString('token', { description: 'The secret (nxs_…), for Authorization: Bearer. Shown once: store it now. Only its hash is kept.' }),
      surface: t.field({ type: 'Surface', description: 'The surface the token acts as.', resolve: (x) => x.surface }),
      expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When it stops working (then UNAUTHENTICATED); null: never.' }),
    }),
  });

builder.mutationFields((t) => ({
  createSurface: t.field({
    type: 'Surface',
    description:
      'Owner only (FORBIDDEN for a surface token). Creates a surface with its home domain mounted READ_WRITE and the given mounts, in one transaction; NOT_FOUND for a domain that does not exist.',
    args: { input: t.arg({ type: CreateSurfaceInput, required: true, description: 'The new surface.' }) },
    resolve: (_root, { input }, ctx) => createSurface(ctx.services.db.prisma, viewerOf(ctx).tenantId, input),
  }),
  setMounts: t.field({
    type: 'Surface',
    description:
      'Owner only (FORBIDDEN for a surface token). Replaces a surface\'s mounts in one transaction (NOT_FOUND for a domain that does not exist); ends the tenant\'s open nexusEvents streams, which must reconnect.',
    args: { input: t.arg({ type: SetMountsInput, required: true, description: 'The surface and its new mounts.' }) },
    resolve: async (_root, { input }, ctx) => {
      const tenantId = viewerOf(ctx).tenantId;
      const surface = await setMounts(ctx.services.db.prisma, tenantId, input);
      ctx.services.events.publishViewersChanged(tenantId);
      ctx.services.events.publishAccessChange(tenantId);
      return surface;
    },
  }),
  issueSurfaceToken: t.field({
    type: IssuedTokenRef,
    description: 'Owner only (FORBIDDEN for a surface token). Issues a new token for a surface; a surface may hold several at once.',
    args: { input: t.arg({ type: IssueSurfaceTokenInput, required: true, description: 'The surface and the token\'s lifetime.' }) },
    resolve: async (_root, { input }, ctx) => {
      const issued = await issueSurfaceToken(ctx.services.db.prisma, viewerOf(ctx).tenantId, input);
      return { id: issued.row.id, token: issued.token, surface: issued.surface, expiresAt: issued.row.expiresAt };
    },
  }),
  deleteSurface: t.boolean({
    description:
      'Owner only (FORBIDDEN for a surface token). Removes a surface for good: its tokens stop working at once, its private store\'s files are deleted, then its mounts and the surface itself; ledger entries keep their amounts without the surface. Records it wrote into domain stores stay: they belong to the domain. NOT_FOUND for a key this tenant does not have. Ends the tenant\'s open nexusEvents streams. True when done.',
    args: { key: t.arg.string({ required: true, description: 'The surface\'s key.' }) },
    resolve: async (_root, { key }, ctx) => {
      const tenantId = viewerOf(ctx).tenantId;
      const removed = await deleteSurface(ctx.services, tenantId, key);
      ctx.log.info({ tenant: tenantId, surface: key, objects: removed.objects }, 'surface deleted');
      return true;
    },
  }),
  revokeToken: t.boolean({
    description:
      'Owner only (FORBIDDEN for a surface token). Revokes a token at once (its next request is UNAUTHENTICATED) and ends the tenant\'s open nexusEvents streams. Idempotent: always true.',
    args: { id: t.arg.id({ required: true, description: 'An IssuedToken.id of this tenant (NOT_FOUND otherwise).' }) },
    resolve: async (_root, { id }, ctx) => {
      const tenantId = viewerOf(ctx).tenantId;
      const revoked = await revokeToken(ctx.services.db.prisma, tenantId, String(id));
      ctx.services.events.publishViewersChanged(tenantId);
      ctx.services.events.publishAccessChange(tenantId);
      return revoked;
    },
  }),
}));
