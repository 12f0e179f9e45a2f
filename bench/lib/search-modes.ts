// The text and hybrid half of bench/search.ts: vector, text and hybrid latency side by side for each place searched,
// and the figures, each against a baseline measured in the same rounds. Text search has no targets; none are invented.
import type { Figure } from './report.js';
import { formatTable, ms, type Summary } from './stats.js';

export type Mode = 'vector' | 'text' | 'hybrid';
export type ModeStats = Partial<Record<Mode, Summary>>;

/** One row per place searched, one "p50 / p95 / p99" cell per mode, "-" where that mode was not measured there. */
export function modeTable(rows: readonly (readonly [string, ModeStats])[]): string {
  const cell = (x: Summary | undefined) => (x ? `${ms(x.p50)} / ${ms(x.p95)} / ${ms(x.p99)}` : '-');
  return formatTable(
    ['ms, p50 / p95 / p99', 'vector', 'text (BM25)', 'hybrid (RRF)'],
    rows.map(([name, s]) => [name, cell(s.vector), cell(s.text), cell(s.hybrid)]),
  );
}

export interface ModeFigureInput {
  /** Raw LanceDB on the health table: vector search and BM25 with the gateway's query. */
  raw: { vector: Summary; text: Summary };
  /** The gateway in-process, one domain each; the first is the one the raw paths read. */
  singles: readonly { domain: string; stats: ModeStats }[];
  godView: { vector: Summary; text: Summary; hybrid: Summary };
}

const need = (x: Summary | undefined, what: string): Summary => {
  if (!x) throw new Error(`no samples for ${what}`);
  return x;
};

export function modeFigures({ raw, singles, godView }: ModeFigureInput): Figure[] {
  const [home] = singles;
  if (!home) throw new Error('no single-domain paths');
  const text = need(home.stats.text, `text (${home.domain})`);
  const vector = need(home.stats.vector, `vector (${home.domain})`);
  const hybrid = need(home.stats.hybrid, `hybrid (${home.domain})`);
  const slowest = singles.map((s) => ({ domain: s.domain, x: need(s.stats.text, `text (${s.domain})`) })).reduce((a, b) => (b.x.p50 > a.x.p50 ? b : a));
  const figures: Figure[] = (['p50', 'p95', 'p99'] as const).map((q) => ({
    name: `text search, API in-process (${home.domain}) ${q}`,
    value: text[q],
    unit: 'ms',
    baseline: { name: `raw LanceDB BM25 ${q}`, value: raw.text[q] },
  }));
  figures.push(
    {
      name: 'God View by text, fused over 3 domains, p50',
      value: godView.text.p50,
      unit: 'ms',
      baseline: { name: `slowest single domain by text (${slowest.domain}) p50`, value: slowest.x.p50 },
    },
    { name: `hybrid search, API in-process (${home.domain}) p50`, value: hybrid.p50, unit: 'ms', baseline: { name: 'vector search, API in-process p50', value: vector.p50 } },
    { name: 'God View hybrid, fused over 3 domains, p50', value: godView.hybrid.p50, unit: 'ms', baseline: { name: 'God View by vector p50', value: godView.vector.p50 } },
    { name: `text search, API in-process (${home.domain}) p50, vs vector`, value: text.p50, unit: 'ms', baseline: { name: 'vector search, API in-process p50', value: vector.p50 } },
    { name: `raw LanceDB BM25 (${home.domain}) p50, vs raw vector`, value: raw.text.p50, unit: 'ms', baseline: { name: 'raw LanceDB vector p50', value: raw.vector.p50 } },
  );
  return figures;
}
