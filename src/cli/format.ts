// Output and argument helpers shared by the CLI's command groups.
import { InvalidArgumentError } from 'commander';

/** Rows as aligned columns under a header, one line each (no trailing spaces). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].map((l) => `${l}\n`).join('');
}

/** A timestamp to the second, in UTC: 2026-12-01T17:03:43Z. */
export function when(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A commander argument parser for a whole number from min to max, so a bad value fails before anything opens. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
    if (!(n >= min && n <= max)) throw new InvalidArgumentError(`it must be a whole number from ${min} to ${max}.`);
    return n;
  };
}
