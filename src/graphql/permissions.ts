// The shield: deny by default, and a rule of its own for every field of every type, so a new
// field is denied until someone decides who may read it (test/unit/permissions.test.ts checks this).
import { allow, deny, shield, type IRules } from 'graphql-shield';
import { ForbiddenError } from '../errors.js';
import {
  canReadDomainArg,
  canReadParentDomain,
  canSearch,
  canSeeSurface,
  canSubscribe,
  canWriteStore,
  isAuthenticated,
  isOwner,
  isOwnTenant,
} from './rules.js';

/** The same rule for each named field. */
const each = <R>(rule: R, ...fields: string[]): Record<string, R> => Object.fromEntries(fields.map((f) => [f, rule]));

/** Type → field → rule. Exported so a test can list every field with the rule that guards it. */
export const ruleTree = {
  Query: {
    '*': deny,
    serverInfo: allow,
    viewer: isAuthenticated,
    domain: canReadDomainArg,
    search: canSearch,
    wallet: isAuthenticated,
  },
  Mutation: {
    '*': deny,
    signUp: allow,
    createDomain: isOwner,
    createSurface: isOwner,
    setMounts: isOwner,
    issueSurfaceToken: isOwner,
    revokeToken: isOwner,
    deleteSurface: isOwner,
    deleteTenant: isOwner,
    topUpCredits: isOwner,
    remember: canWriteStore,
    forget: canWriteStore,
    burnCredits: isAuthenticated,
  },
  Subscription: {
    '*': deny,
    nexusEvents: canSubscribe,
  },
  // Public facts about the deployment.
  ServerInfo: each(allow, 'vectorDimension', 'version', 'embedder', 'textSearch'),
  EmbedderInfo: each(allow, 'provider', 'model', 'creditsPerEmbedding'),
  TextSearchInfo: each(allow, 'language', 'stemming', 'stopWords', 'tokenizer'),
  // signUp's answer goes to a caller who has no token yet; what it holds is checked by the types below.
  SignUpPayload: each(allow, 'ownerToken', 'tenant'),
  // The tenant's own objects: only its tokens (or its fresh signUp) reach them. Lists and references inside
  // them narrow what a surface sees (auth/access.ts: visibleDomains, visibleSurfaces, canSeeDomain).
  Tenant: { ...each(isOwnTenant, 'id', 'identity', 'wallet', 'domains', 'surfaces', 'createdAt'), usage: isOwner },
  TenantUsage: each(isOwner, 'records', 'bytes', 'stores', 'measuredAt'),
  StoreUsage: each(isOwner, 'scope', 'key', 'records', 'bytes', 'files'),
  Identity: each(isOwnTenant, 'id', 'email', 'displayName'),
  Domain: { ...each(isOwnTenant, 'id', 'key', 'name', 'surfaces'), ...each(canReadParentDomain, 'recordCount', 'search', 'index') },
  DomainIndex: each(isAuthenticated, 'state', 'indexedRows', 'unindexedRows'),
  Surface: { ...each(isOwnTenant, 'id', 'key', 'name', 'kind', 'homeDomain'), mounts: canSeeSurface },
  Wallet: { ...each(isOwnTenant, 'id', 'balance'), ledger: isAuthenticated },
  // Reached only through a guarded field above (a surface's mounts, a ledger, a search, a write, a stream).
  Viewer: each(isAuthenticated, 'role', 'tenant', 'surface'),
  Mount: each(isAuthenticated, 'domain', 'access'),
  LedgerEntry: each(isAuthenticated, 'id', 'amount', 'balanceAfter', 'reason', 'idempotencyKey', 'surface', 'createdAt'),
  Record: each(isAuthenticated, 'id', 'scope', 'domain', 'surface', 'kind', 'text', 'metadata', 'occurredAt', 'createdAt', 'vector', 'hasVector'),
  Hit: each(isAuthenticated, 'record', 'distance', 'score'),
  SearchResult: each(isAuthenticated, 'hits'),
  RememberPayload: each(isAuthenticated, 'records'),
  ForgetPayload: each(isAuthenticated, 'deleted'),
  CreditPayload: each(isAuthenticated, 'wallet', 'entry'),
  NexusEvent: each(isAuthenticated, 'id', 'type', 'recordId', 'domain', 'surface', 'record'),
  IssuedToken: each(isOwner, 'id', 'token', 'surface', 'expiresAt'),
} satisfies IRules;

export const permissions = shield(ruleTree, {
  fallbackRule: deny,
  allowExternalErrors: true,
  fallbackError: () => new ForbiddenError(),
});
