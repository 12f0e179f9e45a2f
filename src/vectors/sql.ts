// The only place LanceDB filter SQL is built. LanceDB takes raw SQL strings with
// no parameters, so columns come from an allow-list and every string is escaped.

export type Column = 'id' | 'kind' | 'occurred_at';

const COLUMNS: ReadonlySet<string> = new Set<Column>(['id', 'kind', 'occurred_at']);

function column(name: Column): string {
  if (!COLUMNS.has(name)) throw new Error(`column ${name} is not filterable`);
  return name;
}

/** A SQL string literal: single quotes doubled, NUL rejected (it would end the string in some parsers). */
export function literal(value: string): string {
  if (value.includes('\u0000')) throw new Error('NUL is not allowed in a filter value');
  return `'${value.replaceAll("'", "''")}'`;
}

function integer(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error('filter numbers must be safe integers');
  return String(value);
}

export function inList(name: Column, values: readonly string[]): string {
  if (values.length === 0) return 'false';
  return `${column(name)} IN (${values.map(literal).join(', ')})`;
}

export interface RecordFilterSpec {
  kinds?: readonly string[] | null;
  /** Epoch milliseconds, inclusive. */
  occurredAfter?: number | null;
  /** Epoch milliseconds, exclusive. */
  occurredBefore?: number | null;
}

/** The WHERE clause of a search, or undefined when nothing is filtered. */
export function recordFilter(spec: RecordFilterSpec): string | undefined {
  const parts: string[] = [];
  if (spec.kinds != null) parts.push(inList('kind', spec.kinds));
  if (spec.occurredAfter != null) parts.push(`${column('occurred_at')} >= ${integer(spec.occurredAfter)}`);
  if (spec.occurredBefore != null) parts.push(`${column('occurred_at')} < ${integer(spec.occurredBefore)}`);
  return parts.length ? parts.map((p) => `(${p})`).join(' AND ') : undefined;
}
