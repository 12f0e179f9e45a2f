// graphql-shield rules. Each answers from the viewer alone (no resolver has run);
// rules that read arguments or the parent object never share a cache entry.
import { rule } from 'graphql-shield';
import type { NexusContext } from '../graphql/context.js';
import { canReadDomain, canSeeSurfaceDetails, canWriteDomain } from './access.js';
import { BadUserInputError, ForbiddenError, UnauthenticatedError } from './errors.js';
import { isKey } from './identifiers.js';

type Ctx = NexusContext;

export const isAuthenticated = rule({ cache: 'contextual' })((_p, _a, ctx: Ctx) => (ctx.viewer ? true : new UnauthenticatedError()));

export const isOwner = rule({ cache: 'contextual' })((_p, _a, ctx: Ctx) => {
  if (!ctx.viewer) return new UnauthenticatedError();
  return ctx.viewer.role === 'OWNER' ? true : new ForbiddenError('only the owner token may do this');
});

function readable(ctx: Ctx, key: unknown): true | Error {
  const viewer = ctx.viewer;
  if (!viewer) return new UnauthenticatedError();
  if (typeof key !== 'string' || !isKey(key)) return new BadUserInputError('domain keys match ^[a-z][a-z0-9-]{0,31}$', 'domain');
  return canReadDomain(viewer, key) ? true : new ForbiddenError(`domain ${JSON.stringify(key)} is not mounted for this surface`);
}

/** Query.domain(key): the named domain must be readable. */
export const canReadDomainArg = rule({ cache: 'no_cache' })((_p, args: { key?: unknown }, ctx: Ctx) => readable(ctx, args.key));

/** Domain.search / Domain.recordCount: the parent domain must be the viewer's and readable. */
export const canReadParentDomain = rule({ cache: 'no_cache' })((parent: { key: string; tenantId: string }, _a, ctx: Ctx) => {
  if (ctx.viewer && parent.tenantId !== ctx.viewer.tenantId) return new ForbiddenError();
  return readable(ctx, parent.key);
});

/** Query.search: every named domain readable; the private store only for surfaces. */
export const canSearch = rule({ cache: 'no_cache' })((_p, args: { input: { domains?: unknown[] | null; includeSurface?: boolean | null } }, ctx: Ctx) => {
  if (!ctx.viewer) return new UnauthenticatedError();
  for (const key of args.input.domains ?? []) {
    const ok = readable(ctx, key);
    if (ok !== true) return ok;
  }
  if (args.input.includeSurface && ctx.viewer.role !== 'SURFACE') return new BadUserInputError('only a surface token has a private surface store', 'includeSurface');
  return true;
});

/** remember / forget: DOMAIN needs a READ_WRITE mount (owner: any), GLOBAL the owner, SURFACE a surface. */
export const canWriteStore = rule({ cache: 'no_cache' })((_p, args: { input: { scope?: string | null; domain?: unknown } }, ctx: Ctx) => {
  const viewer = ctx.viewer;
  if (!viewer) return new UnauthenticatedError();
  const scope = args.input.scope ?? 'DOMAIN';
  if (scope === 'GLOBAL') return viewer.role === 'OWNER' ? true : new ForbiddenError('only the owner writes to the global store');
  if (scope === 'SURFACE') return viewer.role === 'SURFACE' ? true : new BadUserInputError('only a surface token has a private surface store', 'scope');
  const key = args.input.domain ?? viewer.surface?.homeDomainKey;
  if (key === undefined) return new BadUserInputError('domain is required for an owner token (only surfaces have a home domain)', 'domain');
  if (typeof key !== 'string' || !isKey(key)) return new BadUserInputError('domain keys match ^[a-z][a-z0-9-]{0,31}$', 'domain');
  return canWriteDomain(viewer, key) ? true : new ForbiddenError(`domain ${JSON.stringify(key)} is not mounted READ_WRITE for this surface`);
});

/** nexusEvents(domains): every named domain readable. */
export const canSubscribe = rule({ cache: 'no_cache' })((_p, args: { domains?: unknown[] | null }, ctx: Ctx) => {
  if (!ctx.viewer) return new UnauthenticatedError();
  for (const key of args.domains ?? []) {
    const ok = readable(ctx, key);
    if (ok !== true) return ok;
  }
  return true;
});

/** Surface.mounts: the owner, or the surface itself. */
export const canSeeSurface = rule({ cache: 'no_cache' })((parent: { id: string; tenantId: string }, _a, ctx: Ctx) => {
  if (!ctx.viewer) return new UnauthenticatedError();
  if (parent.tenantId !== ctx.viewer.tenantId) return new ForbiddenError();
  return canSeeSurfaceDetails(ctx.viewer, parent.id) ? true : new ForbiddenError('only the owner and the surface itself see its mounts');
});
