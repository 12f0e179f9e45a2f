// Tenant (one person), Identity, and signUp: the one public mutation.
import { assertErasureConfirmed, eraseTenant } from '../../tenancy/erasure.js';
import type { StoreUsage, TenantUsage } from '../../tenancy/usage.js';
import { ScopeEnum } from './record.js';
import { builder } from '../builder.js';
import { viewerFor, viewerOf } from '../context.js';
import { loadRequired } from '../loaders/create-loaders.js';
import { signUp } from '../../tenancy/sign-up.js';
import { visibleDomains, visibleSurfaces } from '../../auth/access.js';

export const IdentityRef = builder.objectType('Identity', {
  description: 'The person behind a tenant. The owner and every surface token of the tenant can read it.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Server-assigned id.' }),
    email: t.exposeString('email', { description: 'The sign-up email, trimmed and lowercased; unique across the deployment.' }),
    displayName: t.exposeString('displayName', { nullable: true, description: 'Name to show, 1 to 100 characters; null when none was given at sign-up.' }),
  }),
});

const StoreUsageRef = builder.objectRef<StoreUsage>('StoreUsage').implement({
  description: 'One store of the tenant and what it holds.',
  fields: (t) => ({
    scope: t.field({ type: ScopeEnum, description: 'DOMAIN, SURFACE (a surface\'s private store) or GLOBAL.', resolve: (s) => s.scope }),
    key: t.string({ nullable: true, description: 'The domain key (DOMAIN) or surface key (SURFACE); null for GLOBAL.', resolve: (s) => s.key }),
    records: t.exposeInt('records', { description: 'Records it holds.' }),
    bytes: t.field({
      type: 'BigInt',
      description: 'Bytes of all its stored files: records, old versions kept for the cleanup window, indexes and manifests.',
      resolve: (s) => BigInt(s.bytes),
    }),
    files: t.exposeInt('files', { description: 'Stored files (objects, on S3).' }),
  }),
});

const TenantUsageRef = builder.objectRef<TenantUsage>('TenantUsage').implement({
  description: 'What the tenant\'s memories take, measured from storage (S3 listings or file sizes) and remembered for 30 seconds.',
  fields: (t) => ({
    records: t.exposeInt('records', { description: 'Records in every store together.' }),
    bytes: t.field({ type: 'BigInt', description: 'Bytes of every store together.', resolve: (u) => BigInt(u.bytes) }),
    stores: t.field({ type: [StoreUsageRef], description: 'Every domain store, the global store and every surface\'s private store.', resolve: (u) => u.stores }),
    measuredAt: t.expose('measuredAt', { type: 'DateTime', description: 'When it was measured.' }),
  }),
});

export const TenantRef = builder.objectType('Tenant', {
  description: 'One person: signs up once, is billed once. Only the tenant\'s own tokens reach it.',
  fields: (t) => ({
    id: t.exposeID('id', {
      description: 'Server-assigned: "t" and 24 lowercase letters or digits. Also the first segment of the tenant\'s vector storage path ({tenant}/domains/{domain}/…).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the person signed up.' }),
    usage: t.field({
      type: TenantUsageRef,
      description: 'Owner only (FORBIDDEN for a surface token): records and stored bytes per store, measured from storage and remembered for 30 seconds.',
      resolve: (tenant, _args, ctx) => ctx.services.usage(tenant.id),
    }),
    identity: t.field({
      type: 'Identity',
      description: 'The person: email and display name.',
      resolve: (tenant, _args, ctx) => loadRequired(ctx.loaders.identityByTenantId, tenant.id, 'identity'),
    }),
    wallet: t.field({
      type: 'Wallet',
      description: 'The one credit wallet that the owner and every surface of the tenant bill against.',
      resolve: (tenant, _args, ctx) => loadRequired(ctx.loaders.walletByTenantId, tenant.id, 'wallet'),
    }),
    domains: t.field({
      type: ['Domain'],
      description: 'Sorted by key. The owner sees every domain; a surface token only the domains it mounts (its home domain included).',
      resolve: async (tenant, _args, ctx) => {
        return visibleDomains(viewerFor(ctx, tenant.id), await ctx.loaders.domainsByTenantId.load(tenant.id));
      },
    }),
    surfaces: t.field({
      type: ['Surface'],
      description: 'Sorted by key. The owner sees every surface; a surface token sees only itself.',
      resolve: async (tenant, _args, ctx) => {
        return visibleSurfaces(viewerFor(ctx, tenant.id), await ctx.loaders.surfacesByTenantId.load(tenant.id));
      },
    }),
  }),
});

const SignUpInput = builder.inputType('SignUpInput', {
  description: 'Who is signing up, and the domains to start with (and, when sign-up is by invitation, the invite code).',
  fields: (t) => ({
    email: t.string({
      required: true,
      description:
        'A valid address of at most 254 characters (BAD_USER_INPUT otherwise), not used by another account (CONFLICT otherwise; by invitation FORBIDDEN, exactly as for a wrong invite code); stored trimmed and lowercased.',
    }),
    displayName: t.string({ description: '1 to 100 printable characters, trimmed (BAD_USER_INPUT otherwise). Default: none.' }),
    domains: t.stringList({
      description:
        'Keys of the domains to create: at most 32, each matching ^[a-z][a-z0-9-]{0,31}$, none repeated (BAD_USER_INPUT otherwise). Default: health, business, finance; [] creates none.',
    }),
    inviteCode: t.string({
      description:
        'The invite code (nxi_…) an operator issued, needed when this deployment signs up by invitation (NEXUS_SIGNUP=invite): it must be issued, unused, not revoked and not expired, and a successful sign-up uses it up. Without a valid one, or with an email that already has an account, signUp is FORBIDDEN with the message "sign-up needs a valid invite code" and the code stays as it was. Ignored when sign-up is open.',
    }),
  }),
});

const SignUpPayload = builder.objectRef<{ ownerToken: string; tenant: import('../../generated/prisma/client.js').Tenant }>('SignUpPayload').implement({
  description: 'The new tenant and its owner token.',
  fields: (t) => ({
    ownerToken: t.exposeString('ownerToken', {
      description: 'The owner token (nxo_…), for Authorization: Bearer. Shown once: store it now. Only its hash is kept; it never expires.',
    }),
    tenant: t.field({ type: 'Tenant', description: 'The new tenant, readable in this same response without a token.', resolve: (p) => p.tenant }),
  }),
});

builder.mutationFields((t) => ({
  signUp: t.field({
    type: SignUpPayload,
    description:
      'Public (no token). Creates a tenant, its identity, a wallet with balance 0 and its first domains in one transaction; returns the owner token once. How is up to the deployment (NEXUS_SIGNUP): open, anyone may sign up, and CONFLICT when the email already has an account; by invitation, input.inviteCode must be a valid invite, used up in the same transaction, and any refusal (no code, a wrong, used, revoked or expired one, an email that already has an account) is FORBIDDEN with one message, "sign-up needs a valid invite code"; closed, every signUp is refused with that same answer. RATE_LIMITED past NEXUS_SIGNUP_RATE_LIMIT_PER_HOUR sign-ups from one address.',
    args: { input: t.arg({ type: SignUpInput, required: true, description: 'The email, display name and first domains (and the invite code, by invitation).' }) },
    resolve: async (_root, { input }, ctx) => {
      // Counted per signUp field, so aliases cannot fit more sign-ups into one request.
      await ctx.services.rateLimits.consume('signUp', ctx.clientAddress);
      const created = await signUp(ctx.services.db.prisma, input, { mode: ctx.services.config.signUp });
      // The caller holds no token yet: let the payload's fields read back this one tenant.
      ctx.signedUpTenantIds.add(created.tenant.id);
      return created;
    },
  }),
  deleteTenant: t.boolean({
    description:
      'Owner only (FORBIDDEN for a surface token). Erases the tenant for good: every token stops working at once (then UNAUTHENTICATED), and every row (identity, wallet and ledger, domains, surfaces, mounts, tokens) and every stored file (records, old versions, indexes) is removed. confirm must be the tenant\'s id (Viewer.tenant.id), else BAD_USER_INPUT. Recorded before it starts and finished at the next start-up if interrupted; the same email may sign up again afterwards. True when done.',
    args: { confirm: t.arg.string({ required: true, description: 'The tenant\'s id, typed out: erasure cannot be undone.' }) },
    resolve: async (_root, { confirm }, ctx) => {
      const { tenantId } = viewerOf(ctx);
      assertErasureConfirmed(tenantId, confirm);
      const report = await eraseTenant(ctx.services, tenantId, 'owner');
      ctx.log.info({ tenant: tenantId, objects: report.objects, ms: report.ms }, 'tenant erased by its owner');
      return true;
    },
  }),
}));
