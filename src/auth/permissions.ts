// The shield: deny by default, explicit allows per operation, rules for the
// fields whose answer depends on who asks. Coded errors reach the client.
import { allow, deny, shield, type IRules } from 'graphql-shield';
import { ForbiddenError } from './errors.js';
import {
  canReadDomainArg,
  canReadParentDomain,
  canSearch,
  canSeeSurface,
  canSubscribe,
  canWriteStore,
  isAuthenticated,
  isOwner,
} from './rules.js';

/** Type → field → rule. Exported so a test can check that no field is left to the fallback. */
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
    topUpCredits: isOwner,
    remember: canWriteStore,
    forget: canWriteStore,
    burnCredits: isAuthenticated,
  },
  Subscription: {
    '*': deny,
    nexusEvents: canSubscribe,
  },
  // Objects are reachable only through the allowed roots above; these say which of their fields need more.
  Viewer: allow,
  ServerInfo: allow,
  Tenant: allow,
  Identity: allow,
  Domain: { '*': allow, recordCount: canReadParentDomain, search: canReadParentDomain },
  Surface: { '*': allow, mounts: canSeeSurface },
  Mount: allow,
  Record: allow,
  Hit: allow,
  SearchResult: allow,
  Wallet: { '*': allow, ledger: isAuthenticated },
  LedgerEntry: allow,
  IssuedToken: allow,
  SignUpPayload: allow,
  RememberPayload: allow,
  ForgetPayload: allow,
  CreditPayload: allow,
  NexusEvent: allow,
} satisfies IRules;

export const permissions = shield(ruleTree, {
  fallbackRule: deny,
  allowExternalErrors: true,
  fallbackError: () => new ForbiddenError(),
});
