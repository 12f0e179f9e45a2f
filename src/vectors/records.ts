// Records as the vectors layer sees them, and their validation before any write:
// exact dimension, finite numbers, bounded sizes. One bad record rejects the batch.
import { randomUUID } from 'node:crypto';
import { endianness } from 'node:os';
import { BadUserInputError } from '../errors.js';
import { assertCleanText } from '../text.js';

export type Scope = 'DOMAIN' | 'SURFACE' | 'GLOBAL';

export interface StoredRecord {
  id: string;
  scope: Scope;
  tenantId: string;
  /** The domain store it lives in (DOMAIN scope only). */
  domainKey: string | null;
  /** The surface that wrote it; null for the owner. */
  writerSurfaceId: string | null;
  kind: string;
  text: string | null;
  metadata: unknown;
  occurredAt: Date;
  createdAt: Date;
  /** The unit-length direction of the vector as stored (float32); null when the query did not ask for it. */
  unit: Float32Array | null;
  /** The vector's length as written: unit × norm is the vector. */
  norm: number;
}

/** The vector of a stored record as written (unit × norm), or null when it was not read. */
export function recordVector(record: Pick<StoredRecord, 'unit' | 'norm'>): number[] | null {
  return record.unit ? Array.from(record.unit, (x) => x * record.norm) : null;
}

export interface RecordInput {
  id?: string | number | null;
  kind: string;
  text?: string | null;
  vector?: readonly number[] | null;
  /** The same vector as little-endian float32 bytes in base64; exactly one of vector and vectorBase64. */
  vectorBase64?: string | null;
  metadata?: unknown;
  occurredAt?: Date | null;
}

/** A validated record ready to store: unit vector plus its original length, or text alone (unit null, norm 0). */
export interface PreparedRecord {
  id: string;
  /** True when the writer named the id (it may replace a stored record); false for a new server-assigned UUID. */
  idGiven: boolean;
  kind: string;
  text: string | null;
  metadata: string | null;
  occurredAt: number;
  /** Null for a text-only record: found by full-text search, never by vector search. */
  unit: Float32Array | null;
  norm: number;
}

export const MAX_RECORDS_PER_BATCH = 1000;
export const MAX_TEXT_BYTES = 64 * 1024;
export const MAX_METADATA_BYTES = 64 * 1024;
export const MAX_ID_LENGTH = 128;
export const MAX_KIND_LENGTH = 64;
// Ids and kinds are data, but printable and bounded keeps logs and filters sane.
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const KIND_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

export function assertRecordId(id: string, field = 'id'): string {
  if (id.length > MAX_ID_LENGTH || !ID_PATTERN.test(id)) {
    throw new BadUserInputError(`${field} must be 1 to ${MAX_ID_LENGTH} characters of A-Z a-z 0-9 . _ : - (starting with a letter or digit)`, field);
  }
  return id;
}

export function assertKind(kind: string, field = 'kind'): string {
  if (kind.length > MAX_KIND_LENGTH || !KIND_PATTERN.test(kind)) {
    throw new BadUserInputError(`${field} must be 1 to ${MAX_KIND_LENGTH} characters of A-Z a-z 0-9 . _ : / - (starting with a letter or digit)`, field);
  }
  return kind;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** float32 values as little-endian bytes in padded base64: what `vectorBase64` takes, and how events carry vectors. */
export function float32Base64(values: Float32Array): string {
  if (LITTLE_ENDIAN) return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
  return bytes.toString('base64');
}

/** Decodes `dimension` little-endian float32 values from base64; BAD_USER_INPUT for anything else. */
export function decodeVectorBase64(encoded: string, dimension: number, field: string): Float32Array {
  const expected = `exactly ${dimension * 4} bytes: ${dimension} little-endian float32 values`;
  const bytes = Buffer.from(encoded, 'base64');
  // Buffer.from skips characters it does not know and takes unpadded or url-safe input: only canonical base64
  // (RFC 4648 §4, padded) encodes back to itself.
  if (encoded.length === 0 || bytes.toString('base64') !== encoded) {
    throw new BadUserInputError(`${field} must be padded base64 (A-Z a-z 0-9 + / and = padding) of ${expected}`, field);
  }
  if (bytes.length !== dimension * 4) throw new BadUserInputError(`${field} must decode to ${expected} (got ${bytes.length} bytes)`, field);
  const values = new Float32Array(dimension);
  if (LITTLE_ENDIAN) new Uint8Array(values.buffer).set(bytes);
  else for (let i = 0; i < dimension; i++) values[i] = bytes.readFloatLE(i * 4);
  return values;
}

/** The vector of an input that gives it as numbers or as base64, exactly one of the two; `at` prefixes field names. */
export function inputVector(input: { vector?: readonly number[] | null; vectorBase64?: string | null }, dimension: number, at = ''): ArrayLike<number> | null {
  const field = (name: string) => (at ? `${at}.${name}` : name);
  if (input.vector != null && input.vectorBase64 != null) {
    throw new BadUserInputError(`${field('vector')} and ${field('vectorBase64')}: give one of them, not both`, field('vectorBase64'));
  }
  if (input.vectorBase64 != null) return decodeVectorBase64(input.vectorBase64, dimension, field('vectorBase64'));
  return input.vector ?? null;
}

/** Checks length and finiteness, then returns the unit vector and the original norm. */
export function toUnitVector(vector: ArrayLike<number>, dimension: number, field: string, into?: Float32Array): { unit: Float32Array; norm: number } {
  if (vector.length !== dimension) throw new BadUserInputError(`${field} must have exactly ${dimension} numbers (got ${vector.length})`, field);
  let largest = 0;
  for (let i = 0; i < dimension; i++) {
    const x = vector[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new BadUserInputError(`${field} must contain only finite numbers`, field);
    const size = Math.abs(x);
    if (size > largest) largest = size;
  }
  if (largest === 0) throw new BadUserInputError(`${field} must not be all zeros (cosine distance is undefined)`, field);
  // Scaled by the largest component first, so that squaring 1e308 or 1e-200 neither overflows nor vanishes.
  let sum = 0;
  for (let i = 0; i < dimension; i++) sum += ((vector[i] as number) / largest) ** 2;
  const norm = largest * Math.sqrt(sum);
  if (!Number.isFinite(norm)) throw new BadUserInputError(`${field} is too long: its length overflows a 64-bit float (scale it down)`, field);
  const unit = into ?? new Float32Array(dimension);
  const scale = Math.sqrt(sum);
  for (let i = 0; i < dimension; i++) unit[i] = (vector[i] as number) / largest / scale;
  return { unit, norm };
}

export const MAX_METADATA_DEPTH = 32;

/** Why a metadata value may not be stored (too deeply nested, or a string that is not valid UTF-16), or null. */
function metadataProblem(value: unknown, depth: number): string | null {
  if (typeof value === 'string') return value.isWellFormed() ? null : 'must not contain an unpaired surrogate';
  if (value === null || typeof value !== 'object') return null;
  if (depth >= MAX_METADATA_DEPTH) return `must nest at most ${MAX_METADATA_DEPTH} levels deep`;
  for (const [key, item] of Object.entries(value)) {
    if (!key.isWellFormed()) return 'must not contain an unpaired surrogate';
    const problem = metadataProblem(item, depth + 1);
    if (problem) return problem;
  }
  return null;
}

/**
 * Validates a batch. A record needs a vector, or text: text alone is kept as a text-only record unless `embedded`
 * holds a vector for its index (the server's embedder made it).
 */
export function prepareRecords(inputs: readonly RecordInput[], dimension: number, now = Date.now(), embedded?: ReadonlyMap<number, ArrayLike<number>>): PreparedRecord[] {
  if (inputs.length === 0) throw new BadUserInputError('records must not be empty', 'records');
  if (inputs.length > MAX_RECORDS_PER_BATCH) throw new BadUserInputError(`at most ${MAX_RECORDS_PER_BATCH} records per call`, 'records');
  const seen = new Set<string>();
  // Every unit vector of the batch in one buffer: the table's vector column is built from it without a copy.
  const units = new Float32Array(inputs.length * dimension);
  return inputs.map((r, i) => {
    const at = `records[${i}]`;
    const idGiven = r.id != null;
    const id = idGiven ? assertRecordId(String(r.id), `${at}.id`) : randomUUID();
    if (seen.has(id)) throw new BadUserInputError(`${at}.id repeats an id of this batch`, `${at}.id`);
    seen.add(id);
    const given = inputVector(r, dimension, at);
    const text = checkedText(r.text, at);
    if (given == null && (text === null || text.trim() === '')) {
      throw new BadUserInputError(`${at} needs a vector or text that is not blank (text alone is found by full-text search)`, `${at}.vector`);
    }
    let metadata: string | null = null;
    if (r.metadata !== undefined && r.metadata !== null) {
      const problem = metadataProblem(r.metadata, 0);
      if (problem) throw new BadUserInputError(`${at}.metadata ${problem}`, `${at}.metadata`);
      metadata = JSON.stringify(r.metadata);
      if (Buffer.byteLength(metadata, 'utf8') > MAX_METADATA_BYTES) throw new BadUserInputError(`${at}.metadata must be at most 64 KiB of JSON`, `${at}.metadata`);
    }
    const occurredAt = r.occurredAt ? r.occurredAt.getTime() : now;
    const kind = assertKind(r.kind, `${at}.kind`);
    const vector = given ?? embedded?.get(i) ?? null;
    if (vector == null) return { id, idGiven, kind, text, metadata, occurredAt, unit: null, norm: 0 };
    const field = given == null ? `${at}.text` : r.vectorBase64 != null ? `${at}.vectorBase64` : `${at}.vector`;
    const { unit, norm } = toUnitVector(vector, dimension, field, units.subarray(i * dimension, (i + 1) * dimension));
    return { id, idGiven, kind, text, metadata, occurredAt, unit, norm };
  });
}

/** The record's text, checked (at most 64 KiB, clean characters); null when absent. */
function checkedText(text: string | null | undefined, at: string): string | null {
  if (text == null) return null;
  // Checked for size first: the character scan below is then bounded too.
  if (Buffer.byteLength(text, 'utf8') > MAX_TEXT_BYTES) throw new BadUserInputError(`${at}.text must be at most 64 KiB`, `${at}.text`);
  assertCleanText(text, `${at}.text`, { lines: true });
  return text;
}

/** Indexes of the records the server must embed: text and no vector given. */
export function recordsToEmbed(inputs: readonly RecordInput[]): number[] {
  const indexes: number[] = [];
  inputs.forEach((r, i) => {
    if (r.vector == null && r.vectorBase64 == null && r.text != null && r.text.trim() !== '') indexes.push(i);
  });
  return indexes;
}
