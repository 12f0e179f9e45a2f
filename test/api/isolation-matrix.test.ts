// The isolation matrix: generated from the access table (DESIGN.md §2, README "Who may do what" and "Errors").
// Every caller × every store × every operation or field that can reveal or change a record, a count, a key, a
// name or a balance. Allowed cells succeed; denied ones answer the documented code and change nothing.
//
// Another tenant's stores, and another surface's private store, have no name a caller could use: a domain key,
// scope SURFACE or scope GLOBAL always names a store of the caller's OWN tenant (SURFACE: its own private store).
// Those cells ("never") therefore run the request as the caller would, expect the answer its own tenant gives,
// and check that nothing of the other store appears in it and that the other store is unchanged.
//
// Every store is seeded with records whose text carries a marker unique to that store
// ("secret-of-tA-domain-health:"), and every answer of every cell (events included) is searched for the markers
// of the stores the caller may not read, and for ids it may not learn (the other tenant's ids; for a surface,
// the ids of domains it does not mount and of ledger entries that are not its own).
//
// Every cell that searches runs three times: by vector, by text, and by both (hybrid); the access rules are the
// same. Every seed's text holds QUERY_TEXT, so that a text search returns whole stores as K does for vectors, and
// every store holds a text-only record (no vector): found by text and hybrid searches, never by a vector one.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addSurface, signUpTenant } from '../helpers/fixtures.js';
import { backends, codes, startNexus, type Backend, type GqlResult, type TestNexus } from '../helpers/nexus.js';
import { readSse, type SseEvent, type SseStream } from '../helpers/sse.js';
import { randomVector, seeded } from '../helpers/vectors.js';

const BACKENDS = await backends();
const DIM = 8;
const QUERY_VECTOR = Array.from({ length: DIM }, () => 1);
const K = 1000; // every store here is far smaller: a search returns all of it
/** A word in every seed's text (seedText): a text search for it returns every record of a store. */
const QUERY_TEXT = 'memory';
type SearchMode = 'vector' | 'text' | 'hybrid';
const SEARCH_MODES: SearchMode[] = ['vector', 'text', 'hybrid'];
const MODE_LABEL: Record<SearchMode, string> = { vector: 'by vector', text: 'by text', hybrid: 'by text and vector' };
/** What a search of this mode gives besides its stores and k. */
const searchBy = (mode: SearchMode): { vector?: number[]; text?: string } => ({
  ...(mode === 'text' ? {} : { vector: QUERY_VECTOR }),
  ...(mode === 'vector' ? {} : { text: QUERY_TEXT }),
});
const CONCURRENCY = 6;

// =============================================================================================================
// 1. The world: two tenants, their domains and surfaces.
// =============================================================================================================

type TenantName = 'A' | 'B';
type Access = 'READ' | 'READ_WRITE';
type Scope = 'DOMAIN' | 'SURFACE' | 'GLOBAL';
interface SurfaceSpec {
  home: string;
  kind?: 'APP' | 'DASHBOARD';
  mounts?: Record<string, Access>;
}
interface TenantSpec {
  domains: string[];
  surfaces: Record<string, SurfaceSpec>;
  /** A domain and a surface key the other tenant does not have (targets of the owner-only mutations). */
  onlyDomain: string;
  onlySurface: string;
}

const WORLD: Record<TenantName, TenantSpec> = {
  A: {
    domains: ['health', 'business', 'finance', 'sleep'],
    surfaces: {
      vo2: { home: 'health' },
      sleep: { home: 'sleep', mounts: { health: 'READ' } },
      agnx: { home: 'business' },
      coach: { home: 'business', mounts: { health: 'READ_WRITE' } },
      tax: { home: 'finance', mounts: { health: 'READ_WRITE' } },
      'god-view': { home: 'finance', kind: 'DASHBOARD', mounts: { health: 'READ', business: 'READ', sleep: 'READ' } },
    },
    onlyDomain: 'sleep',
    onlySurface: 'coach',
  },
  // Same keys where it hurts (health, business, finance, vo2), and keys of its own (vault, keeper).
  B: {
    domains: ['health', 'business', 'finance', 'vault'],
    surfaces: {
      vo2: { home: 'health' },
      keeper: { home: 'vault', mounts: { business: 'READ' } },
    },
    onlyDomain: 'vault',
    onlySurface: 'keeper',
  },
};
const TENANTS: TenantName[] = ['A', 'B'];
const otherTenant = (t: TenantName): TenantName => (t === 'A' ? 'B' : 'A');
const surfaceSpec = (t: TenantName, key: string): SurfaceSpec => WORLD[t].surfaces[key]!;
/** Every mount of a surface, its home domain (always READ_WRITE) included. */
function mountsOf(t: TenantName, key: string): Record<string, Access> {
  const spec = surfaceSpec(t, key);
  return { ...(spec.mounts ?? {}), [spec.home]: 'READ_WRITE' };
}
const capitalised = (key: string): string => key.charAt(0).toUpperCase() + key.slice(1);

interface Store {
  t: TenantName;
  scope: Scope;
  /** Domain key (DOMAIN), surface key (SURFACE), '' (GLOBAL). */
  key: string;
}
const sid = (s: Store): string => `${s.t}/${s.scope}/${s.key}`;
const sameStore = (a: Store | undefined, b: Store | undefined): boolean => !!a && !!b && sid(a) === sid(b);
const STORES: Store[] = TENANTS.flatMap((t): Store[] => [
  ...WORLD[t].domains.map((key) => ({ t, scope: 'DOMAIN' as const, key })),
  ...Object.keys(WORLD[t].surfaces).map((key) => ({ t, scope: 'SURFACE' as const, key })),
  { t, scope: 'GLOBAL', key: '' },
]);
const DOMAIN_STORES = STORES.filter((s) => s.scope === 'DOMAIN');
const storeLabel = (s: Store): string =>
  s.scope === 'DOMAIN' ? `${s.t}/domain "${s.key}"` : s.scope === 'SURFACE' ? `${s.t}/surface "${s.key}" store` : `${s.t}/global store`;
/** The text marker of a store's records: it must never appear in an answer to a caller that may not read the store. */
const marker = (s: Store): string => `secret-of-t${s.t}-${s.scope.toLowerCase()}${s.key ? `-${s.key}` : ''}:`;

// ---- Seed records: who wrote what where (writer null: the owner). ----

interface Seed {
  store: Store;
  id: string;
  writer: string | null;
  /** Written with text and no vector: only text and hybrid searches find it. */
  textOnly: boolean;
}
const DOMAIN_SEEDS: [TenantName, string, (string | null)[]][] = [
  ['A', 'health', [null, 'vo2', 'coach', 'tax']],
  ['A', 'business', ['agnx', 'coach']],
  ['A', 'finance', ['tax', 'god-view']],
  ['A', 'sleep', ['sleep']],
  ['B', 'health', [null, 'vo2']],
  ['B', 'business', [null]],
  ['B', 'finance', [null]],
  ['B', 'vault', ['keeper']],
];
// Each store's text-only record is written by its last writer, so that Record.surface meets a surface on one.
const SEEDS: Seed[] = [
  ...DOMAIN_SEEDS.flatMap(([t, key, writers]) => [
    ...writers.map((writer) => ({ store: { t, scope: 'DOMAIN' as const, key }, id: `${t.toLowerCase()}-${key}-by-${writer ?? 'owner'}`, writer, textOnly: false })),
    { store: { t, scope: 'DOMAIN' as const, key }, id: `${t.toLowerCase()}-${key}-text-only`, writer: writers[writers.length - 1] ?? null, textOnly: true },
  ]),
  ...STORES.filter((s) => s.scope === 'SURFACE').flatMap((store) => [
    { store, id: `${store.t.toLowerCase()}-private-${store.key}`, writer: store.key, textOnly: false },
    { store, id: `${store.t.toLowerCase()}-private-${store.key}-text-only`, writer: store.key, textOnly: true },
  ]),
  ...TENANTS.flatMap((t) => [
    { store: { t, scope: 'GLOBAL' as const, key: '' }, id: `${t.toLowerCase()}-global-by-owner`, writer: null, textOnly: false },
    { store: { t, scope: 'GLOBAL' as const, key: '' }, id: `${t.toLowerCase()}-global-text-only`, writer: null, textOnly: true },
  ]),
];
const seedsOf = (s: Store): Seed[] => SEEDS.filter((seed) => sameStore(seed.store, s));
const seedIds = (s: Store): string[] => seedsOf(s).map((seed) => seed.id).sort();
/** The seeds a search of this mode returns from store s: a vector search never finds a text-only record. */
const foundIds = (s: Store, mode: SearchMode): string[] => seedsOf(s).filter((seed) => mode !== 'vector' || !seed.textOnly).map((seed) => seed.id).sort();
const seedText = (seed: Seed): string => `${marker(seed.store)} ${seed.id} ${QUERY_TEXT}`;

/** Who writes the live-event probe into each domain store (null: the owner), and the probe's ids. */
const LIVE_WRITER: Record<string, string | null> = {
  'A/DOMAIN/health': 'coach',
  'A/DOMAIN/business': 'agnx',
  'A/DOMAIN/finance': 'tax',
  'A/DOMAIN/sleep': 'sleep',
  'B/DOMAIN/health': 'vo2',
  'B/DOMAIN/business': null,
  'B/DOMAIN/finance': null,
  'B/DOMAIN/vault': 'keeper',
};
const liveProbeId = (s: Store): string => `live-${s.t.toLowerCase()}-${s.key}`;
const liveFenceId = (s: Store): string => `fence-${s.t.toLowerCase()}-${s.key}`;

// =============================================================================================================
// 2. The callers.
// =============================================================================================================

type Role = 'OWNER' | 'SURFACE' | 'INVALID';
interface Caller {
  id: string;
  label: string;
  t?: TenantName;
  role: Role;
  surface?: string;
}
function surfaceCallerLabel(t: TenantName, key: string): string {
  const spec = surfaceSpec(t, key);
  const extra = Object.entries(spec.mounts ?? {});
  const parts = [`home ${spec.home}`];
  const rw = extra.filter(([, a]) => a === 'READ_WRITE').map(([d]) => d);
  const ro = extra.filter(([, a]) => a === 'READ').map(([d]) => d);
  if (rw.length) parts.push(`${rw.join(', ')} READ_WRITE`);
  if (ro.length) parts.push(`${ro.join(', ')} READ`);
  return `${t} ${spec.kind === 'DASHBOARD' ? 'dashboard' : 'surface'} "${key}" (${parts.join('; ')})`;
}
const surfaceCallers = (t: TenantName): Caller[] =>
  Object.keys(WORLD[t].surfaces).map((s) => ({ id: `${t}-${s}`, label: surfaceCallerLabel(t, s), t, role: 'SURFACE' as const, surface: s }));
const CALLERS: Caller[] = [
  { id: 'A-owner', label: 'A owner', t: 'A', role: 'OWNER' },
  ...surfaceCallers('A'),
  { id: 'revoked', label: 'revoked token (of A "vo2")', role: 'INVALID' },
  { id: 'expired', label: 'expired token (of A "sleep", 1 s)', role: 'INVALID' },
  { id: 'none', label: 'no token', role: 'INVALID' },
  { id: 'malformed', label: 'malformed token', role: 'INVALID' },
  { id: 'unknown', label: 'unknown token (well-formed nxs_…)', role: 'INVALID' },
  { id: 'B-owner', label: 'B owner', t: 'B', role: 'OWNER' },
  ...surfaceCallers('B'),
];

// =============================================================================================================
// 3. The access table (DESIGN.md §2; README "Who may do what" and "Errors"), for a store of the caller's OWN
//    tenant. Another surface's store and another tenant's stores are not in it: no name reaches them ("never").
// =============================================================================================================

type Code = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BAD_USER_INPUT' | 'NOT_FOUND';
type Right = 'OK' | Code;
interface ReadWrite {
  read: Right;
  write: Right;
}
const ACCESS_TABLE: {
  surface: { domain: Record<Access | 'unmounted', ReadWrite>; ownSurfaceStore: ReadWrite; global: ReadWrite; ownerOnly: Right; wallet: Right; otherSurfaceMounts: Right };
  owner: { domain: Record<'existing' | 'missing', ReadWrite>; ownSurfaceStore: ReadWrite; global: ReadWrite; ownerOnly: Right; wallet: Right };
  invalidToken: Code;
} = {
  surface: {
    domain: {
      READ: { read: 'OK', write: 'FORBIDDEN' }, // search, list
      READ_WRITE: { read: 'OK', write: 'OK' }, // search, list, write, forget
      unmounted: { read: 'FORBIDDEN', write: 'FORBIDDEN' }, // never (a missing key looks the same)
    },
    ownSurfaceStore: { read: 'OK', write: 'OK' },
    global: { read: 'OK', write: 'FORBIDDEN' },
    ownerOnly: 'FORBIDDEN',
    wallet: 'OK', // balance, its own ledger entries, burn
    otherSurfaceMounts: 'FORBIDDEN',
  },
  owner: {
    domain: {
      existing: { read: 'OK', write: 'OK' }, // all
      missing: { read: 'NOT_FOUND', write: 'NOT_FOUND' }, // another tenant's key looks exactly like a missing one
    },
    ownSurfaceStore: { read: 'BAD_USER_INPUT', write: 'BAD_USER_INPUT' }, // the owner has no surface store
    global: { read: 'OK', write: 'OK' },
    ownerOnly: 'OK',
    wallet: 'OK',
  },
  invalidToken: 'UNAUTHENTICATED', // no, malformed, unknown, revoked or expired token: on every operation
};

type Target = { scope: 'DOMAIN'; key: string } | { scope: 'SURFACE' } | { scope: 'GLOBAL' };
const targetOf = (s: Store): Target => (s.scope === 'DOMAIN' ? { scope: 'DOMAIN', key: s.key } : { scope: s.scope });
const targetName = (t: Target): string => (t.scope === 'DOMAIN' ? t.key : t.scope);
const NOWHERE: Target = { scope: 'DOMAIN', key: 'nowhere' };

/** What a request naming `target` answers for caller `c`, and which store (of c's own tenant) it reaches. */
function requestRight(c: Caller, op: 'read' | 'write', target: Target): { right: Right; resolved?: Store } {
  if (c.role === 'INVALID' || !c.t) return { right: ACCESS_TABLE.invalidToken };
  const t = c.t;
  if (target.scope === 'DOMAIN') {
    const exists = WORLD[t].domains.includes(target.key);
    const resolved: Store | undefined = exists ? { t, scope: 'DOMAIN', key: target.key } : undefined;
    if (c.role === 'OWNER') return { right: ACCESS_TABLE.owner.domain[exists ? 'existing' : 'missing'][op], resolved };
    const mount = mountsOf(t, c.surface!)[target.key];
    return { right: ACCESS_TABLE.surface.domain[mount ?? 'unmounted'][op], resolved };
  }
  if (target.scope === 'SURFACE') {
    if (c.role === 'OWNER') return { right: ACCESS_TABLE.owner.ownSurfaceStore[op] };
    return { right: ACCESS_TABLE.surface.ownSurfaceStore[op], resolved: { t, scope: 'SURFACE', key: c.surface! } };
  }
  return { right: ACCESS_TABLE[c.role === 'OWNER' ? 'owner' : 'surface'].global[op], resolved: { t, scope: 'GLOBAL', key: '' } };
}

/** Whether c may read store s at all (the stores whose markers may appear in its answers). */
function canRead(c: Caller, s: Store): boolean {
  if (c.role === 'INVALID' || c.t !== s.t) return false;
  if (s.scope === 'SURFACE') return c.surface === s.key;
  if (s.scope === 'GLOBAL') return true;
  return c.role === 'OWNER' || mountsOf(c.t, c.surface!)[s.key] !== undefined;
}
/** Whether c sees surface `key` of tenant t in lists and its details (mounts): the owner, or the surface itself. */
const canSeeSurfaceDetails = (c: Caller, t: TenantName, key: string): boolean => c.t === t && (c.role === 'OWNER' || c.surface === key);
/** The domains whose records c reads (its own tenant's). */
const readableDomains = (c: Caller): Store[] => DOMAIN_STORES.filter((s) => canRead(c, s));

// =============================================================================================================
// 4. Requests (shared by cells) and cells.
// =============================================================================================================

type Phase = 'read' | 'write' | 'live' | 'burn' | 'owner-only';

const Q = {
  search: 'query($i: SearchInput!) { search(input: $i) { hits { distance record { id text scope hasVector domain { id key } surface { id key } } } } }',
  'domain.name': 'query($k: String!) { domain(key: $k) { id key name } }',
  'domain.search': 'query($k: String!, $v: [Float!], $q: String) { domain(key: $k) { id search(input: { vector: $v, text: $q, k: 1000 }) { distance record { id text scope hasVector } } } }',
  'domain.recordCount': 'query($k: String!) { domain(key: $k) { id recordCount } }',
  'domain.surfaces': 'query($k: String!) { domain(key: $k) { id surfaces { id key } } }',
  lists: '{ viewer { role tenant { id domains { id key } surfaces { id key } } } }',
  writers:
    'query($v: [Float!], $q: String) { viewer { surface { id key homeDomain { id key name } } } search(input: { vector: $v, text: $q, k: 1000 }) { hits { record { id text surface { id key homeDomain { id key name } } } } } }',
  mountsHits: 'query($v: [Float!], $q: String) { search(input: { vector: $v, text: $q, k: 1000 }) { hits { record { id text surface { id key mounts { access domain { key } } } } } } }',
  mountsViewer: '{ viewer { surface { id key mounts { access domain { key } } } tenant { surfaces { id key mounts { access domain { key } } } } } }',
  wallet: '{ wallet { id balance } }',
  ledger: '{ wallet { id ledger(first: 100) { id amount surface { key } } } }',
  identity: '{ viewer { tenant { id identity { email displayName } } } }',
  remember: 'mutation($i: RememberInput!) { remember(input: $i) { records { id scope domain { id key } surface { id key } } } }',
  forget: 'mutation($i: ForgetInput!) { forget(input: $i) { deleted } }',
  burn: 'mutation($i: BurnCreditsInput!) { burnCredits(input: $i) { wallet { id balance } entry { id amount surface { key } } } }',
  subscription:
    'subscription($d: [String!]) { nexusEvents(domains: $d) { type recordId domain { id key } surface { id key homeDomain { id key name } } record { id text scope } } }',
} as const;
type OwnerOnlyMutation = 'createDomain' | 'createSurface' | 'setMounts' | 'issueSurfaceToken' | 'revokeToken' | 'topUpCredits';
const OWNER_ONLY_MUTATIONS: OwnerOnlyMutation[] = ['createDomain', 'createSurface', 'setMounts', 'issueSurfaceToken', 'revokeToken', 'topUpCredits'];
type ReadKind = 'search' | 'domain.name' | 'domain.search' | 'domain.recordCount' | 'domain.surfaces';

interface Request {
  key: string;
  caller: Caller;
  phase: Phase;
}
interface ReadRequest extends Request {
  phase: 'read';
  query: string;
  variables: Record<string, unknown>;
}
interface WriteRequest extends Request {
  phase: 'write';
  kind: 'remember' | 'forget';
  target: Target;
  right: Right;
  resolved?: Store;
  /** The stores the cells sharing this request are about: each must be checked unchanged (or changed as allowed). */
  involved: Store[];
  probe: string;
}
interface LiveRequest extends Request {
  phase: 'live';
  target: Target;
  right: Right;
  resolved?: Store;
}
interface OwnerOnlyRequest extends Request {
  phase: 'owner-only';
  mutation: OwnerOnlyMutation;
  tenant: TenantName;
  expect: Right | 'OWN_TENANT';
}
const READS = new Map<string, ReadRequest>();
const WRITES = new Map<string, WriteRequest>();
const LIVES = new Map<string, LiveRequest>();
const OWNER_ONLY = new Map<string, OwnerOnlyRequest>();

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

type ReadRequestKind = ReadKind | 'lists' | 'writers' | 'mountsHits' | 'mountsViewer' | 'wallet' | 'ledger' | 'identity' | 'searchSurface' | 'searchGlobal';
/** The read kinds that run a search: each is asked by vector, by text and by both. */
const SEARCH_KINDS: ReadonlySet<ReadRequestKind> = new Set(['search', 'domain.search', 'searchSurface', 'searchGlobal', 'writers', 'mountsHits']);

function readRequest(c: Caller, kind: ReadRequestKind, target?: Target, mode?: SearchMode): string {
  if (SEARCH_KINDS.has(kind) !== (mode !== undefined)) throw new Error(`read kind ${kind}: a search mode is required exactly for searches`);
  const key = `${c.id}|${kind}${target ? `|${targetName(target)}` : ''}${mode ? `|${mode}` : ''}`;
  if (READS.has(key)) return key;
  const by = searchBy(mode ?? 'vector');
  let query: string;
  let variables: Record<string, unknown> = {};
  if (kind === 'search') {
    query = Q.search;
    variables = { i: { ...by, k: K, domains: [(target as { key: string }).key] } };
  } else if (kind === 'searchSurface' || kind === 'searchGlobal') {
    query = Q.search;
    variables = { i: { ...by, k: K, domains: [], [kind === 'searchSurface' ? 'includeSurface' : 'includeGlobal']: true } };
  } else if (kind.startsWith('domain.')) {
    query = Q[kind as ReadKind];
    variables = { k: (target as { key: string }).key, ...(kind === 'domain.search' ? { v: by.vector, q: by.text } : {}) };
  } else {
    query = Q[kind as 'lists'];
    if (kind === 'writers' || kind === 'mountsHits') variables = { v: by.vector, q: by.text };
  }
  READS.set(key, { key, caller: c, phase: 'read', query, variables });
  return key;
}

function writeRequest(c: Caller, kind: 'remember' | 'forget', target: Target, about?: Store): string {
  const key = `${c.id}|${kind}|${targetName(target)}`;
  let w = WRITES.get(key);
  if (!w) {
    const { right, resolved } = requestRight(c, 'write', target);
    w = { key, caller: c, phase: 'write', kind, target, right, resolved, involved: [], probe: `probe-${slug(c.id)}-${slug(targetName(target))}` };
    WRITES.set(key, w);
  }
  if (about && !w.involved.some((s) => sameStore(s, about))) w.involved.push(about);
  return key;
}

function liveRequest(c: Caller, target: Target): string {
  const key = `${c.id}|nexusEvents|${targetName(target)}`;
  if (!LIVES.has(key)) LIVES.set(key, { key, caller: c, phase: 'live', target, ...requestRight(c, 'read', target) });
  return key;
}

// ---- Cells ----

interface Cell {
  name: string;
  caller: Caller;
  /** The store (or, for Surface.* and list cells, the surface of that store) the cell is about. */
  store?: Store;
  /** The tenant, for wallet, identity and owner-only cells. */
  tenant?: TenantName;
  op: string;
  phase: Phase;
  allowed: boolean;
  /** The code the request must answer; undefined: it succeeds (allowed, or in the caller's own tenant). */
  code?: Code;
  /** Where the request lands when it succeeds. */
  resolved?: Store;
  req: string;
  /** Further requests the cell judges (Surface.mounts reads two). */
  more?: string[];
  /** The same request naming a key that exists in no tenant: the answer must be the same. */
  twin?: string;
  /** How a search cell searches (what it finds depends on it: a vector search no text-only record). */
  mode?: SearchMode;
  check: (cell: Cell, ctx: Ctx) => void;
}
const CELLS: Cell[] = [];

function addCell(cell: Omit<Cell, 'name'>, outcome: string): void {
  const column = cell.store ? (cell.op.startsWith('Surface.') || cell.op.startsWith('viewer.tenant.surfaces') ? storeLabel(cell.store).replace(/ store$/, '') : storeLabel(cell.store)) : `${cell.tenant}/tenant`;
  const op = cell.mode ? `${cell.op} [${MODE_LABEL[cell.mode]}]` : cell.op;
  CELLS.push({ ...cell, name: `${cell.caller.label} × ${column} × ${op} → ${outcome}${cell.twin ? ' (the same answer as a missing key)' : ''}` });
}

/** Another tenant's domain whose key the caller's own tenant lacks: it must look exactly like a missing one. */
const needsTwin = (c: Caller, s: Store): boolean => c.role !== 'INVALID' && s.scope === 'DOMAIN' && s.t !== c.t && !WORLD[c.t!].domains.includes(s.key);

function storeOutcome(kind: 'read' | 'write' | 'live', right: Right, resolved: Store | undefined, s: Store, what: string, forget = false): { allowed: boolean; code?: Code; label: string } {
  if (right !== 'OK') {
    const tail = kind === 'write' ? (forget ? ', nothing deleted' : ', nothing written') : kind === 'live' ? ' as the first answer' : '';
    return { allowed: false, code: right, label: `${right}${tail}` };
  }
  if (sameStore(resolved, s)) {
    const label =
      kind === 'write'
        ? `allowed (${what}, then undone)`
        : kind === 'live'
          ? `allowed: the stream opens and a write by ${LIVE_WRITER[sid(s)] ? `"${LIVE_WRITER[sid(s)]}"` : 'the owner'} arrives`
          : `allowed: ${what}`;
    return { allowed: true, label };
  }
  const own = resolved ? storeLabel(resolved) : 'no store at all';
  const label = kind === 'write' ? `never: lands in ${own}, ${storeLabel(s)} unchanged` : kind === 'live' ? `never: only ${own}'s events arrive` : `never: answers from ${own}, nothing of ${storeLabel(s)}`;
  return { allowed: false, label };
}

/** What an allowed search of a store answers. */
const exactlyItsRecords = (mode?: SearchMode): string => (mode === 'vector' ? 'exactly its records with a vector' : 'exactly its records, the text-only one too');
/** The modes a read kind runs in: all three for a search, none otherwise. */
const modesOf = (kind: ReadRequestKind): (SearchMode | undefined)[] => (SEARCH_KINDS.has(kind) ? SEARCH_MODES : [undefined]);

const DOMAIN_READS: [string, ReadKind, string | ((mode?: SearchMode) => string), (cell: Cell, ctx: Ctx) => void][] = [
  ['search(domains: [D])', 'search', exactlyItsRecords, checkDomainSearch],
  ['Record.surface', 'search', 'every hit names its writer', checkRecordSurface],
  ['domain(key: D) { key name }', 'domain.name', 'its key and name', checkDomainName],
  ['domain(key: D) { search }', 'domain.search', exactlyItsRecords, checkDomainDomainSearch],
  ['domain(key: D) { recordCount }', 'domain.recordCount', 'its record count', checkRecordCount],
  ['domain(key: D) { surfaces }', 'domain.surfaces', 'the surfaces it may see', checkDomainSurfaces],
];

for (const c of CALLERS) {
  for (const s of STORES) {
    if (s.scope === 'DOMAIN') {
      const target = targetOf(s);
      const read = requestRight(c, 'read', target);
      const write = requestRight(c, 'write', target);
      const twin = needsTwin(c, s);
      for (const [op, kind, detail, check] of DOMAIN_READS) {
        for (const mode of modesOf(kind)) {
          const o = storeOutcome('read', read.right, read.resolved, s, typeof detail === 'string' ? detail : detail(mode));
          addCell(
            { caller: c, store: s, op, phase: 'read', allowed: o.allowed, code: o.code, resolved: read.resolved, req: readRequest(c, kind, target, mode), twin: twin ? readRequest(c, kind, NOWHERE, mode) : undefined, mode, check },
            o.label,
          );
        }
      }
      for (const kind of ['remember', 'forget'] as const) {
        const what = kind === 'remember' ? `remember(scope: DOMAIN, domain: D)` : `forget(scope: DOMAIN, domain: D)`;
        const o = storeOutcome('write', write.right, write.resolved, s, kind === 'remember' ? 'writes a probe' : 'deletes only the probe', kind === 'forget');
        addCell(
          { caller: c, store: s, op: what, phase: 'write', allowed: o.allowed, code: o.code, resolved: write.resolved, req: writeRequest(c, kind, target, s), twin: twin ? writeRequest(c, kind, NOWHERE) : undefined, check: kind === 'remember' ? checkRemember : checkForget },
          o.label,
        );
      }
      const live = storeOutcome('live', read.right, read.resolved, s, '');
      addCell(
        { caller: c, store: s, op: 'nexusEvents(domains: [D])', phase: 'live', allowed: live.allowed, code: live.code, resolved: read.resolved, req: liveRequest(c, target), twin: twin ? liveRequest(c, NOWHERE) : undefined, check: checkLive },
        live.label,
      );
      // Fields that reveal a domain without naming it.
      if (c.role === 'INVALID') {
        addCell({ caller: c, store: s, op: 'viewer.tenant.domains', phase: 'read', allowed: false, code: 'UNAUTHENTICATED', req: readRequest(c, 'lists'), check: checkDomainListed }, 'UNAUTHENTICATED');
        for (const mode of SEARCH_MODES) {
          addCell({ caller: c, store: s, op: 'Surface.homeDomain of a writer homed in D', phase: 'read', allowed: false, code: 'UNAUTHENTICATED', req: readRequest(c, 'writers', undefined, mode), mode, check: checkHomeDomain }, 'UNAUTHENTICATED');
        }
      } else {
        const visible = canRead(c, s);
        addCell({ caller: c, store: s, op: 'viewer.tenant.domains', phase: 'read', allowed: visible, req: readRequest(c, 'lists'), check: checkDomainListed }, visible ? 'listed' : c.t === s.t ? 'not listed' : 'never: not listed');
        const seen = writersHomedIn(c, s).map((k) => `"${k}"`);
        const how = seen.length ? `writers in reach: ${seen.join(', ')}` : 'no writer homed there in reach';
        for (const mode of SEARCH_MODES) {
          addCell(
            { caller: c, store: s, op: 'Surface.homeDomain of a writer homed in D', phase: 'read', allowed: visible, req: readRequest(c, 'writers', undefined, mode), mode, check: checkHomeDomain },
            c.t !== s.t ? 'never: no surface or domain of that tenant appears' : visible ? `shown (${how})` : `null (${how})`,
          );
        }
      }
    } else if (s.scope === 'SURFACE' || s.scope === 'GLOBAL') {
      const target = targetOf(s);
      const read = requestRight(c, 'read', target);
      const write = requestRight(c, 'write', target);
      const scope = s.scope;
      for (const mode of SEARCH_MODES) {
        const r = storeOutcome('read', read.right, read.resolved, s, exactlyItsRecords(mode));
        addCell(
          { caller: c, store: s, op: scope === 'SURFACE' ? 'search(includeSurface: true)' : 'search(includeGlobal: true)', phase: 'read', allowed: r.allowed, code: r.code, resolved: read.resolved, req: readRequest(c, scope === 'SURFACE' ? 'searchSurface' : 'searchGlobal', undefined, mode), mode, check: checkStoreSearch },
          r.label,
        );
      }
      for (const kind of ['remember', 'forget'] as const) {
        const o = storeOutcome('write', write.right, write.resolved, s, kind === 'remember' ? 'writes a probe' : 'deletes only the probe', kind === 'forget');
        addCell(
          { caller: c, store: s, op: `${kind}(scope: ${scope})`, phase: 'write', allowed: o.allowed, code: o.code, resolved: write.resolved, req: writeRequest(c, kind, target, s), check: kind === 'remember' ? checkRemember : checkForget },
          o.label,
        );
      }
      if (scope === 'SURFACE') {
        if (c.role === 'INVALID') {
          addCell({ caller: c, store: s, op: 'viewer.tenant.surfaces', phase: 'read', allowed: false, code: 'UNAUTHENTICATED', req: readRequest(c, 'lists'), check: checkSurfaceListed }, 'UNAUTHENTICATED');
          for (const mode of SEARCH_MODES) {
            addCell({ caller: c, store: s, op: 'Surface.mounts', phase: 'read', allowed: false, code: 'UNAUTHENTICATED', req: readRequest(c, 'mountsViewer'), more: [readRequest(c, 'mountsHits', undefined, mode)], mode, check: checkMounts }, 'UNAUTHENTICATED');
          }
        } else {
          const visible = canSeeSurfaceDetails(c, s.t, s.key);
          addCell({ caller: c, store: s, op: 'viewer.tenant.surfaces', phase: 'read', allowed: visible, req: readRequest(c, 'lists'), check: checkSurfaceListed }, visible ? 'listed' : c.t === s.t ? 'not listed' : 'never: not listed');
          const reached = surfaceReached(c, s.t, s.key);
          for (const mode of SEARCH_MODES) {
            addCell(
              { caller: c, store: s, op: 'Surface.mounts', phase: 'read', allowed: visible, req: readRequest(c, 'mountsViewer'), more: [readRequest(c, 'mountsHits', undefined, mode)], mode, check: checkMounts },
              visible ? 'shown' : c.t !== s.t ? 'never: that surface never appears' : reached ? `${ACCESS_TABLE.surface.otherSurfaceMounts} where it appears as a writer, never shown` : 'never shown (not in reach as a writer)',
            );
          }
        }
      }
    }
  }
  // Wallet, identity, and the owner-only mutations of each tenant.
  for (const t of TENANTS) {
    const valid = c.role !== 'INVALID';
    const own = valid && c.t === t;
    const tenantOutcome = (allowedLabel: string): { allowed: boolean; code?: Code; label: string } =>
      !valid ? { allowed: false, code: 'UNAUTHENTICATED', label: 'UNAUTHENTICATED' } : own ? { allowed: true, label: allowedLabel } : { allowed: false, label: `never: answers with tenant ${c.t}'s own` };
    const ledgerLabel = c.role === 'OWNER' ? 'allowed: every entry' : 'allowed: only its own entries';
    for (const [op, kind, label, check] of [
      ['wallet.balance', 'wallet', 'allowed: the balance', checkBalance],
      ['wallet.ledger', 'ledger', ledgerLabel, checkLedger],
      ['Tenant.identity', 'identity', 'allowed: the email and display name', checkIdentity],
    ] as const) {
      const o = tenantOutcome(label);
      addCell({ caller: c, tenant: t, op, phase: 'read', allowed: o.allowed, code: o.code, req: readRequest(c, kind), check }, o.label);
    }
    {
      const o = !valid
        ? { allowed: false, code: 'UNAUTHENTICATED' as Code, label: 'UNAUTHENTICATED, no balance changes' }
        : own
          ? { allowed: true, label: 'allowed: its wallet goes down by the amount, the other is unchanged' }
          : { allowed: false, label: `never: burns tenant ${c.t}'s own wallet, this one is unchanged` };
      addCell({ caller: c, tenant: t, op: 'burnCredits', phase: 'burn', allowed: o.allowed, code: o.code, req: `${c.id}|burn`, check: checkBurn }, o.label);
    }
    for (const mutation of OWNER_ONLY_MUTATIONS) {
      const exp: Right | 'OWN_TENANT' = !valid
        ? 'UNAUTHENTICATED'
        : c.role === 'SURFACE'
          ? ACCESS_TABLE.surface.ownerOnly
          : own
            ? ACCESS_TABLE.owner.ownerOnly
            : mutation === 'createDomain' || mutation === 'topUpCredits'
              ? 'OWN_TENANT' // names nothing of the other tenant: acts on the caller's own
              : 'NOT_FOUND'; // names the other tenant's surface, domain or token: looks missing
      const key = `${c.id}|${mutation}|${t}`;
      OWNER_ONLY.set(key, { key, caller: c, phase: 'owner-only', mutation, tenant: t, expect: exp });
      const label = exp === 'OK' ? 'allowed' : exp === 'OWN_TENANT' ? `never: acts on tenant ${c.t} only, ${t} unchanged` : `${exp}, nothing changes`;
      addCell({ caller: c, tenant: t, op: mutation, phase: 'owner-only', allowed: exp === 'OK', code: exp === 'OK' || exp === 'OWN_TENANT' ? undefined : exp, req: key, check: checkOwnerOnly }, label);
    }
  }
}

/** Surfaces homed in domain s that c meets as the writer of a record it can read, or as itself. */
function writersHomedIn(c: Caller, s: Store): string[] {
  if (c.role === 'INVALID' || c.t !== s.t) return [];
  const met = new Set<string>();
  if (c.surface) met.add(c.surface);
  for (const d of readableDomains(c)) for (const seed of seedsOf(d)) if (seed.writer) met.add(seed.writer);
  return [...met].filter((k) => surfaceSpec(s.t, k).home === s.key).sort();
}
/** Whether c meets surface `key` as the writer of a record it can read (every search hit shows its writer). */
function surfaceReached(c: Caller, t: TenantName, key: string): boolean {
  return c.t === t && readableDomains(c).some((d) => seedsOf(d).some((seed) => seed.writer === key));
}

// =============================================================================================================
// 5. A running world: the fixture, built once per backend.
// =============================================================================================================

interface Ctx {
  nexus: TestNexus;
  tokens: Map<string, string | undefined>;
  ownerOf: Record<TenantName, Caller>;
  tenantId: Record<TenantName, string>;
  walletId: Record<TenantName, string>;
  email: Record<TenantName, string>;
  domainId: Map<string, string>; // `${t}/${key}`
  surfaceId: Map<string, string>; // `${t}/${key}`
  surfaceById: Map<string, { t: TenantName; key: string }>;
  ledger: Record<TenantName, { id: string; surface: string | null }[]>;
  balance: Record<TenantName, bigint>;
  spareToken: Record<TenantName, { id: string; token: string }>;
  /** Store contents right after seeding: every store must look like this whenever no allowed write is under way. */
  baseline: Map<string, string[]>;
  /** Ids each caller must never see. */
  forbiddenIds: Map<string, Map<string, string>>;
  results: Map<string, any>;
}

const surfaceCaller = (t: TenantName, key: string): Caller => CALLERS.find((c) => c.t === t && c.surface === key)!;
const gqlAs = (ctx: Ctx, c: Caller, query: string, variables: Record<string, unknown> = {}): Promise<GqlResult<any>> =>
  ctx.nexus.gql(query, variables, ctx.tokens.get(c.id));

async function must(res: Promise<GqlResult<any>>, what: string): Promise<any> {
  const r = await res;
  if (r.errors || !r.data) throw new Error(`${what} failed: ${JSON.stringify(r.errors)}`);
  return r.data;
}

async function pool<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setUp(backend: Backend): Promise<Ctx> {
  const nexus = await startNexus({ backend });
  const rand = seeded(20260611);
  const ctx: Ctx = {
    nexus,
    tokens: new Map([
      ['none', undefined],
      ['malformed', 'garbage'],
      ['unknown', `nxs_${randomBytes(32).toString('base64url')}`],
    ]),
    ownerOf: { A: CALLERS.find((c) => c.id === 'A-owner')!, B: CALLERS.find((c) => c.id === 'B-owner')! },
    tenantId: {} as Record<TenantName, string>,
    walletId: {} as Record<TenantName, string>,
    email: {} as Record<TenantName, string>,
    domainId: new Map(),
    surfaceId: new Map(),
    surfaceById: new Map(),
    ledger: { A: [], B: [] },
    balance: { A: 0n, B: 0n },
    spareToken: {} as Record<TenantName, { id: string; token: string }>,
    baseline: new Map(),
    forbiddenIds: new Map(),
    results: new Map(),
  };
  let expiresAt = 0;
  for (const t of TENANTS) {
    const tenant = await signUpTenant(nexus, WORLD[t].domains);
    ctx.tokens.set(`${t}-owner`, tenant.ownerToken);
    ctx.tenantId[t] = tenant.tenantId;
    ctx.email[t] = tenant.email.toLowerCase();
    for (const [key, spec] of Object.entries(WORLD[t].surfaces)) {
      const mounts = Object.entries(spec.mounts ?? {}).map(([domain, access]) => ({ domain, access }));
      const s = await addSurface(nexus, tenant.ownerToken, { key, homeDomain: spec.home, kind: spec.kind, mounts });
      ctx.tokens.set(`${t}-${key}`, s.token);
    }
    const issue = (surface: string, expiresInSeconds?: number) =>
      must(nexus.gql('mutation($i: IssueSurfaceTokenInput!) { issueSurfaceToken(input: $i) { id token } }', { i: { surface, expiresInSeconds } }, tenant.ownerToken), 'issueSurfaceToken');
    if (t === 'A') {
      const expired = await issue('sleep', 1);
      expiresAt = Date.now() + 1000;
      ctx.tokens.set('expired', expired.issueSurfaceToken.token);
      const revoked = await issue('vo2');
      await must(nexus.gql('mutation($id: ID!) { revokeToken(id: $id) }', { id: revoked.issueSurfaceToken.id }, tenant.ownerToken), 'revokeToken');
      ctx.tokens.set('revoked', revoked.issueSurfaceToken.token);
    }
    const spare = await issue(WORLD[t].onlySurface);
    ctx.spareToken[t] = spare.issueSurfaceToken;
    const ids = await must(nexus.gql('{ viewer { tenant { id wallet { id } domains { id key } surfaces { id key } } } }', {}, tenant.ownerToken), 'viewer');
    ctx.walletId[t] = ids.viewer.tenant.wallet.id;
    for (const d of ids.viewer.tenant.domains) ctx.domainId.set(`${t}/${d.key}`, d.id);
    for (const s of ids.viewer.tenant.surfaces) {
      ctx.surfaceId.set(`${t}/${s.key}`, s.id);
      ctx.surfaceById.set(s.id, { t, key: s.key });
    }
  }

  // Seed every store: one remember per (store, writer).
  const groups = new Map<string, Seed[]>();
  for (const seed of SEEDS) {
    const k = `${sid(seed.store)}|${seed.writer ?? ''}`;
    groups.set(k, [...(groups.get(k) ?? []), seed]);
  }
  await pool([...groups.values()], CONCURRENCY, async (seeds) => {
    const { store, writer } = seeds[0]!;
    const by = writer ? surfaceCaller(store.t, writer) : ctx.ownerOf[store.t];
    const input = {
      scope: store.scope,
      ...(store.scope === 'DOMAIN' ? { domain: store.key } : {}),
      records: seeds.map((seed) => ({ id: seed.id, kind: 'seed', text: seedText(seed), ...(seed.textOnly ? {} : { vector: randomVector(rand, DIM) }) })),
    };
    await must(gqlAs(ctx, by, Q.remember, { i: input }), `seeding ${storeLabel(store)}`);
  });

  // The wallets: a top-up and some burns, so each ledger has entries of several writers.
  const credit = async (t: TenantName, by: Caller, mutation: 'topUpCredits' | 'burnCredits', amount: number, key: string) => {
    const data = await must(
      gqlAs(ctx, by, `mutation($i: ${mutation === 'topUpCredits' ? 'TopUpCreditsInput' : 'BurnCreditsInput'}!) { ${mutation}(input: $i) { entry { id surface { key } } } }`, {
        i: { amount: String(amount), reason: `setup ${key}`, idempotencyKey: key },
      }),
      mutation,
    );
    ctx.ledger[t].push({ id: data[mutation].entry.id, surface: data[mutation].entry.surface?.key ?? null });
    ctx.balance[t] += BigInt(mutation === 'topUpCredits' ? amount : -amount);
  };
  await credit('A', ctx.ownerOf.A, 'topUpCredits', 7_301_113, 'a-top');
  await credit('A', surfaceCaller('A', 'vo2'), 'burnCredits', 11, 'a-burn-vo2');
  await credit('A', surfaceCaller('A', 'agnx'), 'burnCredits', 13, 'a-burn-agnx');
  await credit('A', ctx.ownerOf.A, 'burnCredits', 17, 'a-burn-owner');
  await credit('B', ctx.ownerOf.B, 'topUpCredits', 5_202_227, 'b-top');
  await credit('B', surfaceCaller('B', 'vo2'), 'burnCredits', 19, 'b-burn-vo2');

  // What each caller must never see.
  for (const c of CALLERS) {
    const ids = new Map<string, string>();
    for (const t of TENANTS) {
      if (c.t === t) continue;
      ids.set(ctx.tenantId[t], `tenant ${t}'s id`);
      ids.set(ctx.walletId[t], `tenant ${t}'s wallet id`);
      ids.set(ctx.email[t], `tenant ${t}'s email`);
      for (const d of WORLD[t].domains) ids.set(ctx.domainId.get(`${t}/${d}`)!, `the id of ${t}/domain "${d}"`);
      for (const s of Object.keys(WORLD[t].surfaces)) ids.set(ctx.surfaceId.get(`${t}/${s}`)!, `the id of ${t}/surface "${s}"`);
      for (const e of ctx.ledger[t]) ids.set(e.id, `a ledger entry of tenant ${t}`);
    }
    if (c.role === 'SURFACE' && c.t) {
      for (const d of WORLD[c.t].domains) if (!mountsOf(c.t, c.surface!)[d]) ids.set(ctx.domainId.get(`${c.t}/${d}`)!, `the id of unmounted ${c.t}/domain "${d}"`);
      for (const e of ctx.ledger[c.t]) if (e.surface !== c.surface) ids.set(e.id, `a ledger entry not its own`);
    }
    ctx.forbiddenIds.set(c.id, ids);
  }

  for (const s of STORES) ctx.baseline.set(sid(s), await snapshot(ctx, s));
  for (const s of STORES) {
    const entries = seedsOf(s).map((seed) => (seed.textOnly ? `${seed.id} (text only)` : seed.id)).sort();
    const expected = s.scope === 'DOMAIN' ? [`count=${seedsOf(s).length}`, ...entries] : entries;
    if (JSON.stringify(ctx.baseline.get(sid(s))) !== JSON.stringify(expected)) throw new Error(`seeding ${storeLabel(s)}: ${JSON.stringify(ctx.baseline.get(sid(s)))}`);
  }
  const wait = expiresAt + 300 - Date.now();
  if (wait > 0) await sleepMs(wait);
  return ctx;
}

/**
 * A store's contents as its own tenant sees them: domain stores by the owner (count and ids), private stores by their
 * surface. Searched by vector and by text: an id found by one alone says so ("x (text only)"), so a text-only record
 * that went, or gained a vector, is noticed.
 */
async function snapshot(ctx: Ctx, s: Store): Promise<string[]> {
  const ids = (hits: any[]) => new Set<string>(hits.map((h) => h.record.id));
  const entries = (byVector: Set<string>, byText: Set<string>) =>
    [...new Set([...byVector, ...byText])].map((id) => (byVector.has(id) && byText.has(id) ? id : `${id} (${byVector.has(id) ? 'vector' : 'text'} only)`)).sort();
  if (s.scope === 'DOMAIN') {
    const query =
      'query($k: String!, $v: [Float!], $q: String) { domain(key: $k) { recordCount byVector: search(input: { vector: $v, k: 1000 }) { record { id } } byText: search(input: { text: $q, k: 1000 }) { record { id } } } }';
    const data = await must(gqlAs(ctx, ctx.ownerOf[s.t], query, { k: s.key, v: QUERY_VECTOR, q: QUERY_TEXT }), `snapshot of ${storeLabel(s)}`);
    return [`count=${data.domain.recordCount}`, ...entries(ids(data.domain.byVector), ids(data.domain.byText))];
  }
  const by = s.scope === 'SURFACE' ? surfaceCaller(s.t, s.key) : ctx.ownerOf[s.t];
  const where = { k: K, domains: [], ...(s.scope === 'SURFACE' ? { includeSurface: true } : { includeGlobal: true }) };
  const query = 'query($v: SearchInput!, $q: SearchInput!) { byVector: search(input: $v) { hits { record { id } } } byText: search(input: $q) { hits { record { id } } } }';
  const data = await must(gqlAs(ctx, by, query, { v: { ...where, vector: QUERY_VECTOR }, q: { ...where, text: QUERY_TEXT } }), `snapshot of ${storeLabel(s)}`);
  return entries(ids(data.byVector.hits), ids(data.byText.hits));
}

async function balances(ctx: Ctx): Promise<Record<TenantName, string>> {
  const prisma = ctx.nexus.server.services.db.prisma;
  const wallets = await prisma.wallet.findMany({ where: { tenantId: { in: [ctx.tenantId.A, ctx.tenantId.B] } } });
  const of = (t: TenantName) => String(wallets.find((w) => w.tenantId === ctx.tenantId[t])?.balance);
  return { A: of('A'), B: of('B') };
}

/** The control plane of a tenant, read straight from the database. */
async function controlPlane(ctx: Ctx, t: TenantName): Promise<Record<string, unknown>> {
  const prisma = ctx.nexus.server.services.db.prisma;
  const tenantId = ctx.tenantId[t];
  const [domains, surfaces, mounts, tokens, wallet, entries] = await Promise.all([
    prisma.domain.findMany({ where: { tenantId }, select: { key: true, name: true } }),
    prisma.surface.findMany({ where: { tenantId }, select: { key: true, name: true, kind: true, homeDomainId: true } }),
    prisma.mount.findMany({ where: { surface: { tenantId } }, select: { surfaceId: true, domainId: true, access: true } }),
    prisma.token.findMany({ where: { tenantId }, select: { id: true, revokedAt: true } }),
    prisma.wallet.findUniqueOrThrow({ where: { tenantId }, select: { balance: true } }),
    prisma.ledgerEntry.count({ where: { wallet: { tenantId } } }),
  ]);
  return {
    domains: domains.map((d) => `${d.key}:${d.name}`).sort(),
    surfaces: surfaces.map((s) => `${s.key}:${s.name}:${s.kind}:${s.homeDomainId}`).sort(),
    mounts: mounts.map((m) => `${m.surfaceId}:${m.domainId}:${m.access}`).sort(),
    tokens: tokens.map((x) => `${x.id}:${x.revokedAt ? 'revoked' : 'live'}`).sort(),
    balance: String(wallet.balance),
    ledgerEntries: entries,
  };
}

// =============================================================================================================
// 6. Phase runners: each runs its requests (in modest parallel batches where independent) and records answers.
// =============================================================================================================

async function runReads(ctx: Ctx): Promise<void> {
  await pool([...READS.values()], CONCURRENCY, async (r) => {
    ctx.results.set(r.key, await gqlAs(ctx, r.caller, r.query, r.variables));
  });
}

function writeVariables(w: WriteRequest): Record<string, unknown> {
  const where = { scope: w.target.scope, ...(w.target.scope === 'DOMAIN' ? { domain: w.target.key } : {}) };
  // The probe's text holds QUERY_TEXT: the snapshots find it by text as by vector.
  if (w.kind === 'remember') return { i: { ...where, records: [{ id: w.probe, kind: 'probe', text: `${QUERY_TEXT} probe by ${w.caller.id}`, vector: QUERY_VECTOR }] } };
  // Forget names the records of every store its cells are about (another tenant's same-key store, another
  // surface's private store): an allowed forget must delete only its own probe; a denied one nothing at all.
  const ids = new Set<string>(w.right === 'OK' ? [w.probe] : []);
  for (const s of w.involved) if (w.right !== 'OK' || !sameStore(s, w.resolved)) for (const id of seedIds(s)) ids.add(id);
  if (w.right !== 'OK' && w.resolved) for (const id of seedIds(w.resolved)) ids.add(id);
  return { i: { ...where, ids: [...ids] } };
}

async function runWrites(ctx: Ctx): Promise<void> {
  const all = [...WRITES.values()];
  // Denied writes first, while nothing else writes: after each, the stores it names must equal the baseline.
  await pool(
    all.filter((w) => w.right !== 'OK'),
    CONCURRENCY,
    async (w) => {
      const result = await gqlAs(ctx, w.caller, Q[w.kind], writeVariables(w));
      const after = new Map<string, string[]>();
      for (const s of w.involved) after.set(sid(s), await snapshot(ctx, s));
      ctx.results.set(w.key, { result, after, balances: await balances(ctx) });
    },
  );
  // Allowed writes, grouped by the store they land in: within a group one (remember, forget) pair at a time.
  const groups = new Map<string, WriteRequest[]>();
  for (const w of all.filter((x) => x.right === 'OK' && x.kind === 'remember')) groups.set(sid(w.resolved!), [...(groups.get(sid(w.resolved!)) ?? []), w]);
  await pool([...groups.values()], CONCURRENCY, async (group) => {
    for (const remember of group) {
      const forget = WRITES.get(remember.key.replace('|remember|', '|forget|'))!;
      for (const w of [remember, forget]) {
        const result = await gqlAs(ctx, w.caller, Q[w.kind], writeVariables(w));
        const after = new Map<string, string[]>();
        for (const s of [w.resolved!, ...w.involved.filter((x) => !sameStore(x, w.resolved))]) after.set(sid(s), await snapshot(ctx, s));
        ctx.results.set(w.key, { result, after, balances: await balances(ctx) });
      }
    }
  });
}

async function openEvents(ctx: Ctx, c: Caller, domains: string[]): Promise<{ status: number; stream?: SseStream; errors?: any[] }> {
  const token = ctx.tokens.get(c.id);
  const res = await ctx.nexus.server.yoga.fetch('http://nexus.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: Q.subscription, variables: { d: domains } }),
  });
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const body: any = await res.json().catch(() => ({}));
    return { status: res.status, errors: body.errors ?? [{ message: `HTTP ${res.status} without an SSE stream` }] };
  }
  return { status: res.status, stream: readSse(res) };
}

async function runLive(ctx: Ctx): Promise<void> {
  const subs = [...LIVES.values()];
  const opened = await Promise.all(subs.map(async (s) => ({ s, o: await openEvents(ctx, s.caller, [targetName(s.target)]) })));
  await sleepMs(300); // let every subscription register before anything is published
  // One probe per domain store by a writer allowed there, then one fence each by the owner: a stream of store R
  // must see exactly [probe of R, fence of R]; anything of another store would come before its fence.
  for (const s of DOMAIN_STORES) {
    const writer = LIVE_WRITER[sid(s)];
    const by = writer ? surfaceCaller(s.t, writer) : ctx.ownerOf[s.t];
    await must(gqlAs(ctx, by, Q.remember, { i: { domain: s.key, records: [{ id: liveProbeId(s), kind: 'live', text: `${marker(s)} live probe`, vector: QUERY_VECTOR }] } }), `live probe into ${storeLabel(s)}`);
  }
  for (const s of DOMAIN_STORES) {
    await must(gqlAs(ctx, ctx.ownerOf[s.t], Q.remember, { i: { domain: s.key, records: [{ id: liveFenceId(s), kind: 'live', text: `${marker(s)} live fence`, vector: QUERY_VECTOR }] } }), `live fence into ${storeLabel(s)}`);
  }
  await Promise.all(
    opened.map(async ({ s, o }) => {
      const events: SseEvent[] = [];
      let failure: string | undefined;
      if (o.stream) {
        try {
          events.push(await o.stream.next(10_000));
          if (!events[0]!.errors) events.push(await o.stream.next(10_000));
        } catch (error) {
          failure = (error as Error).message;
        }
        await o.stream.close();
      }
      ctx.results.set(s.key, { status: o.status, httpErrors: o.errors, events, failure });
    }),
  );
  for (const s of DOMAIN_STORES) {
    await must(gqlAs(ctx, ctx.ownerOf[s.t], Q.forget, { i: { domain: s.key, ids: [liveProbeId(s), liveFenceId(s)] } }), `live clean-up of ${storeLabel(s)}`);
  }
}

async function runBurns(ctx: Ctx): Promise<void> {
  for (const c of CALLERS) {
    const before = await balances(ctx);
    const result = await gqlAs(ctx, c, Q.burn, { i: { amount: '1', reason: `matrix burn by ${c.id}`, idempotencyKey: `matrix-burn-${c.id}` } });
    ctx.results.set(`${c.id}|burn`, { result, before, after: await balances(ctx) });
  }
}


/** Each owner-only mutation aimed at tenant t: it names t's own surface, domain or token where it names any. */
function ownerOnlyOperation(ctx: Ctx, r: OwnerOnlyRequest): [string, Record<string, unknown>] {
  const t = r.tenant;
  const tag = `${slug(r.caller.id)}-${t.toLowerCase()}`;
  switch (r.mutation) {
    case 'createDomain':
      return ['mutation($i: CreateDomainInput!) { createDomain(input: $i) { id key } }', { i: { key: `stolen-${tag}` } }];
    case 'createSurface':
      return ['mutation($i: CreateSurfaceInput!) { createSurface(input: $i) { id key } }', { i: { key: `rogue-${tag}`, homeDomain: WORLD[t].onlyDomain } }];
    case 'setMounts':
      return [
        'mutation($i: SetMountsInput!) { setMounts(input: $i) { id key mounts { access domain { key } } } }',
        { i: { surface: WORLD[t].onlySurface, mounts: WORLD[t].domains.map((domain) => ({ domain, access: 'READ_WRITE' })) } },
      ];
    case 'issueSurfaceToken':
      return ['mutation($i: IssueSurfaceTokenInput!) { issueSurfaceToken(input: $i) { id token surface { key } } }', { i: { surface: WORLD[t].onlySurface } }];
    case 'revokeToken':
      return ['mutation($id: ID!) { revokeToken(id: $id) }', { id: ctx.spareToken[t].id }];
    case 'topUpCredits':
      return ['mutation($i: TopUpCreditsInput!) { topUpCredits(input: $i) { wallet { id balance } entry { id amount } } }', { i: { amount: '5', reason: 'matrix top-up', idempotencyKey: `matrix-top-${tag}` } }];
  }
}

async function runOwnerOnly(ctx: Ctx): Promise<void> {
  const all = [...OWNER_ONLY.values()];
  const baseline = { A: await controlPlane(ctx, 'A'), B: await controlPlane(ctx, 'B') };
  await pool(
    all.filter((r) => r.expect !== 'OK' && r.expect !== 'OWN_TENANT'),
    CONCURRENCY,
    async (r) => {
      const [query, variables] = ownerOnlyOperation(ctx, r);
      const result = await gqlAs(ctx, r.caller, query, variables);
      const spareStillWorks = (await ctx.nexus.gql('{ viewer { surface { key } } }', {}, ctx.spareToken[r.tenant].token)).data?.viewer?.surface?.key;
      ctx.results.set(r.key, { result, before: baseline, after: { A: await controlPlane(ctx, 'A'), B: await controlPlane(ctx, 'B') }, spareStillWorks });
    },
  );
  // Allowed (or landing in the caller's own tenant) one at a time; revokeToken last, setMounts undone at once.
  const rank = (r: OwnerOnlyRequest) => (r.mutation === 'revokeToken' ? 1 : 0);
  for (const r of all.filter((x) => x.expect === 'OK' || x.expect === 'OWN_TENANT').sort((a, b) => rank(a) - rank(b))) {
    const [query, variables] = ownerOnlyOperation(ctx, r);
    const before = { A: await controlPlane(ctx, 'A'), B: await controlPlane(ctx, 'B') };
    const result = await gqlAs(ctx, r.caller, query, variables);
    const after = { A: await controlPlane(ctx, 'A'), B: await controlPlane(ctx, 'B') };
    const extra: Record<string, unknown> = {};
    if (r.mutation === 'issueSurfaceToken' && result.data?.issueSurfaceToken) {
      extra.newTokenIs = (await ctx.nexus.gql('{ viewer { surface { key } } }', {}, result.data.issueSurfaceToken.token)).data?.viewer?.surface?.key;
    }
    if (r.mutation === 'revokeToken') extra.spareAfter = codes(await ctx.nexus.gql('{ viewer { role } }', {}, ctx.spareToken[r.tenant].token));
    if (r.mutation === 'setMounts' && result.data?.setMounts) {
      const t = r.caller.t!;
      const original = Object.entries(surfaceSpec(t, WORLD[t].onlySurface).mounts ?? {}).map(([domain, access]) => ({ domain, access }));
      await must(gqlAs(ctx, r.caller, 'mutation($i: SetMountsInput!) { setMounts(input: $i) { key } }', { i: { surface: WORLD[t].onlySurface, mounts: original } }), 'restoring mounts');
      extra.restored = await controlPlane(ctx, t);
    }
    ctx.results.set(r.key, { result, before, after, ...extra });
  }
}

// =============================================================================================================
// 7. Checks: each cell judges the answers of its requests.
// =============================================================================================================

/** What of the stores and ids c may not see appears in an answer. */
function leaks(ctx: Ctx, c: Caller, value: unknown): string[] {
  const json = JSON.stringify(value) ?? '';
  const found: string[] = [];
  for (const s of STORES) if (!canRead(c, s) && json.includes(marker(s))) found.push(`a record of ${storeLabel(s)}`);
  for (const [id, what] of ctx.forbiddenIds.get(c.id) ?? []) if (json.includes(id)) found.push(what);
  return found;
}
const result = (ctx: Ctx, key: string): any => {
  const r = ctx.results.get(key);
  if (r === undefined) throw new Error(`no answer recorded for ${key} (did the phase run?)`);
  return r;
};
const firstMessage = (r: GqlResult | undefined): string => r?.errors?.[0]?.message ?? '';

function expectAnswer(cell: Cell, ctx: Ctx, r: GqlResult<any>): void {
  expect(leaks(ctx, cell.caller, r)).toEqual([]);
  if (cell.code) expect(codes(r)).toEqual([cell.code]);
  else expect(r.errors).toBeUndefined();
}
function expectTwin(cell: Cell, ctx: Ctx, r: GqlResult<any>, twin: GqlResult<any>): void {
  expect(codes(twin)).toEqual(codes(r));
  const key = cell.store!.key;
  expect(firstMessage(r).replaceAll(`"${key}"`, '"…"')).toBe(firstMessage(twin).replaceAll('"nowhere"', '"…"'));
}
/** The hits of a search of store s are exactly the records that search finds there, each with its own store and vector. */
function expectHitsOf(ctx: Ctx, hits: any[], s: Store, mode: SearchMode): void {
  expect(hits.map((h) => h.record.id).sort()).toEqual(foundIds(s, mode));
  const textOnly = new Set(seedsOf(s).filter((seed) => seed.textOnly).map((seed) => seed.id));
  for (const { distance, record: x } of hits) {
    expect(x.scope).toBe(s.scope);
    if (x.domain !== undefined) expect(x.domain?.id ?? null).toBe(s.scope === 'DOMAIN' ? ctx.domainId.get(`${s.t}/${s.key}`) : null);
    // A distance exactly when both the query and the record have a vector.
    expect({ id: x.id, hasVector: x.hasVector, distance: distance === null ? null : typeof distance }).toEqual({
      id: x.id,
      hasVector: !textOnly.has(x.id),
      distance: mode === 'text' || textOnly.has(x.id) ? null : 'number',
    });
  }
}

function checkDomainSearch(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.twin) expectTwin(cell, ctx, r, result(ctx, cell.twin));
  if (cell.code) return expect(r.data?.search ?? null).toBeNull();
  expectHitsOf(ctx, r.data.search.hits, cell.resolved!, cell.mode!);
  if (!cell.allowed) expect(JSON.stringify(r)).not.toContain(marker(cell.store!));
}

function checkRecordSurface(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.code) return expect(r.data?.search ?? null).toBeNull();
  const writers = Object.fromEntries(seedsOf(cell.resolved!).map((s) => [s.id, s.writer]));
  const t = cell.resolved!.t;
  for (const h of r.data.search.hits) {
    const writer = writers[h.record.id];
    expect({ id: h.record.id, surface: h.record.surface }).toEqual({ id: h.record.id, surface: writer ? { id: ctx.surfaceId.get(`${t}/${writer}`), key: writer } : null });
  }
}

function checkDomainName(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.twin) expectTwin(cell, ctx, r, result(ctx, cell.twin));
  if (cell.code) return expect(r.data?.domain ?? null).toBeNull();
  const s = cell.resolved!;
  expect(r.data.domain).toEqual({ id: ctx.domainId.get(`${s.t}/${s.key}`), key: s.key, name: capitalised(s.key) });
}

function checkDomainDomainSearch(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.twin) expectTwin(cell, ctx, r, result(ctx, cell.twin));
  if (cell.code) return expect(r.data?.domain ?? null).toBeNull();
  expect(r.data.domain.id).toBe(ctx.domainId.get(`${cell.resolved!.t}/${cell.resolved!.key}`));
  expectHitsOf(ctx, r.data.domain.search, cell.resolved!, cell.mode!);
}

function checkRecordCount(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.twin) expectTwin(cell, ctx, r, result(ctx, cell.twin));
  if (cell.code) return expect(r.data?.domain ?? null).toBeNull();
  const s = cell.resolved!;
  expect(r.data.domain).toEqual({ id: ctx.domainId.get(`${s.t}/${s.key}`), recordCount: seedsOf(s).length });
}

function checkDomainSurfaces(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.twin) expectTwin(cell, ctx, r, result(ctx, cell.twin));
  if (cell.code) return expect(r.data?.domain ?? null).toBeNull();
  const s = cell.resolved!;
  const c = cell.caller;
  // The owner sees every surface mounting the domain; a surface token only itself.
  const expected = Object.keys(WORLD[s.t].surfaces)
    .filter((k) => mountsOf(s.t, k)[s.key] && (c.role === 'OWNER' || c.surface === k))
    .sort()
    .map((k) => ({ id: ctx.surfaceId.get(`${s.t}/${k}`), key: k }));
  expect(r.data.domain.surfaces).toEqual(expected);
}

function checkDomainListed(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.code) return expect(r.data?.viewer ?? null).toBeNull();
  const s = cell.store!;
  const id = ctx.domainId.get(`${s.t}/${s.key}`);
  const listed = r.data.viewer.tenant.domains.filter((d: any) => d.id === id);
  expect(listed).toEqual(cell.allowed ? [{ id, key: s.key }] : []);
}

/** Every Surface object in a value (with its path), found by its id. */
function surfacesIn(value: unknown, path: (string | number)[] = [], out: { path: (string | number)[]; obj: any }[] = []) {
  if (Array.isArray(value)) value.forEach((v, i) => surfacesIn(v, [...path, i], out));
  else if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (path[path.length - 1] === 'surface' && typeof obj.id === 'string') out.push({ path, obj });
    for (const [k, v] of Object.entries(obj)) surfacesIn(v, [...path, k], out);
  }
  return out;
}

function checkHomeDomain(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.code) return expect(r.data ?? null).toBeNull();
  const s = cell.store!;
  const c = cell.caller;
  const seen = surfacesIn(r.data);
  if (c.t !== s.t) {
    // Nothing of the other tenant: none of its surfaces, and not this domain's id.
    expect(seen.filter((x) => ctx.surfaceById.get(x.obj.id)?.t !== c.t).map((x) => x.obj.key)).toEqual([]);
    return expect(JSON.stringify(r)).not.toContain(ctx.domainId.get(`${s.t}/${s.key}`)!);
  }
  const homedHere = seen.filter((x) => {
    const who = ctx.surfaceById.get(x.obj.id);
    return who?.t === s.t && surfaceSpec(s.t, who.key).home === s.key;
  });
  // Every writer homed in D that the static table puts in reach does appear …
  expect([...new Set(homedHere.map((x) => x.obj.key))].sort()).toEqual(writersHomedIn(c, s));
  // … and shows its home domain exactly when the caller may read D.
  const want = cell.allowed ? { id: ctx.domainId.get(`${s.t}/${s.key}`), key: s.key, name: capitalised(s.key) } : null;
  for (const x of homedHere) expect({ path: x.path.join('.'), homeDomain: x.obj.homeDomain }).toEqual({ path: x.path.join('.'), homeDomain: want });
}

function checkSurfaceListed(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.code) return expect(r.data?.viewer ?? null).toBeNull();
  const s = cell.store!;
  const id = ctx.surfaceId.get(`${s.t}/${s.key}`);
  expect(r.data.viewer.tenant.surfaces.filter((x: any) => x.id === id)).toEqual(cell.allowed ? [{ id, key: s.key }] : []);
}

const mountList = (t: TenantName, key: string) =>
  Object.entries(mountsOf(t, key))
    .map(([domain, access]) => `${domain}:${access}`)
    .sort();
const mountsSeen = (obj: any): string[] => (obj.mounts as any[]).map((m) => `${m.domain.key}:${m.access}`).sort();

function checkMounts(cell: Cell, ctx: Ctx): void {
  const viaViewer = result(ctx, cell.req);
  const viaHits = result(ctx, cell.more![0]!);
  const c = cell.caller;
  const s = cell.store!;
  const id = ctx.surfaceId.get(`${s.t}/${s.key}`);
  for (const r of [viaViewer, viaHits]) expect(leaks(ctx, c, r)).toEqual([]);
  if (cell.code) {
    expect(codes(viaViewer)).toEqual([cell.code]);
    return expect(codes(viaHits)).toEqual([cell.code]);
  }
  const objects = [...surfacesIn(viaViewer.data), ...surfacesIn(viaHits.data)].filter((x) => x.obj.id === id);
  // The viewer's own surface sits under viewer.surface (path ends in 'surface'); tenant.surfaces lists are arrays.
  const listed = (viaViewer.data?.viewer?.tenant?.surfaces ?? []).filter((x: any) => x.id === id);
  const writerOf = Object.fromEntries(SEEDS.filter((x) => x.store.t === s.t).map((x) => [x.id, x.writer]));
  const hits: any[] = viaHits.data?.search?.hits ?? [];
  const byThisSurface = hits.map((h, i) => [h, i] as const).filter(([h]) => writerOf[h.record.id] === s.key);
  const errorAt = (i: number) => (viaHits.errors ?? []).find((e: any) => JSON.stringify(e.path) === JSON.stringify(['search', 'hits', i, 'record', 'surface', 'mounts']));
  if (cell.allowed) {
    expect(viaViewer.errors).toBeUndefined();
    // The owner sees every writer's mounts; a surface its own (other writers' are refused, see below).
    if (c.role === 'OWNER') expect(viaHits.errors).toBeUndefined();
    for (const [h, i] of byThisSurface) expect({ hit: h.record.id, error: errorAt(i)?.message }).toEqual({ hit: h.record.id, error: undefined });
    const shown = [...objects.map((x) => x.obj), ...listed];
    expect(shown.length).toBeGreaterThan(0);
    for (const obj of shown) expect(mountsSeen(obj)).toEqual(mountList(s.t, s.key));
    return;
  }
  // Not the owner, not the surface itself: its mounts never appear, and wherever it appears as a writer the field
  // is refused with FORBIDDEN (the surface object is nulled).
  expect(listed).toEqual([]);
  expect(objects.map((x) => x.path.join('.'))).toEqual([]);
  if (c.t !== s.t) return;
  expect(viaViewer.errors).toBeUndefined();
  expect(byThisSurface.length > 0).toBe(surfaceReached(c, s.t, s.key));
  for (const [h, i] of byThisSurface) {
    expect(h.record.surface).toBeNull();
    expect({ hit: h.record.id, code: errorAt(i)?.extensions?.code }).toEqual({ hit: h.record.id, code: ACCESS_TABLE.surface.otherSurfaceMounts });
  }
}

function checkStoreSearch(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.code) return expect(r.data?.search ?? null).toBeNull();
  expectHitsOf(ctx, r.data.search.hits, cell.resolved!, cell.mode!);
  if (!cell.allowed) expect(JSON.stringify(r)).not.toContain(marker(cell.store!));
}

/** A snapshot without anyone's probes (another group may be writing its own probe there right now). */
const stable = (snap: string[] | undefined): string[] => (snap ?? []).filter((x) => !x.startsWith('count=') && !x.startsWith('probe-'));
function withProbe(snap: string[], probe: string, s: Store): string[] {
  const ids = [...snap.filter((x) => !x.startsWith('count=')), probe].sort();
  return s.scope === 'DOMAIN' ? [`count=${ids.length}`, ...ids] : ids;
}

function checkWriteCommon(cell: Cell, ctx: Ctx): { w: WriteRequest; rec: any } {
  const w = WRITES.get(cell.req)!;
  const rec = result(ctx, cell.req);
  expectAnswer(cell, ctx, rec.result);
  // No write here burns credits: both balances as they were after seeding.
  expect(rec.balances).toEqual({ A: String(ctx.balance.A), B: String(ctx.balance.B) });
  if (cell.twin) expectTwin(cell, ctx, rec.result, result(ctx, cell.twin).result);
  return { w, rec };
}

function checkRemember(cell: Cell, ctx: Ctx): void {
  const { w, rec } = checkWriteCommon(cell, ctx);
  const s = cell.store!;
  if (cell.code) {
    expect(rec.result.data?.remember ?? null).toBeNull();
    return expect(rec.after.get(sid(s))).toEqual(ctx.baseline.get(sid(s))); // nothing written
  }
  const R = cell.resolved!;
  const c = cell.caller;
  expect(rec.result.data.remember.records).toEqual([
    {
      id: w.probe,
      scope: R.scope,
      domain: R.scope === 'DOMAIN' ? { id: ctx.domainId.get(`${R.t}/${R.key}`), key: R.key } : null,
      surface: c.surface ? { id: ctx.surfaceId.get(`${c.t}/${c.surface}`), key: c.surface } : null,
    },
  ]);
  expect(rec.after.get(sid(R))).toEqual(withProbe(ctx.baseline.get(sid(R))!, w.probe, R));
  if (!cell.allowed) {
    expect(rec.after.get(sid(s))).not.toContain(w.probe);
    expect(stable(rec.after.get(sid(s)))).toEqual(stable(ctx.baseline.get(sid(s))));
  }
}

function checkForget(cell: Cell, ctx: Ctx): void {
  const { rec } = checkWriteCommon(cell, ctx);
  const s = cell.store!;
  if (cell.code) {
    expect(rec.result.data?.forget ?? null).toBeNull();
    return expect(rec.after.get(sid(s))).toEqual(ctx.baseline.get(sid(s))); // nothing deleted
  }
  const R = cell.resolved!;
  // It named its own probe and every record of the other stores its cells are about: only the probe went.
  expect(rec.result.data.forget).toEqual({ deleted: 1 });
  expect(rec.after.get(sid(R))).toEqual(ctx.baseline.get(sid(R)));
  if (!cell.allowed) expect(stable(rec.after.get(sid(s)))).toEqual(stable(ctx.baseline.get(sid(s))));
}

function checkLive(cell: Cell, ctx: Ctx): void {
  const rec = result(ctx, cell.req);
  const c = cell.caller;
  expect(leaks(ctx, c, rec)).toEqual([]);
  const first: SseEvent | undefined = rec.httpErrors ? { errors: rec.httpErrors } : rec.events[0];
  if (cell.code) {
    expect({ failure: rec.failure, codes: (first?.errors ?? []).map((e) => e.extensions?.code) }).toEqual({ failure: undefined, codes: [cell.code] });
    if (cell.twin) {
      const twin = result(ctx, cell.twin);
      const twinFirst: SseEvent | undefined = twin.httpErrors ? { errors: twin.httpErrors } : twin.events[0];
      const key = cell.store!.key;
      expect((first?.errors?.[0]?.message ?? '').replaceAll(`"${key}"`, '"…"')).toBe((twinFirst?.errors?.[0]?.message ?? '').replaceAll('"nowhere"', '"…"'));
    }
    return;
  }
  const R = cell.resolved!;
  const writer = LIVE_WRITER[sid(R)] ?? null;
  const home = writer ? surfaceSpec(R.t, writer).home : undefined;
  const homeShown = writer && canRead(c, { t: R.t, scope: 'DOMAIN', key: home! });
  const domain = { id: ctx.domainId.get(`${R.t}/${R.key}`), key: R.key };
  expect({ failure: rec.failure, errors: first?.errors, events: rec.events.map((e: SseEvent) => e.data?.nexusEvents) }).toEqual({
    failure: undefined,
    errors: undefined,
    events: [
      {
        type: 'REMEMBERED',
        recordId: null,
        domain,
        surface: writer
          ? { id: ctx.surfaceId.get(`${R.t}/${writer}`), key: writer, homeDomain: homeShown ? { id: ctx.domainId.get(`${R.t}/${home}`), key: home, name: capitalised(home!) } : null }
          : null,
        record: { id: liveProbeId(R), text: `${marker(R)} live probe`, scope: 'DOMAIN' },
      },
      { type: 'REMEMBERED', recordId: null, domain, surface: null, record: { id: liveFenceId(R), text: `${marker(R)} live fence`, scope: 'DOMAIN' } },
    ],
  });
}

function checkBalance(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.code) return expect(r.data ?? null).toBeNull();
  const own = cell.caller.t!;
  expect(r.data.wallet).toEqual({ id: ctx.walletId[own], balance: String(ctx.balance[own]) });
}

function checkLedger(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.code) return expect(r.data ?? null).toBeNull();
  const c = cell.caller;
  const own = c.t!;
  const expected = ctx.ledger[own].filter((e) => c.role === 'OWNER' || e.surface === c.surface);
  expect(r.data.wallet.ledger.map((e: any) => `${e.id}:${e.surface?.key ?? null}`).sort()).toEqual(expected.map((e) => `${e.id}:${e.surface}`).sort());
  if (!cell.allowed) for (const e of ctx.ledger[cell.tenant!]) expect(JSON.stringify(r)).not.toContain(e.id);
}

function checkIdentity(cell: Cell, ctx: Ctx): void {
  const r = result(ctx, cell.req);
  expectAnswer(cell, ctx, r);
  if (cell.code) return expect(r.data ?? null).toBeNull();
  const own = cell.caller.t!;
  expect(r.data.viewer.tenant).toEqual({ id: ctx.tenantId[own], identity: { email: ctx.email[own], displayName: 'Test Person' } });
  if (!cell.allowed) expect(JSON.stringify(r)).not.toContain(ctx.email[cell.tenant!]);
}

function checkBurn(cell: Cell, ctx: Ctx): void {
  const rec = result(ctx, cell.req);
  const c = cell.caller;
  const t = cell.tenant!;
  expectAnswer(cell, ctx, rec.result);
  const delta = (x: TenantName) => BigInt(rec.after[x]) - BigInt(rec.before[x]);
  if (cell.code) {
    expect(rec.result.data ?? null).toBeNull();
    return expect(rec.after).toEqual(rec.before);
  }
  const own = c.t!;
  expect(rec.result.data.burnCredits.wallet.id).toBe(ctx.walletId[own]);
  expect(rec.result.data.burnCredits.entry).toMatchObject({ amount: '-1', surface: c.surface ? { key: c.surface } : null });
  expect({ [own]: delta(own), [otherTenant(own)]: delta(otherTenant(own)) }).toEqual({ [own]: -1n, [otherTenant(own)]: 0n });
  if (!cell.allowed) expect(delta(t)).toBe(0n);
}

function checkOwnerOnly(cell: Cell, ctx: Ctx): void {
  const r = OWNER_ONLY.get(cell.req)!;
  const rec = result(ctx, cell.req);
  const t = r.tenant;
  expectAnswer(cell, ctx, rec.result);
  if (cell.code) {
    // Nothing changes, in either tenant; the token revokeToken named still works.
    expect(rec.after).toEqual(rec.before);
    return expect(rec.spareStillWorks).toBe(WORLD[t].onlySurface);
  }
  const own = r.caller.t!;
  const data = rec.result.data;
  const tag = `${slug(r.caller.id)}-${t.toLowerCase()}`;
  if (own !== t) {
    // Lands in the caller's own tenant: the other is unchanged.
    expect(rec.after[t]).toEqual(rec.before[t]);
    if (r.mutation === 'createDomain') expect(rec.after[own].domains).toContain(`stolen-${tag}:${capitalised(`stolen-${tag}`)}`);
    if (r.mutation === 'topUpCredits') expect(BigInt(rec.after[own].balance) - BigInt(rec.before[own].balance)).toBe(5n);
    return;
  }
  expect(rec.after[otherTenant(own)]).toEqual(rec.before[otherTenant(own)]);
  switch (r.mutation) {
    case 'createDomain':
      expect(data.createDomain.key).toBe(`stolen-${tag}`);
      expect(rec.after[own].domains).toContain(`stolen-${tag}:${capitalised(`stolen-${tag}`)}`);
      break;
    case 'createSurface':
      expect(data.createSurface.key).toBe(`rogue-${tag}`);
      expect((rec.after[own].surfaces as string[]).some((x) => x.startsWith(`rogue-${tag}:`))).toBe(true);
      break;
    case 'setMounts':
      expect(data.setMounts.mounts.map((m: any) => `${m.domain.key}:${m.access}`).sort()).toEqual(WORLD[own].domains.map((d) => `${d}:READ_WRITE`).sort());
      expect(rec.restored.mounts).toEqual(rec.before[own].mounts);
      break;
    case 'issueSurfaceToken':
      expect(rec.newTokenIs).toBe(WORLD[own].onlySurface);
      break;
    case 'revokeToken':
      expect(data.revokeToken).toBe(true);
      expect(rec.spareAfter).toEqual(['UNAUTHENTICATED']);
      break;
    case 'topUpCredits':
      expect(BigInt(rec.after[own].balance) - BigInt(rec.before[own].balance)).toBe(5n);
      break;
  }
}

// =============================================================================================================
// 8. The suites.
// =============================================================================================================

const PHASES: [Phase, string, (ctx: Ctx) => Promise<void>][] = [
  ['read', 'reads: searches, domain fields, lists, writers, mounts, wallet and identity', runReads],
  ['write', 'writes: remember and forget in every scope', runWrites],
  ['live', 'live events: nexusEvents over SSE', runLive],
  ['burn', 'credits: burnCredits by every caller', runBurns],
  ['owner-only', 'owner-only mutations by every caller', runOwnerOnly],
];
const timings: string[] = [];
const phaseTimes = new Map<string, string[]>();
const seconds = (since: number): string => ((Date.now() - since) / 1000).toFixed(1);

describe.each(BACKENDS)('isolation matrix on %s', (backend) => {
  let ctx: Ctx;
  let started = 0;
  beforeAll(async () => {
    started = Date.now();
    ctx = await setUp(backend);
    phaseTimes.set(backend, [`set-up ${seconds(started)}`]);
  }, 120_000);
  afterAll(async () => {
    timings.push(`${backend} ${seconds(started)} s (${phaseTimes.get(backend)?.join(', ')})`);
    await ctx?.nexus.close();
  });

  for (const [phase, title, run] of PHASES) {
    describe(title, () => {
      beforeAll(async () => {
        const since = Date.now();
        await run(ctx);
        phaseTimes.get(backend)?.push(`${phase} ${seconds(since)}`);
      }, 120_000);
      for (const cell of CELLS.filter((x) => x.phase === phase)) {
        it(cell.name, () => cell.check(cell, ctx));
      }
    });
  }

  it('leaves every store holding exactly its seed records', async () => {
    for (const s of STORES) expect({ store: storeLabel(s), contents: await snapshot(ctx, s) }).toEqual({ store: storeLabel(s), contents: ctx.baseline.get(sid(s)) });
  });
});

afterAll(() => {
  const allowed = CELLS.filter((c) => c.allowed).length;
  console.log(
    `isolation matrix: ${CELLS.length} cells (${CALLERS.length} callers × ${STORES.length} stores and 2 tenants × operations), ${allowed} allowed, ${CELLS.length - allowed} denied; ` +
      `per backend (×${BACKENDS.length}): ${timings.join(', ')}`,
  );
});
