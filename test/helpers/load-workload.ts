// The mixed workload of a load run (load.ts): each client loops over searches (one domain, or the God View over every
// domain), remembers with ids it chooses, burns and top-ups of credits and wallet reads, and the ledger of what was
// acknowledged — the ids per tenant and domain, the credits per tenant — that the run checks the gateways against.
import { float32Base64 } from '../../src/vectors/records.js';
import { randomUnitVector, seeded } from './vectors.js';

export const DIM = 8;
export const DOMAINS = ['health', 'business', 'finance'] as const;
export type DomainKey = (typeof DOMAINS)[number];

export type OpKind = 'search' | 'godView' | 'remember' | 'burn' | 'topUp' | 'wallet';
/** Relative weights of the operations a client picks. */
export const MIX: Record<OpKind, number> = { search: 25, godView: 12, remember: 30, burn: 25, topUp: 3, wallet: 5 };

export interface LoadTenant {
  index: number;
  tenantId: string;
  owner: string;
  /** A surface "app": home health, business READ_WRITE, finance READ. */
  surface: string;
}

/** What was acknowledged, and what failed in a way that leaves it unknown whether it landed. */
export interface Books {
  /** `${tenant}/${domain}` → ids whose remember was answered with them. */
  ids: Map<string, Set<string>>;
  /** Ids of remembers that failed other than by a refusal (they may have landed). */
  uncertainIds: Map<string, Set<string>>;
  /** Per tenant: credits topped up and burnt, and how many of each, as acknowledged. */
  credits: { topUps: bigint; burns: bigint; topUpCount: number; burnCount: number }[];
  latencies: Map<OpKind, number[]>;
  /** extensions.code (or HTTP_<status>, NETWORK, TIMEOUT) → count, per operation kind. */
  errors: Map<string, number>;
  ops: number;
  /** Reads of the checks after the load that were answered SERVICE_UNAVAILABLE (or not at all) and tried again. */
  readBackRetries: number;
  /** Operations and errors per 30 s of the load, in order: how the error rate moved. */
  timeline: { ops: number; errors: number }[];
}

export function createBooks(tenants: number): Books {
  return {
    ids: new Map(),
    uncertainIds: new Map(),
    credits: Array.from({ length: tenants }, () => ({ topUps: 0n, burns: 0n, topUpCount: 0, burnCount: 0 })),
    latencies: new Map(Object.keys(MIX).map((k) => [k as OpKind, []])),
    errors: new Map(),
    ops: 0,
    readBackRetries: 0,
    timeline: [],
  };
}

export const storeKey = (tenant: number, domain: string) => `${tenant}/${domain}`;
const add = (map: Map<string, Set<string>>, key: string, ids: readonly string[]) => {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  for (const id of ids) set.add(id);
};

const SEARCH = 'query($d: String!, $v: String!) { domain(key: $d) { search(input: { vectorBase64: $v, k: 10 }) { record { id } } } }';
const GOD_VIEW = 'query($v: String!) { search(input: { vectorBase64: $v, k: 10 }) { hits { record { id domain { key } } } } }';
const REMEMBER = 'mutation($d: String!, $r: [RecordInput!]!) { remember(input: { domain: $d, records: $r }) { records { id } } }';
const BURN = 'mutation($a: BigInt!, $k: String!) { burnCredits(input: { amount: $a, reason: "load", idempotencyKey: $k }) { wallet { balance } } }';
export const TOP_UP = 'mutation($a: BigInt!, $k: String!) { topUpCredits(input: { amount: $a, reason: "load", idempotencyKey: $k }) { wallet { balance } } }';
const WALLET = '{ wallet { balance } }';

interface Answer {
  status: number;
  data?: Record<string, any> | null;
  errors?: { extensions?: { code?: string } }[];
}

/** POSTs a GraphQL request; a transport failure or a body that is not GraphQL JSON becomes an answer with a code. */
export async function post(url: string, query: string, variables: Record<string, unknown>, token: string): Promise<Answer & { code?: string }> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    try {
      return { status: res.status, ...(JSON.parse(text) as Omit<Answer, 'status'>) };
    } catch {
      return { status: res.status, code: `HTTP_${res.status}` };
    }
  } catch (error) {
    return { status: 0, code: (error as Error).name === 'TimeoutError' ? 'TIMEOUT' : 'NETWORK' };
  }
}

export interface Client {
  index: number;
  url: string;
  tenant: LoadTenant;
}

const WINDOW_MS = 30_000;

/** Runs one client from `began` until `until` (performance.now() ms), recording into the books. */
export async function runClient(client: Client, books: Books, began: number, until: number): Promise<void> {
  const rand = seeded(1000 + client.index);
  const kinds = Object.entries(MIX) as [OpKind, number][];
  const weight = kinds.reduce((s, [, w]) => s + w, 0);
  const pick = (): OpKind => {
    let r = rand() * weight;
    for (const [kind, w] of kinds) if ((r -= w) < 0) return kind;
    return 'wallet';
  };
  const vector = () => float32Base64(randomUnitVector(rand, DIM));
  const t = client.tenant;
  let seq = 0;
  while (performance.now() < until) {
    const kind = pick();
    seq += 1;
    const key = `c${client.index}-${seq}`;
    let request: { query: string; variables: Record<string, unknown>; token: string };
    let remembered: { domain: DomainKey; ids: string[] } | undefined;
    let amount = 0n;
    if (kind === 'search') {
      const domain = DOMAINS[Math.floor(rand() * DOMAINS.length)] as DomainKey;
      request = { query: SEARCH, variables: { d: domain, v: vector() }, token: rand() < 0.5 ? t.surface : t.owner };
    } else if (kind === 'godView') {
      request = { query: GOD_VIEW, variables: { v: vector() }, token: t.owner };
    } else if (kind === 'remember') {
      // The surface writes its home and its READ_WRITE mount; finance only the owner.
      const domain = DOMAINS[Math.floor(rand() * DOMAINS.length)] as DomainKey;
      const ids = Array.from({ length: 1 + Math.floor(rand() * 10) }, (_, i) => `${key}-${i}`);
      remembered = { domain, ids };
      const records = ids.map((id) => ({ id, kind: 'note', vectorBase64: vector() }));
      request = { query: REMEMBER, variables: { d: domain, r: records }, token: domain === 'finance' ? t.owner : t.surface };
    } else if (kind === 'burn') {
      amount = BigInt(1 + Math.floor(rand() * 20));
      request = { query: BURN, variables: { a: amount.toString(), k: key }, token: rand() < 0.7 ? t.surface : t.owner };
    } else if (kind === 'topUp') {
      amount = 100n;
      request = { query: TOP_UP, variables: { a: amount.toString(), k: key }, token: t.owner };
    } else {
      request = { query: WALLET, variables: {}, token: rand() < 0.5 ? t.surface : t.owner };
    }

    const started = performance.now();
    const answer = await post(client.url, request.query, request.variables, request.token);
    books.latencies.get(kind)?.push(performance.now() - started);
    books.ops += 1;
    const window = Math.floor((started - began) / WINDOW_MS);
    while (books.timeline.length <= window) books.timeline.push({ ops: 0, errors: 0 });
    const slot = books.timeline[window]!;
    slot.ops += 1;
    const code = answer.code ?? answer.errors?.[0]?.extensions?.code ?? (answer.status !== 200 ? `HTTP_${answer.status}` : undefined);
    if (code !== undefined || !answer.data) {
      if (code !== 'INSUFFICIENT_CREDITS') slot.errors += 1;
      const label = code ?? 'NO_DATA';
      books.errors.set(`${kind}:${label}`, (books.errors.get(`${kind}:${label}`) ?? 0) + 1);
      // A refusal wrote nothing; anything else may have (a write given up waiting may still land).
      if (remembered && label !== 'BAD_USER_INPUT' && label !== 'FORBIDDEN') add(books.uncertainIds, storeKey(t.index, remembered.domain), remembered.ids);
      continue;
    }
    if (remembered) {
      const got = (answer.data.remember?.records as { id: string }[] | undefined)?.map((r) => r.id) ?? [];
      if (got.join() !== remembered.ids.join()) books.errors.set('remember:WRONG_IDS', (books.errors.get('remember:WRONG_IDS') ?? 0) + 1);
      add(books.ids, storeKey(t.index, remembered.domain), got);
    } else if (kind === 'burn') {
      const c = books.credits[t.index]!;
      c.burns += amount;
      c.burnCount += 1;
    } else if (kind === 'topUp') {
      const c = books.credits[t.index]!;
      c.topUps += amount;
      c.topUpCount += 1;
    }
  }
}
