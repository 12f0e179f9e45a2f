// What a load run (load.ts) is judged by, and how it is printed: no error but documented ones, no lost row, every
// subscriber saw every acknowledged write of its domains exactly once, every wallet exact; latency per operation.
import { percentile } from '../../bench/lib/stats.js';
import type { Figure } from '../../bench/lib/report.js';
import { MIX, type OpKind } from './load-workload.js';
import type { LoadResult } from './load.js';

/** Answers the workload may get under load: a burn beyond the balance. Everything else is a failure. */
export const DOCUMENTED_ERRORS = new Set(['burn:INSUFFICIENT_CREDITS']);

export interface SubscriberTally {
  label: string;
  expected: number;
  missing: string[];
  duplicated: string[];
  unexpected: string[];
  oddities: string[];
  ended?: string;
}

export function subscriberTallies(r: LoadResult): SubscriberTally[] {
  return r.subscribers.map(({ view, expected, allowed }) => ({
    label: view.label,
    expected: expected.size,
    missing: [...expected].filter((id) => !view.seen.has(id)),
    duplicated: [...view.seen].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`),
    unexpected: [...view.seen.keys()].filter((id) => !expected.has(id) && !allowed.has(id)),
    oddities: view.oddities,
    ...(view.ended ? { ended: view.ended } : {}),
  }));
}

const few = (list: readonly string[]) => `${list.slice(0, 5).join(', ')}${list.length > 5 ? `, … (${list.length})` : ''}`;

/** Every invariant the run broke, as sentences; empty when it held. */
export function loadBroken(r: LoadResult): string[] {
  const broken: string[] = [];
  for (const [code, n] of r.books.errors) if (!DOCUMENTED_ERRORS.has(code)) broken.push(`${n} × ${code}`);
  for (const s of r.stores) {
    for (const [g, counted] of s.counted.entries()) {
      const where = `tenant ${s.tenant} ${s.domain} on gateway ${g === 0 ? 'A' : 'B'}`;
      if (typeof counted !== 'number') broken.push(`${where}: recordCount failed (${counted})`);
      else if (counted < s.acknowledged) broken.push(`${where}: ${counted} records, ${s.acknowledged} acknowledged (${s.acknowledged - counted} lost)`);
      else if (counted > s.acknowledged + s.uncertain) broken.push(`${where}: ${counted} records, only ${s.acknowledged} acknowledged (+ ${s.uncertain} uncertain)`);
    }
  }
  for (const t of subscriberTallies(r)) {
    if (t.missing.length) broken.push(`${t.label}: ${t.missing.length} of ${t.expected} acknowledged writes never arrived: ${few(t.missing)}`);
    if (t.duplicated.length) broken.push(`${t.label}: ${t.duplicated.length} arrived more than once: ${few(t.duplicated)}`);
    if (t.unexpected.length) broken.push(`${t.label}: ${t.unexpected.length} events of writes never made: ${few(t.unexpected)}`);
    if (t.oddities.length) broken.push(`${t.label}: ${t.oddities.length} odd events: ${few(t.oddities)}`);
    if (t.ended) broken.push(`${t.label}: the stream ended early (${t.ended})`);
  }
  for (const w of r.wallets) {
    const where = `tenant ${w.tenant}'s wallet`;
    for (const [g, balance] of w.balances.entries()) {
      if (balance !== w.expected) broken.push(`${where} on gateway ${g === 0 ? 'A' : 'B'}: balance ${balance}, expected top-ups − acknowledged burns = ${w.expected}`);
    }
    if (w.ledgerSum !== w.expected) broken.push(`${where}: the ledger sums to ${w.ledgerSum}, expected ${w.expected}`);
    if (w.burnEntries !== w.acknowledgedBurns) broken.push(`${where}: ${w.burnEntries} burn entries, ${w.acknowledgedBurns} burns acknowledged`);
    if (w.topUpEntries !== w.acknowledgedTopUps) broken.push(`${where}: ${w.topUpEntries} top-up entries, ${w.acknowledgedTopUps} top-ups acknowledged`);
    if (w.brokenChain) broken.push(`${where}: ${w.brokenChain} entries whose balanceAfter is not the running sum`);
  }
  return broken;
}

const target = (text: string, met: boolean) => ({ text, met });

/** "errors per 30 s of the load: 0% of 812, 12% of 640, …" (documented answers aside). */
export function errorTimeline(r: LoadResult): string {
  return `undocumented errors per 30 s of the load: ${r.books.timeline.map((w) => `${((100 * w.errors) / Math.max(1, w.ops)).toFixed(0)}% of ${w.ops}`).join(', ')}`;
}

export function loadFigures(r: LoadResult): Figure[] {
  const seconds = r.durationMs / 1000;
  const all = [...r.books.latencies.values()].flat().sort((a, b) => a - b);
  const figures: Figure[] = [
    { name: `operations (${r.options.clients} clients, ${r.options.tenants} tenants, two gateways)`, value: r.books.ops, unit: '' },
    { name: 'duration', value: seconds, unit: 's' },
    { name: 'throughput, all operations', value: r.books.ops / seconds, unit: '/s' },
    { name: 'latency p50, all operations', value: percentile(all, 50), unit: 'ms' },
    { name: 'latency p99, all operations', value: percentile(all, 99), unit: 'ms' },
  ];
  for (const kind of Object.keys(MIX) as OpKind[]) {
    const sorted = [...(r.books.latencies.get(kind) ?? [])].sort((a, b) => a - b);
    figures.push({ name: `${kind}: operations`, value: sorted.length, unit: '' });
    figures.push({ name: `${kind}: latency p50`, value: percentile(sorted, 50), unit: 'ms' });
    figures.push({ name: `${kind}: latency p99`, value: percentile(sorted, 99), unit: 'ms' });
  }
  const errors = [...r.books.errors].sort(([a], [b]) => a.localeCompare(b));
  for (const [code, n] of errors) figures.push({ name: `errors ${code}`, value: n, unit: '', target: target(DOCUMENTED_ERRORS.has(code) ? 'documented' : '= 0', DOCUMENTED_ERRORS.has(code)) });
  if (!errors.some(([code]) => !DOCUMENTED_ERRORS.has(code))) figures.push({ name: 'errors other than documented ones', value: 0, unit: '', target: target('= 0', true) });

  const acknowledged = r.stores.reduce((n, s) => n + s.acknowledged, 0);
  const lost = r.stores.reduce((n, s) => n + Math.max(0, ...s.counted.map((c) => (typeof c === 'number' ? s.acknowledged - c : 0))), 0);
  const uncounted = r.stores.reduce((n, s) => n + s.counted.filter((c) => typeof c !== 'number').length, 0);
  figures.push({ name: 'records acknowledged', value: acknowledged, unit: '' });
  figures.push({ name: 'records lost (acknowledged, not counted by a gateway)', value: lost, unit: '', target: target('= 0', lost === 0) });
  figures.push({ name: `recordCount reads that never answered (of ${r.stores.length * 2})`, value: uncounted, unit: '', target: target('= 0', uncounted === 0) });
  figures.push({ name: 'read-back retries (SERVICE_UNAVAILABLE after the load)', value: r.books.readBackRetries, unit: '' });

  const tallies = subscriberTallies(r);
  const sum = (f: (t: SubscriberTally) => number) => tallies.reduce((n, t) => n + f(t), 0);
  figures.push({ name: `events expected by the ${tallies.length} subscribers`, value: sum((t) => t.expected), unit: '' });
  figures.push({ name: 'events missed', value: sum((t) => t.missing.length), unit: '', target: target('= 0', sum((t) => t.missing.length) === 0) });
  figures.push({ name: 'events duplicated', value: sum((t) => t.duplicated.length), unit: '', target: target('= 0', sum((t) => t.duplicated.length) === 0) });
  figures.push({ name: 'events unexpected, odd or streams ended', value: sum((t) => t.unexpected.length + t.oddities.length + (t.ended ? 1 : 0)), unit: '', target: target('= 0', sum((t) => t.unexpected.length + t.oddities.length + (t.ended ? 1 : 0)) === 0) });

  const burns = r.wallets.reduce((n, w) => n + w.acknowledgedBurns, 0);
  const exact = r.wallets.filter((w) => w.balances.every((b) => b === w.expected) && w.ledgerSum === w.expected && w.burnEntries === w.acknowledgedBurns && w.topUpEntries === w.acknowledgedTopUps && w.brokenChain === 0).length;
  figures.push({ name: 'burns acknowledged', value: burns, unit: '' });
  figures.push({ name: `wallets exact (balance = top-ups − burns = Σ ledger, on both gateways)`, value: exact, unit: '', target: target(`= ${r.wallets.length}`, exact === r.wallets.length) });
  for (const [g, bytes] of r.peakRssBytes.entries()) figures.push({ name: `gateway ${g === 0 ? 'A' : 'B'} peak RSS`, value: bytes / 1024 / 1024, unit: 'MiB' });
  for (const [g, ms] of r.loopDelayMaxMs.entries()) figures.push({ name: `gateway ${g === 0 ? 'A' : 'B'} event-loop delay max`, value: ms ?? Number.NaN, unit: 'ms' });
  figures.push({ name: 'set-up (services, gateways, tenants, subscribers)', value: r.phases.setup, unit: 's' });
  figures.push({ name: 'read-back (delivery settles, rows, wallets)', value: r.phases.readBack, unit: 's' });
  figures.push({ name: 'machine load average (1 min) at the end of the load', value: r.loadAverage[1], unit: '' });
  return figures;
}
