// What a soak run (soak.ts) is judged by, and how it is printed: the invariants (every event once and in order,
// no stream ended early, every stream released, memory within its bounds) and one figure per line.
import type { Figure } from '../../bench/lib/report.js';
import type { SoakOptions, SoakResult } from './soak.js';

export interface SoakLimits {
  /** Peak RSS above the idle start, in MiB. */
  rssGrowthMiB: number;
  /** Heap in use after every subscriber left, above the idle start (both after a full collection), in MiB. */
  heapGrowthMiB: number;
}

const MiB = 1024 * 1024;

/** NEXUS_SOAK_MAX_RSS_GROWTH_MB, NEXUS_SOAK_MAX_HEAP_GROWTH_MB; defaults scale with the subscribers and events. */
export function soakLimitsFromEnv(env: NodeJS.ProcessEnv, options: Pick<SoakOptions, 'subscribers' | 'events'>): SoakLimits {
  const num = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number of MiB`);
    return Number(raw);
  };
  return {
    rssGrowthMiB: num('NEXUS_SOAK_MAX_RSS_GROWTH_MB', 256 + Math.ceil(options.subscribers * 0.5)),
    heapGrowthMiB: num('NEXUS_SOAK_MAX_HEAP_GROWTH_MB', 64),
  };
}

/** Every invariant the run broke, as sentences; empty when it held. */
export function soakBroken(r: SoakResult, limits: SoakLimits): string[] {
  const total = r.options.subscribers + r.options.resumers;
  const broken = [...(r.writerError ? [`the writer stopped: ${r.writerError}`] : []), ...r.wrong, ...r.endedEarly];
  if (r.complete !== total) broken.push(`${total - r.complete} of ${total} subscribers did not get exactly the ${r.options.events} events in order`);
  if (r.resumes < r.options.resumers) broken.push(`only ${r.resumes} of ${r.options.resumers} resumers resumed`);
  if (r.subscriptionsLeftOpen !== undefined && r.subscriptionsLeftOpen !== 0) broken.push(`${r.subscriptionsLeftOpen} live streams still open on the gateway after every subscriber left`);
  const rssGrowth = (r.memory.peakRssBytes - r.memory.start.rssBytes) / MiB;
  if (rssGrowth > limits.rssGrowthMiB) broken.push(`gateway RSS peaked ${rssGrowth.toFixed(0)} MiB above its start (bound ${limits.rssGrowthMiB} MiB)`);
  const { start, end } = r.memory;
  if (start.heapUsedBytes !== undefined && end.heapUsedBytes !== undefined) {
    const heapGrowth = (end.heapUsedBytes - start.heapUsedBytes) / MiB;
    if (heapGrowth > limits.heapGrowthMiB) broken.push(`gateway heap ended ${heapGrowth.toFixed(0)} MiB above its start (bound ${limits.heapGrowthMiB} MiB)`);
  }
  return broken;
}

const mib = (bytes: number | undefined) => (bytes === undefined ? Number.NaN : bytes / MiB);
const target = (text: string, met: boolean) => ({ text, met });

export function soakFigures(r: SoakResult, limits: SoakLimits): Figure[] {
  const total = r.options.subscribers + r.options.resumers;
  const { start, subscribed, end } = r.memory;
  const rssGrowth = mib(r.memory.peakRssBytes - start.rssBytes);
  const heapGrowth = start.heapUsedBytes === undefined || end.heapUsedBytes === undefined ? Number.NaN : mib(end.heapUsedBytes - start.heapUsedBytes);
  return [
    { name: `subscribers with every event once, in order (of ${total}, ${r.options.resumers} resuming)`, value: r.complete, unit: '', target: target(`= ${total}`, r.complete === total) },
    { name: 'streams ended early (TOO_SLOW, …)', value: r.endedEarly.length, unit: '', target: target('= 0', r.endedEarly.length === 0) },
    { name: 'resumes with Last-Event-ID', value: r.resumes, unit: '', target: target(`≥ ${r.options.resumers}`, r.resumes >= r.options.resumers) },
    { name: 'events written and acknowledged', value: r.written, unit: '', target: target(`= ${r.options.events}`, r.written === r.options.events) },
    { name: `remembers: ${Math.ceil(r.options.events / r.options.batch)} × ${r.options.batch} records`, value: r.writeMs / 1000, unit: 's' },
    { name: 'remember round trip p50', value: r.rememberMs.p50, unit: 'ms' },
    { name: 'remember round trip max', value: r.rememberMs.max, unit: 'ms' },
    { name: 'time to deliver (first write → last event at the last subscriber)', value: r.deliverMs / 1000, unit: 's' },
    { name: 'events delivered', value: r.eventsDelivered, unit: '' },
    { name: 'events/s delivered, all subscribers', value: r.eventsDelivered / (r.deliverMs / 1000), unit: '/s' },
    { name: 'delivery lag p50 (remember sent → event read)', value: r.lagMs.p50, unit: 'ms' },
    { name: 'delivery lag p99', value: r.lagMs.p99, unit: 'ms' },
    { name: 'delivery lag max', value: r.lagMs.max, unit: 'ms' },
    { name: 'gateway event-loop delay max', value: r.loopDelayMaxMs ?? Number.NaN, unit: 'ms' },
    { name: 'gateway /metrics scrape, slowest answer', value: r.scrapeMaxMs ?? Number.NaN, unit: 'ms' },
    { name: 'gateway RSS at start (idle)', value: mib(start.rssBytes), unit: 'MiB' },
    { name: `gateway RSS with ${total} streams open`, value: mib(subscribed.rssBytes), unit: 'MiB' },
    { name: 'gateway RSS peak', value: mib(r.memory.peakRssBytes), unit: 'MiB' },
    { name: 'gateway RSS at end (every stream closed)', value: mib(end.rssBytes), unit: 'MiB' },
    { name: 'gateway RSS peak − start', value: rssGrowth, unit: 'MiB', target: target(`≤ ${limits.rssGrowthMiB}`, !(rssGrowth > limits.rssGrowthMiB)) },
    { name: 'gateway RSS end − start', value: mib(end.rssBytes - start.rssBytes), unit: 'MiB' },
    { name: 'gateway heap at start (after a full GC)', value: mib(start.heapUsedBytes), unit: 'MiB' },
    { name: `gateway heap with ${total} streams open`, value: mib(subscribed.heapUsedBytes), unit: 'MiB' },
    { name: 'gateway heap peak', value: mib(r.memory.peakHeapBytes), unit: 'MiB' },
    { name: 'gateway heap at end (after a full GC)', value: mib(end.heapUsedBytes), unit: 'MiB' },
    { name: 'gateway heap end − start', value: heapGrowth, unit: 'MiB', target: target(`≤ ${limits.heapGrowthMiB}`, !(heapGrowth > limits.heapGrowthMiB)) },
    { name: 'machine load average (1 min) when delivery was over', value: r.loadAverage, unit: '' },
    { name: 'live streams still open on the gateway after all left', value: r.subscriptionsLeftOpen ?? Number.NaN, unit: '', target: target('= 0', (r.subscriptionsLeftOpen ?? 0) === 0) },
  ];
}
