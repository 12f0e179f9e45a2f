// The server's Prometheus metrics (prom-client), in a registry of its own: several servers may share a process, as
// the tests' do. GraphQL requests, latency and errors, searches per store kind, table handles, index work, credits
// and live subscriptions. Labels are bounded: a client cannot mint series by inventing operation names.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CreditMeter } from '../billing/credit-meter.js';
import type { StoreRef } from '../vectors/layout.js';
import type { VectorStores } from '../vectors/store.js';

export interface NexusMetrics {
  /** The exposition text (Prometheus text format 0.0.4) and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
  /** One GraphQL request answered: its operation ("anonymous" without a name), its type, its time and error codes. */
  request(operation: string | null, type: string | null, seconds: number, errorCodes: readonly string[]): void;
  /** One store searched. */
  search(kind: StoreRef['scope'], seconds: number): void;
  subscriptionOpened(): void;
  subscriptionClosed(): void;
  /** Burns and top-ups applied, for the billing module. */
  readonly credits: CreditMeter;
  /** Adds prom-client's process metrics (CPU, memory, event loop, GC): once per process, so main.ts asks. */
  withProcessMetrics(): void;
}

/** What is read on each scrape rather than counted as it happens. */
export type ScrapedVectors = Pick<VectorStores, 'openTables' | 'indexStats'>;

const MAX_OPERATIONS = 200;
const MAX_CODES = 64;
const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
const TYPES = new Set(['query', 'mutation', 'subscription']);

/** Keeps at most `max` distinct values of a label; the rest are counted as `other`. */
function boundedLabel(max: number, valid: RegExp, fallback: string): (value: string | null) => string {
  const seen = new Set<string>();
  return (value) => {
    if (value === null || !valid.test(value)) return fallback;
    if (seen.has(value)) return value;
    if (seen.size >= max) return 'other';
    seen.add(value);
    return value;
  };
}

export function createMetrics(vectors: ScrapedVectors): NexusMetrics {
  const registry = new Registry();
  const registers = [registry];
  const operationOf = boundedLabel(MAX_OPERATIONS, NAME, 'anonymous');
  const codeOf = boundedLabel(MAX_CODES, CODE, 'UNKNOWN');

  const requests = new Counter({
    name: 'nexus_graphql_requests_total',
    help: 'GraphQL requests answered, by operation name ("anonymous" without one, "other" past 200 names) and type.',
    labelNames: ['operation', 'type'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'nexus_graphql_request_duration_seconds',
    help: 'Time from a GraphQL request arriving to its response starting (a subscription: to its stream opening).',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const errors = new Counter({
    name: 'nexus_graphql_errors_total',
    help: 'Errors in GraphQL responses, by extensions.code.',
    labelNames: ['code'] as const,
    registers,
  });
  const searches = new Histogram({
    name: 'nexus_search_duration_seconds',
    help: 'Time one store search takes (vector, text or both), by store kind: DOMAIN, SURFACE or GLOBAL.',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  new Gauge({
    name: 'nexus_vector_open_tables',
    help: 'LanceDB table handles held open now (bounded by NEXUS_TABLE_CACHE_SIZE).',
    registers,
    collect() {
      this.set(vectors.openTables());
    },
  });
  // Counted by the index lifecycle since the process started; read on each scrape.
  new Counter({
    name: 'nexus_index_builds_total',
    help: 'Index builds this process has run, by index: vector (ANN) or text (full-text).',
    labelNames: ['index'] as const,
    registers,
    collect() {
      const stats = vectors.indexStats();
      this.reset();
      this.inc({ index: 'vector' }, stats.builds);
      this.inc({ index: 'text' }, stats.textBuilds);
    },
  });
  new Counter({
    name: 'nexus_index_optimizations_total',
    help: 'Index optimisations (new rows folded into an index) this process has run.',
    registers,
    collect() {
      this.reset();
      this.inc(vectors.indexStats().optimizations);
    },
  });
  new Counter({
    name: 'nexus_index_failures_total',
    help: 'Index builds or optimisations that failed in this process (logged; retried later).',
    registers,
    collect() {
      this.reset();
      this.inc(vectors.indexStats().failures);
    },
  });
  const creditOperations = new Counter({
    name: 'nexus_credit_operations_total',
    help: 'Burns and top-ups applied through the API (replayed idempotency keys and refusals not counted).',
    labelNames: ['kind'] as const,
    registers,
  });
  const credits = new Counter({
    name: 'nexus_credits_total',
    help: 'Credits moved by the burns and top-ups counted in nexus_credit_operations_total.',
    labelNames: ['kind'] as const,
    registers,
  });
  const subscriptions = new Gauge({
    name: 'nexus_subscriptions_open',
    help: 'Live subscriptions (nexusEvents streams) open now.',
    registers,
  });
  for (const kind of ['burn', 'top_up']) {
    creditOperations.inc({ kind }, 0);
    credits.inc({ kind }, 0);
  }
  subscriptions.set(0);

  let processMetrics = false;
  return {
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    request(operation, type, seconds, errorCodes) {
      const labels = { operation: operationOf(operation), type: type !== null && TYPES.has(type) ? type : 'unknown' };
      requests.inc(labels);
      duration.observe(labels, seconds);
      for (const code of errorCodes) errors.inc({ code: codeOf(code) });
    },
    search(kind, seconds) {
      searches.observe({ kind }, seconds);
    },
    subscriptionOpened: () => subscriptions.inc(),
    subscriptionClosed: () => subscriptions.dec(),
    credits: {
      applied(kind, amount) {
        const label = kind === 'BURN' ? 'burn' : 'top_up';
        creditOperations.inc({ kind: label });
        credits.inc({ kind: label }, Number(amount));
      },
    },
    withProcessMetrics() {
      if (processMetrics) return;
      processMetrics = true;
      collectDefaultMetrics({ register: registry, prefix: 'nexus_' });
    },
  };
}
