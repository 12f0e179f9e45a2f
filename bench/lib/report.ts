// How every benchmark of `npm run bench` reports: each figure beside its baseline measured in the same run, the
// ratio and the target, as a table for people and one `BENCH-RESULT {json}` line that bench/all.ts collects.

export interface Figure {
  /** What was measured, e.g. "search p50, API in-process, 100k indexed". */
  name: string;
  value: number;
  unit: string;
  /** The baseline it is compared with, measured in the same run (omit for figures without one). */
  baseline?: { name: string; value: number };
  /** The target, as text ("≤ 1.15×", "≥ 0.95", "≥ 0.5×"), and whether it was met. */
  target?: { text: string; met: boolean };
}

/** value / baseline, or NaN without a baseline. */
export function ratioOf(f: Figure): number {
  return f.baseline ? f.value / f.baseline.value : Number.NaN;
}

const num = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(3)) : 'n/a');

/** Rows under a header, every column left-aligned and padded to its widest cell, with a rule under the header. */
export function leftAligned(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Prints the figures as a table, then the machine-readable line. */
export function report(benchmark: string, figures: readonly Figure[], notes: readonly string[] = []): void {
  const rows = figures.map((f) => [
    f.name,
    `${num(f.value)} ${f.unit}`,
    f.baseline ? `${f.baseline.name}: ${num(f.baseline.value)} ${f.unit}` : '',
    Number.isFinite(ratioOf(f)) ? `${ratioOf(f).toFixed(3)}×` : '',
    f.target?.text ?? '',
    f.target ? (f.target.met ? 'met' : 'MISSED') : '',
  ]);
  console.log(`\n== ${benchmark} ==`);
  console.log(leftAligned(['figure', 'value', 'baseline (same run)', 'ratio', 'target', ''], rows));
  for (const note of notes) console.log(`  ${note}`);
  console.log(`BENCH-RESULT ${JSON.stringify({ benchmark, figures, notes })}`);
}
