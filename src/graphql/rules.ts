// graphql-shield rules: the first layer of access control. Each asks auth/access.ts from the viewer alone
// (no resolver has run); rules that read arguments or the parent object never share a cache entry.
import { rule } from 'graphql-shield';
import { canSeeSurfaceDetails, decideStores, type StoreIntent } from '../auth/access.js';
import { ForbiddenError, NexusError, UnauthenticatedError } from '../errors.js';
import type { NexusContext } from './context.js';
import type { Scope } from '../vectors/records.js';

type Ctx = NexusContext;

/** The access decision as a rule's answer: true, or the coded error the client will see. */
function decided(ctx: Ctx, intent: StoreIntent): true | NexusError {
  try {
    decideStores(ctx.viewer, intent);
    return true;
  } catch (error) {
    if (error instanceof NexusError) return error;
    throw error;
  }
}

export const isAuthenticated = rule({ cache: 'contextual' })((_p, _a, ctx: Ctx) => (ctx.viewer ? true : new UnauthenticatedError()));

export const isOwner = rule({ cache: 'contextual' })((_p, _a, ctx: Ctx) => {
  if (!ctx.viewer) return new UnauthenticatedError();
  return ctx.viewer.role === 'OWNER' ? true : new ForbiddenError('only the owner token may do this');
});

/**
 * Objects of the tenant (Tenant, Identity, Domain, Surface, Wallet): the caller's own tenant, or the one signUp
 * has just created in this request (its caller holds no token yet).
 */
export const isOwnTenant = rule({ cache: 'no_cache' })((parent: { tenantId?: string; id: string }, _a, ctx: Ctx) => {
  const tenantId = parent.tenantId ?? parent.id;
  // Checked first: a caller who signs up while holding some token (its own tenant's) reads back the new tenant.
  if (ctx.signedUpTenantIds.has(tenantId)) return true;
  if (ctx.viewer) return ctx.viewer.tenantId === tenantId ? true : new ForbiddenError();
  return new UnauthenticatedError();
});

/** Query.domain(key): the named domain must be readable. */
export const canReadDomainArg = rule({ cache: 'no_cache' })((_p, args: { key?: unknown }, ctx: Ctx) => decided(ctx, { op: 'read', domains: [args.key] }));

/** Domain.search / Domain.recordCount: the parent domain must be the viewer's and readable. */
export const canReadParentDomain = rule({ cache: 'no_cache' })((parent: { key: string; tenantId: string }, _a, ctx: Ctx) => {
  if (ctx.viewer && parent.tenantId !== ctx.viewer.tenantId) return new ForbiddenError();
  return decided(ctx, { op: 'read', domains: [parent.key] });
});

type SearchArgs = { input: { domains?: unknown[] | null; includeSurface?: boolean | null; includeGlobal?: boolean | null } };

/** Query.search: every named domain readable; the private store only for surfaces. */
export const canSearch = rule({ cache: 'no_cache' })((_p, { input }: SearchArgs, ctx: Ctx) => decided(ctx, { op: 'read', ...input }));

/** remember / forget: DOMAIN needs a READ_WRITE mount (owner: any), GLOBAL the owner, SURFACE a surface. */
export const canWriteStore = rule({ cache: 'no_cache' })((_p, { input }: { input: { scope?: Scope | null; domain?: unknown } }, ctx: Ctx) =>
  decided(ctx, { op: 'write', scope: input.scope, domain: input.domain }),
);

/** nexusEvents(domains): every named domain readable. */
export const canSubscribe = rule({ cache: 'no_cache' })((_p, args: { domains?: unknown[] | null }, ctx: Ctx) => decided(ctx, { op: 'read', domains: args.domains }));

/** Surface.mounts: the owner, or the surface itself. */
export const canSeeSurface = rule({ cache: 'no_cache' })((parent: { id: string; tenantId: string }, _a, ctx: Ctx) => {
  if (ctx.signedUpTenantIds.has(parent.tenantId)) return true;
  if (!ctx.viewer) return new UnauthenticatedError();
  if (parent.tenantId !== ctx.viewer.tenantId) return new ForbiddenError();
  return canSeeSurfaceDetails(ctx.viewer, parent.id) ? true : new ForbiddenError('only the owner and the surface itself see its mounts');
});
