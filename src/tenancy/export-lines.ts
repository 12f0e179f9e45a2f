// The export format (JSON Lines, version 1): one object per line, each with a `type`, in a fixed order. The
// exporter (export.ts) writes these lines and the importer (import.ts) reads them back; the shapes live here once.
import { z } from 'zod';

export const EXPORT_VERSION = 1;
export const EXPORT_CONTENT_TYPE = 'application/x-ndjson';

/** Where a record lives: a domain store, the global store, or a surface's private store. */
export type ExportStore = { scope: 'DOMAIN'; domain: string } | { scope: 'GLOBAL' } | { scope: 'SURFACE'; surface: string };

// Credits are decimal strings (as the API's BigInt scalar), dates ISO 8601 strings.
const decimal = z.string().regex(/^-?(0|[1-9][0-9]{0,18})$/, 'must be a whole number as a decimal string');
const date = z.iso.datetime();
const key = z.string().max(64);
const store = z.discriminatedUnion('scope', [
  z.strictObject({ scope: z.literal('DOMAIN'), domain: key }),
  z.strictObject({ scope: z.literal('GLOBAL') }),
  z.strictObject({ scope: z.literal('SURFACE'), surface: key }),
]);

const schemas = {
  'nexus-export': z.strictObject({ type: z.literal('nexus-export'), version: z.literal(EXPORT_VERSION), exportedAt: date, vectorDimension: z.number().int().positive() }),
  tenant: z.strictObject({ type: z.literal('tenant'), id: key, createdAt: date }),
  identity: z.strictObject({ type: z.literal('identity'), email: z.string().max(254), displayName: z.string().max(400).nullable() }),
  domain: z.strictObject({ type: z.literal('domain'), key, name: z.string().max(400), createdAt: date }),
  surface: z.strictObject({
    type: z.literal('surface'),
    key,
    name: z.string().max(400),
    kind: z.enum(['APP', 'CONNECTOR', 'DASHBOARD']),
    homeDomain: key,
    createdAt: date,
  }),
  mount: z.strictObject({ type: z.literal('mount'), surface: key, domain: key, access: z.enum(['READ', 'READ_WRITE']) }),
  wallet: z.strictObject({ type: z.literal('wallet'), balance: decimal }),
  ledger: z.strictObject({
    type: z.literal('ledger'),
    kind: z.enum(['TOP_UP', 'BURN']),
    amount: decimal,
    balanceAfter: decimal,
    reason: z.string().max(800),
    idempotencyKey: z.string().max(512),
    surface: key.nullable(),
    createdAt: date,
  }),
  record: z.strictObject({
    type: z.literal('record'),
    store,
    id: z.string().max(128),
    kind: z.string().max(64),
    text: z.string().nullable(),
    metadata: z.unknown(),
    occurredAt: date,
    createdAt: date,
    writer: key.nullable(),
    /** The vector as written (unit × norm), float32 little-endian, padded base64; null for a text-only record. */
    vectorBase64: z.string().nullable(),
    /** The vector's length as written (float64); null for a text-only record. */
    norm: z.number().positive().nullable(),
    /**
     * The stored unit vector itself, only where vectorBase64 ÷ norm would not give back the same vectorBase64 (a
     * vector beyond float32's range): the importer then takes this one.
     */
    unitBase64: z.string().optional(),
  }),
  end: z.strictObject({ type: z.literal('end'), records: z.number().int().nonnegative(), ledgerEntries: z.number().int().nonnegative() }),
} as const;

export type LineType = keyof typeof schemas;
export type ExportLineOf<T extends LineType> = z.infer<(typeof schemas)[T]>;
export type ExportLine = { [T in LineType]: ExportLineOf<T> }[LineType];
export type RecordLine = ExportLineOf<'record'>;
export type LedgerLine = ExportLineOf<'ledger'>;

/** The order lines come in: each type at its place, the repeated ones (domain … record) any number of times. */
export const LINE_ORDER: readonly LineType[] = ['nexus-export', 'tenant', 'identity', 'domain', 'surface', 'mount', 'wallet', 'ledger', 'record', 'end'];
const REPEATED = new Set<LineType>(['domain', 'surface', 'mount', 'ledger', 'record']);

/** A line of an export that is not what the format says: the file is not imported. */
export class ExportFileError extends Error {
  override name = 'ExportFileError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(line > 0 ? `line ${line}: ${message}` : message);
  }
}

/** Parses one line: JSON, a known type, the fields of that type and nothing else. */
export function parseLine(text: string, line: number): ExportLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ExportFileError(line, 'not a JSON object (a cut or corrupted file?)');
  }
  const type = typeof value === 'object' && value !== null && 'type' in value ? (value as { type: unknown }).type : undefined;
  if (typeof type !== 'string' || !(type in schemas)) throw new ExportFileError(line, `unknown line type ${JSON.stringify(type ?? null).slice(0, 40)}`);
  const parsed = schemas[type as LineType].safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new ExportFileError(line, `${type} line: ${where}${issue?.message ?? 'invalid'}`);
  }
  return parsed.data as ExportLine;
}

/** Checks that a line may follow the one before (fixed order, header first, nothing after end). */
export function checkOrder(previous: LineType | null, next: LineType, line: number): void {
  const at = previous === null ? -1 : LINE_ORDER.indexOf(previous);
  const to = LINE_ORDER.indexOf(next);
  // Forward by any number of places, skipping only repeated types (which may be absent), or the same repeated type again.
  const skipped = LINE_ORDER.slice(at + 1, to);
  const ok = (to === at && REPEATED.has(next)) || (to > at && skipped.every((t) => REPEATED.has(t)));
  if (!ok) {
    if (previous === null) throw new ExportFileError(line, 'not a Nexus export: the first line must be the nexus-export header');
    throw new ExportFileError(line, previous === 'end' ? 'nothing may follow the end line' : `out of order: ${next} after ${previous} (the order is ${LINE_ORDER.join(', ')})`);
  }
}

/**
 * The vector as written (unit × norm) at float32 precision, as vectorBase64 carries it, and whether the importer's
 * unitOf gives back a unit that writes out as this same vector (false only beyond float32's range).
 */
export function writtenVector(unit: Float32Array, norm: number): { vector: Float32Array; exact: boolean } {
  const vector = new Float32Array(unit.length);
  let exact = true;
  let nonZero = false;
  for (let i = 0; i < unit.length; i++) {
    const x = Math.fround((unit[i] as number) * norm);
    vector[i] = x;
    if (x !== 0) nonZero = true;
    if (!Number.isFinite(x) || Math.fround(Math.fround(x / norm) * norm) !== x) exact = false;
  }
  return { vector, exact: exact && nonZero };
}

/** The unit vector an import stores for a vector and its norm: vector ÷ norm, at float32 (writtenVector's inverse). */
export function unitOf(vector: Float32Array, norm: number): Float32Array {
  const unit = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) unit[i] = (vector[i] as number) / norm;
  return unit;
}

/** Longest line read (a record holds at most 64 KiB of text and of metadata, and its vector): 1 Mi characters. */
export const MAX_LINE_CHARS = 1024 * 1024;

/** Text in chunks (a file read as UTF-8) as its lines, without line breaks; a line too long to be an export's fails. */
export async function* splitLines(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let pending = '';
  let line = 0;
  for await (const chunk of chunks) {
    pending += chunk;
    let start = 0;
    for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n', start)) {
      line += 1;
      if (end - start > MAX_LINE_CHARS) throw new ExportFileError(line, `longer than ${MAX_LINE_CHARS} characters: not an export line`);
      yield pending.slice(start, end);
      start = end + 1;
    }
    pending = pending.slice(start);
    if (pending.length > MAX_LINE_CHARS) throw new ExportFileError(line + 1, `longer than ${MAX_LINE_CHARS} characters: not an export line`);
  }
  if (pending !== '') yield pending;
}
