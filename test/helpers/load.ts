// The load run (bench/load.ts, test/api/load.test.ts): two gateway processes sharing one PostgreSQL database, one S3
// test server and one Redis, all of the run's own; concurrent clients, half on each gateway, running the mixed
// workload of load-workload.ts; a few SSE subscribers per gateway on the tenants being written. Afterwards it reads
// back what the gateways hold — rows per domain, every wallet and its ledger — and what the subscribers saw.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { compareIds } from '../../src/events/event-log.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';
import { createBooks, DIM, DOMAINS, post, runClient, storeKey, TOP_UP, type Books, type LoadTenant } from './load-workload.js';
import { createMemorySampler, type MemorySampler } from './memory-sampler.js';
import { createTestDatabase } from './nexus.js';
import { startRedisServer } from './redis-server.js';
import { startS3ServerProcess } from './s3-server-process.js';
import { openSseHttp, type SseHttpEvent, type SseHttpStream } from './sse-http.js';
import { float32Base64 } from '../../src/vectors/records.js';

export interface LoadOptions {
  seconds: number;
  clients: number;
  tenants: number;
  /** SSE subscribers on each gateway. */
  subscribersPerGateway: number;
  log: (line: string) => void;
}

/** NEXUS_LOAD_SECONDS (default 180), _CLIENTS (64), _TENANTS (4), _SUBSCRIBERS (3 per gateway) over the defaults. */
export function loadOptionsFromEnv(env: NodeJS.ProcessEnv, defaults: Partial<LoadOptions> = {}): LoadOptions {
  const base: LoadOptions = { seconds: 180, clients: 64, tenants: 4, subscribersPerGateway: 3, log: console.log, ...defaults };
  const int = (name: string, fallback: number) => {
    const raw = env[`NEXUS_LOAD_${name}`];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`NEXUS_LOAD_${name} must be a whole number ≥ 1 (got ${JSON.stringify(raw)})`);
    return Number(raw);
  };
  return { ...base, seconds: int('SECONDS', base.seconds), clients: int('CLIENTS', base.clients), tenants: int('TENANTS', base.tenants), subscribersPerGateway: int('SUBSCRIBERS', base.subscribersPerGateway) };
}

/** One subscriber's view: what it followed and what it got. */
export interface SubscriberView {
  label: string;
  tenant: number;
  domains: readonly string[];
  /** Record id → how many times it arrived. */
  seen: Map<string, number>;
  /** Events that were not REMEMBERED (RESYNC, …) or whose id did not follow the one before. */
  oddities: string[];
  ended?: string;
}

export interface StoreCount {
  tenant: number;
  domain: string;
  acknowledged: number;
  uncertain: number;
  /** recordCount as each gateway answered it. */
  counted: (number | string)[];
}

export interface WalletCheck {
  tenant: number;
  expected: bigint;
  /** wallet { balance } as each gateway answered it. */
  balances: (bigint | string)[];
  ledgerSum: bigint;
  burnEntries: number;
  topUpEntries: number;
  acknowledgedBurns: number;
  acknowledgedTopUps: number;
  /** Entries whose balanceAfter is not the running sum of the amounts before it (in insertion order). */
  brokenChain: number;
}

export interface LoadResult {
  options: Omit<LoadOptions, 'log'>;
  books: Books;
  durationMs: number;
  subscribers: { view: SubscriberView; expected: Set<string>; allowed: Set<string> }[];
  stores: StoreCount[];
  wallets: WalletCheck[];
  /** Peak RSS and longest event-loop delay of each gateway process. */
  peakRssBytes: number[];
  loopDelayMaxMs: (number | undefined)[];
  /** Seconds spent starting everything, under load, and reading back. */
  phases: { setup: number; load: number; readBack: number };
  /** The machine's 1-minute load average at the start and the end of the load. */
  loadAverage: [number, number];
}

const SUBSCRIPTION = 'subscription($d: [String!]) { nexusEvents(domains: $d) { id type record { id } domain { key } } }';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The first tenant starts nearly empty, so its burns meet INSUFFICIENT_CREDITS (a documented answer) part of the time. */
const initialCredits = (tenant: number) => (tenant === 0 ? 500n : 10n ** 9n);

function subscriberView(label: string, tenant: number, domains: readonly string[]): SubscriberView & { onEvent(event: SseHttpEvent): void } {
  let lastId: string | undefined;
  const view: SubscriberView = { label, tenant, domains, seen: new Map(), oddities: [] };
  return Object.assign(view, {
    onEvent(event: SseHttpEvent) {
      const item = event.data?.nexusEvents as { id?: string; type?: string; record?: { id?: string } | null; domain?: { key?: string } } | null | undefined;
      if (!item) {
        const error = event.errors?.[0];
        view.ended ??= error?.extensions?.code === 'STREAM_ENDED' ? `STREAM_ENDED ${String(error.extensions.reason)}` : `error ${JSON.stringify(event.errors)}`;
        return;
      }
      if (event.id === undefined || (lastId !== undefined && compareIds(event.id, lastId) <= 0)) view.oddities.push(`id ${event.id} after ${lastId}`);
      if (event.id !== undefined) lastId = event.id;
      const recordId = item.record?.id;
      if (item.type !== 'REMEMBERED' || recordId === undefined || !item.domain?.key || !domains.includes(item.domain.key)) {
        view.oddities.push(`${item.type} ${item.domain?.key ?? '?'} ${recordId ?? ''}`.trim());
        return;
      }
      view.seen.set(recordId, (view.seen.get(recordId) ?? 0) + 1);
    },
  });
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { log } = options;
  const setupBegan = performance.now();
  const root = await mkdtemp(path.join(tmpdir(), 'nexus-load-'));
  const [s3, redis, database] = await Promise.all([startS3ServerProcess(), startRedisServer(), createTestDatabase('nexus_load')]);
  const gateways: GatewayProcess[] = [];
  const streams: SseHttpStream[] = [];
  const samplers: MemorySampler[] = [];
  try {
    const env = (name: string) => ({
      DATABASE_URL: database.url,
      NEXUS_STORAGE_URI: 's3://nexus/load',
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
      REDIS_URL: redis.url,
      NEXUS_DATA_DIR: path.join(root, name),
      NEXUS_VECTOR_DIM: String(DIM),
      NEXUS_RATE_LIMIT_PER_MINUTE: '0',
      NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '0',
      NEXUS_SIGNUP_RATE_LIMIT_PER_HOUR: '0',
      NEXUS_METRICS_PORT: '0',
    });
    gateways.push(...(await Promise.all([startGatewayProcess(env('a')), startGatewayProcess(env('b'))])));
    const [a, b] = gateways as [GatewayProcess, GatewayProcess];
    for (const gw of gateways) {
      const metricsPort = /"metricsPort":(\d+)/.exec(gw.output())?.[1];
      const sampler = createMemorySampler(gw.pid, metricsPort ? `http://127.0.0.1:${metricsPort}/metrics` : undefined);
      sampler.start(1000);
      samplers.push(sampler);
    }
    log(`load: gateways pid ${a.pid} and ${b.pid} on one PostgreSQL database, one S3 server, one Redis; ${options.clients} clients on ${options.tenants} tenants for ${options.seconds} s`);

    const books = createBooks(options.tenants);
    const tenants: LoadTenant[] = [];
    for (let i = 0; i < options.tenants; i++) {
      const gw = gateways[i % 2] as GatewayProcess;
      const signUp = await gw.gql('mutation($e: String!) { signUp(input: { email: $e }) { ownerToken tenant { id } } }', { e: `load-${i}-${Date.now()}@example.com` });
      const owner = signUp.data?.signUp?.ownerToken as string;
      if (!owner) throw new Error(`signUp failed: ${JSON.stringify(signUp.errors)}`);
      const created = await gw.gql(
        'mutation { createSurface(input: { key: "app", homeDomain: "health", mounts: [{ domain: "business", access: READ_WRITE }, { domain: "finance", access: READ }] }) { key } }',
        {},
        owner,
      );
      if (created.errors) throw new Error(`createSurface failed: ${JSON.stringify(created.errors)}`);
      const issued = await gw.gql('mutation { issueSurfaceToken(input: { surface: "app" }) { token } }', {}, owner);
      const surface = issued.data?.issueSurfaceToken?.token as string;
      if (!surface) throw new Error(`issueSurfaceToken failed: ${JSON.stringify(issued.errors)}`);
      const topUp = await post(gw.url, TOP_UP, { a: initialCredits(i).toString(), k: `initial-${i}` }, owner);
      if (topUp.errors || !topUp.data) throw new Error(`initial top-up failed: ${JSON.stringify(topUp.errors ?? topUp.code)}`);
      books.credits[i]!.topUps += initialCredits(i);
      books.credits[i]!.topUpCount += 1;
      tenants.push({ index: i, tenantId: signUp.data.signUp.tenant.id as string, owner, surface });
    }

    // Subscribers: on each gateway, alternately the owner following every domain and the surface following health.
    const views: (SubscriberView & { onEvent(event: SseHttpEvent): void })[] = [];
    for (const [g, gw] of gateways.entries()) {
      for (let j = 0; j < options.subscribersPerGateway; j++) {
        const tenant = tenants[(g * options.subscribersPerGateway + j) % tenants.length] as LoadTenant;
        const everything = j % 2 === 0;
        const view = subscriberView(`gateway ${g === 0 ? 'A' : 'B'} subscriber ${j} (tenant ${tenant.index}, ${everything ? 'owner, every domain' : 'surface, health'})`, tenant.index, everything ? DOMAINS : ['health']);
        const stream = openSseHttp({ url: gw.url, token: everything ? tenant.owner : tenant.surface, query: SUBSCRIPTION, variables: everything ? {} : { d: ['health'] }, keep: false, onEvent: view.onEvent });
        streams.push(stream);
        views.push(view);
        await stream.opened;
      }
    }
    await sleep(300);
    // A first write per tenant and domain, from the other gateway than most of its subscribers: every stream is live
    // (and Redis carries events across) before the load starts.
    for (const t of tenants) {
      for (const [d, domain] of DOMAINS.entries()) {
        const id = `warm-${t.index}-${domain}`;
        const gw = gateways[(t.index + d) % 2] as GatewayProcess;
        const res = await post(gw.url, 'mutation($d: String!, $r: [RecordInput!]!) { remember(input: { domain: $d, records: $r }) { records { id } } }', { d: domain, r: [{ id, kind: 'note', vectorBase64: float32Base64(new Float32Array(DIM).fill(0.5)) }] }, t.owner);
        if (res.errors || !res.data) throw new Error(`warm-up remember failed: ${JSON.stringify(res.errors ?? res.code)}`);
        const key = storeKey(t.index, domain);
        books.ids.set(key, new Set([...(books.ids.get(key) ?? []), id]));
      }
    }
    const expectedOf = (v: SubscriberView, from: Map<string, Set<string>>) => new Set(v.domains.flatMap((d) => [...(from.get(storeKey(v.tenant, d)) ?? [])]));
    const warmDeadline = performance.now() + 15_000;
    while (views.some((v) => [...expectedOf(v, books.ids)].some((id) => !v.seen.has(id))) && performance.now() < warmDeadline) await sleep(50);
    const cold = views.filter((v) => [...expectedOf(v, books.ids)].some((id) => !v.seen.has(id)));
    if (cold.length) throw new Error(`subscribers that never saw the warm-up writes: ${cold.map((v) => v.label).join('; ')}`);

    const began = performance.now();
    const loadAtStart = loadavg()[0] ?? Number.NaN;
    log(`load: set up in ${((began - setupBegan) / 1000).toFixed(1)} s`);
    const until = began + options.seconds * 1000;
    const progress = setInterval(() => log(`load: ${((performance.now() - began) / 1000).toFixed(0)} s, ${books.ops} operations`), 30_000);
    try {
      await Promise.all(
        Array.from({ length: options.clients }, (_, c) => runClient({ index: c, url: (gateways[c % 2] as GatewayProcess).url, tenant: tenants[c % tenants.length] as LoadTenant }, books, began, until)),
      );
    } finally {
      clearInterval(progress);
    }
    const durationMs = performance.now() - began;
    log(`load: ${books.ops} operations in ${(durationMs / 1000).toFixed(1)} s; reading back`);

    // Delivery settles: every subscriber has what it should, or nothing new arrives for 10 s.
    let lastTotal = -1;
    let quietSince = performance.now();
    for (;;) {
      const missing = views.reduce((n, v) => n + [...expectedOf(v, books.ids)].filter((id) => !v.seen.has(id)).length, 0);
      if (missing === 0 || views.every((v) => v.ended)) break;
      const total = views.reduce((n, v) => n + v.seen.size, 0);
      if (total !== lastTotal) {
        lastTotal = total;
        quietSince = performance.now();
      } else if (performance.now() - quietSince > 10_000) break;
      await sleep(100);
    }
    await sleep(500);
    for (const s of streams) s.close();

    const stores: StoreCount[] = [];
    for (const t of tenants) {
      for (const domain of DOMAINS) {
        const counted = await Promise.all(
          gateways.map(async (gw) => {
            const res = await readBack(books, gw.url, 'query($d: String!) { domain(key: $d) { recordCount } }', { d: domain }, t.owner);
            return (res.data?.domain?.recordCount as number | undefined) ?? `${res.code ?? res.errors?.[0]?.extensions?.code ?? 'no answer'}`;
          }),
        );
        const key = storeKey(t.index, domain);
        stores.push({ tenant: t.index, domain, acknowledged: books.ids.get(key)?.size ?? 0, uncertain: books.uncertainIds.get(key)?.size ?? 0, counted });
      }
    }
    const wallets = await readWallets(database.url, tenants, gateways, books);
    await Promise.all(samplers.map((s) => s.stop()));
    const { log: _log, ...shown } = options;
    return {
      options: shown,
      books,
      durationMs,
      subscribers: views.map((view) => ({ view, expected: expectedOf(view, books.ids), allowed: expectedOf(view, books.uncertainIds) })),
      stores,
      wallets,
      peakRssBytes: samplers.map((s) => s.peak().rssBytes),
      loopDelayMaxMs: samplers.map((s) => s.peak().loopDelayMaxMs),
      phases: { setup: (began - setupBegan) / 1000, load: durationMs / 1000, readBack: (performance.now() - began - durationMs) / 1000 },
      loadAverage: [loadAtStart, loadavg()[0] ?? Number.NaN],
    };
  } finally {
    for (const s of streams) s.close();
    await Promise.all(samplers.map((s) => s.stop()));
    await Promise.all(gateways.map((gw) => gw.stop()));
    await Promise.all([s3.stop(), redis.close(), database.drop()]);
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * A read of the checks after the load. A gateway still busy with what the load left (writes given up on that land
 * later) may answer SERVICE_UNAVAILABLE for a while: those answers were counted as errors under load already, so
 * here the read is tried again (up to a minute) to learn what the gateways hold.
 */
async function readBack(books: Books, url: string, query: string, variables: Record<string, unknown>, token: string): Promise<Awaited<ReturnType<typeof post>>> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const res = await post(url, query, variables, token);
    const code = res.code ?? res.errors?.[0]?.extensions?.code;
    if (!['SERVICE_UNAVAILABLE', 'NETWORK', 'TIMEOUT'].includes(code ?? '') || performance.now() > deadline) return res;
    books.readBackRetries += 1;
    await sleep(500);
  }
}

/** Each wallet as both gateways answer it, and its ledger as PostgreSQL holds it (sum, kinds, the running balance). */
async function readWallets(databaseUrl: string, tenants: LoadTenant[], gateways: GatewayProcess[], books: Books): Promise<WalletCheck[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const checks: WalletCheck[] = [];
    for (const t of tenants) {
      const balances = await Promise.all(
        gateways.map(async (gw) => {
          const res = await readBack(books, gw.url, '{ wallet { balance } }', {}, t.owner);
          const balance = res.data?.wallet?.balance as string | undefined;
          return balance === undefined ? `${res.code ?? res.errors?.[0]?.extensions?.code ?? 'no answer'}` : BigInt(balance);
        }),
      );
      const { rows } = await client.query<{ kind: string; amount: string; balanceAfter: string }>(
        'SELECT e.kind, e.amount::text AS amount, e."balanceAfter"::text AS "balanceAfter" FROM "LedgerEntry" e JOIN "Wallet" w ON w.id = e."walletId" WHERE w."tenantId" = $1 ORDER BY e.seq',
        [t.tenantId],
      );
      let running = 0n;
      let brokenChain = 0;
      for (const row of rows) {
        running += BigInt(row.amount);
        if (running !== BigInt(row.balanceAfter)) brokenChain += 1;
      }
      const c = books.credits[t.index]!;
      checks.push({
        tenant: t.index,
        expected: c.topUps - c.burns,
        balances,
        ledgerSum: running,
        burnEntries: rows.filter((r) => r.kind === 'BURN').length,
        topUpEntries: rows.filter((r) => r.kind === 'TOP_UP').length,
        acknowledgedBurns: c.burnCount,
        acknowledgedTopUps: c.topUpCount,
        brokenChain,
      });
    }
    return checks;
  } finally {
    await client.end();
  }
}
