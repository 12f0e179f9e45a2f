// The live-event soak (bench/soak.ts, test/api/soak.test.ts): one gateway process, many well-behaved SSE subscribers
// on one tenant's domain over real sockets, one writer remembering batches; then whether every subscriber got every
// event once and in order (a few of them dropped midway and resumed with Last-Event-ID), and the gateway's memory.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareIds } from '../../src/events/event-log.js';
import { percentile } from '../../bench/lib/stats.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';
import { createMemorySampler, type MemorySample, type MemorySampler } from './memory-sampler.js';
import { createTestDatabase, postgresAvailable } from './nexus.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { openSseHttp, type SseHttpEvent, type SseHttpStream } from './sse-http.js';

export interface SoakOptions {
  /** Well-behaved subscribers that stay connected throughout. */
  subscribers: number;
  /** Events (records remembered) in all. */
  events: number;
  /** Records per remember: each is that many events at once. */
  batch: number;
  /** Further subscribers that drop their connection midway and resume with Last-Event-ID. */
  resumers: number;
  /** The gateway's event log in a Redis of the run's own (else in-process). */
  redis: boolean;
  /** How long delivery may take after the last write before the run gives up. */
  drainMs: number;
  sampleMs: number;
  log: (line: string) => void;
}

/** NEXUS_SOAK_SUBSCRIBERS, _EVENTS, _BATCH, _RESUMERS, _REDIS (1: a Redis of its own), _DRAIN_SECONDS over the defaults. */
export function soakOptionsFromEnv(env: NodeJS.ProcessEnv, defaults: Partial<SoakOptions> = {}): SoakOptions {
  const int = (name: string, fallback: number) => {
    const raw = env[`NEXUS_SOAK_${name}`];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw)) throw new Error(`NEXUS_SOAK_${name} must be a whole number (got ${JSON.stringify(raw)})`);
    return Number(raw);
  };
  const base: SoakOptions = { subscribers: 200, events: 5000, batch: 50, resumers: 2, redis: false, drainMs: 120_000, sampleMs: 250, log: console.log, ...defaults };
  const options = {
    ...base,
    subscribers: int('SUBSCRIBERS', base.subscribers),
    events: int('EVENTS', base.events),
    batch: int('BATCH', base.batch),
    resumers: int('RESUMERS', base.resumers),
    redis: int('REDIS', base.redis ? 1 : 0) === 1,
    drainMs: int('DRAIN_SECONDS', base.drainMs / 1000) * 1000,
  };
  if (options.events < 1 || options.batch < 1 || options.batch > 1000) throw new Error('NEXUS_SOAK_EVENTS ≥ 1 and NEXUS_SOAK_BATCH 1 to 1000');
  return options;
}

export interface SoakResult {
  options: Omit<SoakOptions, 'log'>;
  backend: 'postgresql' | 'pglite';
  /** Subscribers whose events were not exactly the written ids in order (each with its first difference). */
  wrong: string[];
  /** Subscribers whose stream ended before the run closed it, with the reason. */
  endedEarly: string[];
  /** Subscribers (resumers included) that had every event, once, in order. */
  complete: number;
  /** Events acknowledged by the writer (all of them unless it stopped). */
  written: number;
  /** Why the writer stopped early, if it did. */
  writerError: string | undefined;
  resumes: number;
  /** First write sent → every subscriber had every event. */
  deliverMs: number;
  writeMs: number;
  eventsDelivered: number;
  /** From the send of an event's remember to its arrival at a subscriber. */
  lagMs: { p50: number; p99: number; max: number };
  /** Each remember's round trip. */
  rememberMs: { p50: number; p99: number; max: number };
  memory: { start: MemorySample; subscribed: MemorySample; end: MemorySample; peakRssBytes: number; peakHeapBytes: number | undefined };
  /** The gateway's longest event-loop delay seen while the run went on, and its slowest answer to a /metrics scrape. */
  loopDelayMaxMs: number | undefined;
  scrapeMaxMs: number | undefined;
  /** Live streams the gateway still counted open after every subscriber left. */
  subscriptionsLeftOpen: number | undefined;
  /** The machine's 1-minute load average when delivery was over (other work on the machine shows here). */
  loadAverage: number;
}

const DIM = 8;
const SUBSCRIPTION = 'subscription { nexusEvents(domains: ["health"]) { id type record { id } } }';
const REMEMBER = 'mutation($r: [RecordInput!]!) { remember(input: { domain: "health", records: $r }) { records { id } } }';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const vector = (i: number) => Array.from({ length: DIM }, (_, d) => ((i * 7 + d * 3) % 17) / 17 + 0.05);

const GC_ON_SIGNAL = fileURLToPath(new URL('./gc-on-signal.mjs', import.meta.url));

/** A sample of the gateway's memory just after a full garbage collection. */
async function collectedSample(gw: GatewayProcess, sampler: MemorySampler): Promise<MemorySample> {
  await sleep(200);
  gw.signal('SIGUSR2');
  await sleep(300);
  return sampler.sample();
}

interface Subscriber {
  label: string;
  /** Events received so far (all connections). */
  count: number;
  lastId: string | undefined;
  wrong: string | undefined;
  ended: string | undefined;
  stream: SseHttpStream;
  /** Resumers: drop the connection once this many events have arrived. */
  cutAt?: number;
  resumed: number;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { log } = options;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-soak-'));
  const pgUp = await postgresAvailable();
  const database = pgUp ? await createTestDatabase('nexus_soak') : undefined;
  let redis: RedisServer | undefined;
  let gw: GatewayProcess | undefined;
  const subscribers: Subscriber[] = [];
  try {
    if (options.redis) redis = await startRedisServer();
    gw = await startGatewayProcess({
      NEXUS_DATA_DIR: dataDir,
      ...(database ? { DATABASE_URL: database.url } : {}),
      ...(redis ? { REDIS_URL: redis.url } : {}),
      NEXUS_VECTOR_DIM: String(DIM),
      NEXUS_METRICS_PORT: '0',
      NEXUS_RATE_LIMIT_PER_MINUTE: '0',
      NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '0',
      NEXUS_SIGNUP_RATE_LIMIT_PER_HOUR: '0',
      // SIGUSR2 collects garbage (heap figures are then what is held), plus any options of the caller's (a profiler).
      NODE_OPTIONS: `--expose-gc --import ${GC_ON_SIGNAL} ${process.env.NEXUS_SOAK_GATEWAY_NODE_OPTIONS ?? ''}`.trim(),
    });
    const metricsPort = /"metricsPort":(\d+)/.exec(gw.output())?.[1];
    const sampler = createMemorySampler(gw.pid, metricsPort ? `http://127.0.0.1:${metricsPort}/metrics` : undefined);
    const gateway = gw;
    log(`soak: gateway pid ${gw.pid} on ${database ? 'PostgreSQL' : 'PGlite'}, event log ${redis ? 'Redis' : 'in-process'}; ${options.subscribers} subscribers + ${options.resumers} resuming, ${options.events} events in batches of ${options.batch}`);

    const signUp = await gw.gql('mutation($e: String!) { signUp(input: { email: $e }) { ownerToken } }', { e: `soak-${Date.now()}@example.com` });
    const owner = signUp.data?.signUp?.ownerToken as string | undefined;
    if (!owner) throw new Error(`signUp failed: ${JSON.stringify(signUp.errors)}`);
    // Warm the write and search paths (and the domain's table) on a domain nobody follows, so the start is steady.
    const warm = await gw.gql(REMEMBER.replace('"health"', '"finance"'), { r: [{ id: 'warm', kind: 'note', vector: vector(0) }] }, owner);
    if (warm.errors) throw new Error(`warm-up remember failed: ${JSON.stringify(warm.errors)}`);
    const start = await collectedSample(gw, sampler);

    // The plan: every id in the order it is written; index → the batch's send time (for lag).
    const plan = Array.from({ length: options.events }, (_, i) => `e-${String(i).padStart(7, '0')}`);
    const indexOf = new Map(plan.map((id, i) => [id, i]));
    const batches = Math.ceil(options.events / options.batch);
    const sentAt = new Float64Array(batches);
    const lags = new Float64Array(options.events * (options.subscribers + options.resumers));
    let lagCount = 0;
    let batchesAcked = 0;
    let writerDone = false;

    const onEvent = (s: Subscriber) => (event: SseHttpEvent) => {
      const item = event.data?.nexusEvents as { id?: string; type?: string; record?: { id?: string } | null } | null | undefined;
      if (!item) {
        const error = event.errors?.[0];
        s.ended ??= error?.extensions?.code === 'STREAM_ENDED' ? `STREAM_ENDED ${String(error.extensions.reason)}` : `error ${JSON.stringify(event.errors)}`;
        return;
      }
      if (s.wrong) return;
      const recordId = item.record?.id;
      if (item.type !== 'REMEMBERED' || recordId === undefined) {
        s.wrong = `event ${s.count}: ${item.type} (record ${recordId ?? 'none'}), expected REMEMBERED ${plan[s.count]}`;
        return;
      }
      if (event.id === undefined || item.id !== event.id || (s.lastId !== undefined && compareIds(event.id, s.lastId) <= 0)) {
        s.wrong = `event ${s.count}: id ${event.id} (field ${item.id}) does not follow ${s.lastId}`;
        return;
      }
      if (recordId !== plan[s.count]) {
        const at = indexOf.get(recordId);
        const what = at === undefined ? 'an id never written' : at < s.count ? 'a duplicate' : `a gap of ${at - s.count}`;
        s.wrong = `event ${s.count}: ${recordId}, expected ${plan[s.count]} (${what})`;
        return;
      }
      const batch = Math.floor(s.count / options.batch);
      if (batch < batches && sentAt[batch]) lags[lagCount++] = performance.now() - (sentAt[batch] as number);
      s.count += 1;
      s.lastId = event.id;
      if (s.cutAt !== undefined && s.count === s.cutAt) void resume(s);
    };
    const open = (s: Subscriber, lastEventId?: string) => {
      s.stream = openSseHttp({ url: gateway.url, token: owner, query: SUBSCRIPTION, keep: false, onEvent: onEvent(s), ...(lastEventId ? { lastEventId } : {}) });
      return s.stream.opened;
    };
    // Drops the connection with whatever is in flight, waits until the writer has acknowledged two more batches
    // (so there is something to miss), then resumes after the last event it has.
    const resume = async (s: Subscriber) => {
      s.stream.close();
      const mark = batchesAcked;
      while (!writerDone && batchesAcked < mark + 2) await sleep(10);
      s.resumed += 1;
      await open(s, s.lastId).catch((error: unknown) => {
        s.wrong ??= `resuming after ${s.lastId} failed: ${error instanceof Error ? error.message : String(error)}`;
      });
    };

    const total = options.subscribers + options.resumers;
    for (let i = 0; i < total; i++) {
      const resumer = i >= options.subscribers;
      const s: Subscriber = { label: resumer ? `resumer ${i - options.subscribers}` : `subscriber ${i}`, count: 0, lastId: undefined, wrong: undefined, ended: undefined, stream: undefined as never, resumed: 0 };
      // Resumers drop out at evenly spread points of the run.
      if (resumer) s.cutAt = Math.max(1, Math.floor(((i - options.subscribers + 1) * options.events) / (options.resumers + 1)));
      subscribers.push(s);
    }
    // Opened a few dozen at a time: a browser-like arrival, not one SYN flood.
    for (let i = 0; i < subscribers.length; i += 25) await Promise.all(subscribers.slice(i, i + 25).map((s) => open(s)));
    // The response's headers come once the subscription is set up; a moment more for the last ones' streams to be read.
    await sleep(300);
    const subscribed = await sampler.sample();
    sampler.start(options.sampleMs);

    const began = performance.now();
    const rememberMs: number[] = [];
    // Events acknowledged so far; a remember that fails stops the writer (its batch may or may not have landed).
    let written = 0;
    let writerError: string | undefined;
    for (let b = 0; b < batches && writerError === undefined; b++) {
      const ids = plan.slice(b * options.batch, (b + 1) * options.batch);
      sentAt[b] = performance.now();
      try {
        const res = await gw.gql(REMEMBER, { r: ids.map((id, j) => ({ id, kind: 'note', vector: vector(b * options.batch + j) })) }, owner);
        const got = (res.data?.remember?.records as { id: string }[] | undefined)?.map((r) => r.id);
        if (res.errors || got?.join() !== ids.join()) writerError = `remember of batch ${b + 1} of ${batches} answered ${JSON.stringify(res.errors ?? got)}`;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        writerError = `remember of batch ${b + 1} of ${batches} failed after ${(performance.now() - (sentAt[b] as number)).toFixed(0)} ms: ${message.split(';')[0]}`;
      }
      if (writerError !== undefined) break;
      rememberMs.push(performance.now() - (sentAt[b] as number));
      written += ids.length;
      batchesAcked += 1;
    }
    writerDone = true;
    const writeMs = performance.now() - began;
    log(writerError ? `soak: the writer stopped: ${writerError}` : `soak: ${batches} remembers acknowledged in ${(writeMs / 1000).toFixed(1)} s; waiting for delivery`);

    // A batch that failed may still have landed: up to that many events more are no fault of the stream.
    const most = written + (writerError ? options.batch : 0);
    const deadline = performance.now() + options.drainMs;
    const settled = () => subscribers.every((s) => s.count >= written || s.wrong !== undefined || s.ended !== undefined);
    let lastReport = performance.now();
    while (!settled() && performance.now() < deadline) {
      await sleep(20);
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        const behind = subscribers.filter((s) => s.count < written).length;
        log(`soak: ${behind} subscribers still short of ${written} events (slowest at ${Math.min(...subscribers.map((s) => s.count))})`);
      }
    }
    const deliverMs = performance.now() - began;
    const loadAverage = loadavg()[0] ?? Number.NaN;

    // Streams the run closes itself: the server must forget every one of them.
    for (const s of subscribers) s.stream.close();
    let left: number | undefined;
    for (let i = 0; i < 50; i++) {
      left = (await sampler.sample()).subscriptionsOpen;
      if (left === 0) break;
      await sleep(200);
    }
    await sampler.stop();
    const end = await collectedSample(gw, sampler);
    const peak = sampler.peak();

    const sorted = Array.from(lags.subarray(0, lagCount)).sort((a, b) => a - b);
    const remembers = rememberMs.sort((a, b) => a - b);
    const wrong = subscribers.flatMap((s) => {
      if (s.wrong) return [`${s.label}: ${s.wrong}`];
      if (s.ended) return [];
      return s.count >= written && s.count <= most ? [] : [`${s.label}: ${s.count} of ${written} events, then nothing for ${(options.drainMs / 1000).toFixed(0)} s`];
    });
    const { log: _log, ...shown } = options;
    return {
      options: shown,
      backend: database ? 'postgresql' : 'pglite',
      wrong,
      endedEarly: subscribers.flatMap((s) => (s.ended ? [`${s.label}: ${s.ended} after ${s.count} events`] : [])),
      complete: subscribers.filter((s) => !s.wrong && !s.ended && s.count === options.events).length,
      written,
      writerError,
      resumes: subscribers.reduce((n, s) => n + s.resumed, 0),
      deliverMs,
      writeMs,
      eventsDelivered: subscribers.reduce((n, s) => n + s.count, 0),
      lagMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN },
      rememberMs: { p50: percentile(remembers, 50), p99: percentile(remembers, 99), max: remembers.at(-1) ?? Number.NaN },
      memory: { start, subscribed, end, peakRssBytes: peak.rssBytes, peakHeapBytes: peak.heapUsedBytes },
      loopDelayMaxMs: peak.loopDelayMaxMs,
      scrapeMaxMs: peak.scrapeMs,
      loadAverage,
      subscriptionsLeftOpen: left,
    };
  } finally {
    for (const s of subscribers) s.stream?.close();
    await gw?.stop();
    await redis?.close();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
