// Samples a gateway process's memory while a run goes on: its resident set from /proc (so a busy event loop cannot
// delay the reading) and, when it serves metrics, its V8 heap, open live streams and event-loop delay from /metrics.
import { readFile } from 'node:fs/promises';
import { parsePrometheusText, sampleValue } from './prometheus-text.js';

export interface MemorySample {
  /** ms since the sampler was made. */
  at: number;
  rssBytes: number;
  /** V8 heap in use (nexus_nodejs_heap_size_used_bytes); undefined without a metrics URL or when it did not answer. */
  heapUsedBytes?: number;
  /** nexus_subscriptions_open at that moment. */
  subscriptionsOpen?: number;
  /** The longest event-loop delay since the sample before (nexus_nodejs_eventloop_lag_max_seconds), in ms. */
  loopDelayMaxMs?: number;
  /** How long the scrape of /metrics took to answer, in ms. */
  scrapeMs?: number;
}

export interface MemorySampler {
  /** Takes one sample now (and keeps it). */
  sample(): Promise<MemorySample>;
  /** Samples every intervalMs until stop(). */
  start(intervalMs: number): void;
  stop(): Promise<void>;
  readonly samples: readonly MemorySample[];
  /** The highest RSS, heap, event-loop delay and scrape time seen so far. */
  peak(): { rssBytes: number; heapUsedBytes: number | undefined; loopDelayMaxMs: number | undefined; scrapeMs: number | undefined };
}

/** The resident set of a process, in bytes (VmRSS of /proc/<pid>/status). */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

/** `metricsUrl`: the gateway's metrics endpoint without a token (NEXUS_METRICS_PORT), e.g. http://127.0.0.1:PORT/metrics. */
export function createMemorySampler(pid: number, metricsUrl?: string): MemorySampler {
  const began = performance.now();
  const samples: MemorySample[] = [];
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();
  const metrics = async (): Promise<Pick<MemorySample, 'heapUsedBytes' | 'subscriptionsOpen' | 'loopDelayMaxMs' | 'scrapeMs'>> => {
    if (!metricsUrl) return {};
    const asked = performance.now();
    try {
      // A long bound: a scrape given up would still reset the gateway's event-loop delay histogram unseen.
      const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(30_000) });
      const families = parsePrometheusText(await res.text());
      return {
        heapUsedBytes: sampleValue(families, 'nexus_nodejs_heap_size_used_bytes'),
        subscriptionsOpen: sampleValue(families, 'nexus_subscriptions_open'),
        loopDelayMaxMs: sampleValue(families, 'nexus_nodejs_eventloop_lag_max_seconds') * 1000,
        scrapeMs: performance.now() - asked,
      };
    } catch {
      return {};
    }
  };
  const sample = async (): Promise<MemorySample> => {
    const at = performance.now() - began;
    const [rssBytes, extra] = await Promise.all([residentBytes(pid), metrics()]);
    const taken = { at, rssBytes, ...extra };
    samples.push(taken);
    return taken;
  };
  return {
    sample,
    start(intervalMs) {
      const tick = () => {
        inFlight = sample()
          .catch(() => undefined)
          .finally(() => {
            if (timer !== undefined) timer = setTimeout(tick, intervalMs);
          });
      };
      timer = setTimeout(tick, intervalMs);
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
    samples,
    peak() {
      const most = (values: (number | undefined)[]) => {
        const defined = values.filter((v): v is number => v !== undefined);
        return defined.length ? Math.max(...defined) : undefined;
      };
      return {
        rssBytes: Math.max(0, ...samples.map((s) => s.rssBytes)),
        heapUsedBytes: most(samples.map((s) => s.heapUsedBytes)),
        loopDelayMaxMs: most(samples.map((s) => s.loopDelayMaxMs)),
        scrapeMs: most(samples.map((s) => s.scrapeMs)),
      };
    },
  };
}
