// What tenant:import accepts: every line of an export checked with the validators the API uses (keys, names,
// emails, credits, record ids, kinds, text, metadata, vectors) and against the lines before it (order, references,
// the ledger's running balance, the end line's counts). A file that fails anywhere is not imported at all.
import { assertKey, cleanName, normaliseEmail } from '../auth/identifiers.js';
import { MAX_AMOUNT } from '../billing/credits.js';
import { NexusError } from '../errors.js';
import { identifierProblem, textProblem } from '../text.js';
import { decodeVectorBase64, prepareRecords, type PreparedRecord } from '../vectors/records.js';
import {
  checkOrder,
  ExportFileError,
  parseLine,
  unitOf,
  type ExportLine,
  type ExportLineOf,
  type ExportStore,
  type LineType,
  type RecordLine,
} from './export-lines.js';

/** A record line made ready to store: the record, the time it was first written, its writer's surface key. */
export interface CheckedRecord {
  readonly store: ExportStore;
  readonly writer: string | null;
  readonly record: PreparedRecord & { readonly createdAt: number };
}

export type CheckedLine = { readonly line: Exclude<ExportLine, RecordLine> } | { readonly line: RecordLine; readonly record: CheckedRecord };

/** The small part of an export, known once it is checked: who, their domains, surfaces, mounts and balance. */
export interface ExportSummary {
  readonly vectorDimension: number;
  readonly identity: ExportLineOf<'identity'>;
  readonly domains: ExportLineOf<'domain'>[];
  readonly surfaces: ExportLineOf<'surface'>[];
  readonly mounts: ExportLineOf<'mount'>[];
  readonly balance: bigint;
  readonly ledgerEntries: number;
  readonly records: number;
}

export const storeName = (store: ExportStore) =>
  store.scope === 'DOMAIN' ? `the store of domain ${store.domain}` : store.scope === 'SURFACE' ? `the private store of surface ${store.surface}` : 'the global store';

// The rules credits.ts applies to a burn or a top-up, for entries that arrive already made.
function ledgerProblem(e: ExportLineOf<'ledger'>): string | null {
  const amount = BigInt(e.amount);
  const size = amount < 0n ? -amount : amount;
  if (size < 1n || size > MAX_AMOUNT) return `amount must be from 1 to ${MAX_AMOUNT} credits, signed`;
  if ((e.kind === 'TOP_UP') !== amount > 0n) return 'amount must be positive for a TOP_UP and negative for a BURN';
  if (e.kind === 'TOP_UP' && e.surface !== null) return 'a TOP_UP is the owner\'s: surface must be null';
  if (e.reason.trim().length === 0 || e.reason.length > 200 || textProblem(e.reason, { nfc: true }) !== null) return 'reason must be 1 to 200 printable characters in Unicode normal form NFC';
  if (e.idempotencyKey.length === 0 || e.idempotencyKey.length > 128 || identifierProblem(e.idempotencyKey) !== null) return 'idempotencyKey must be 1 to 128 printable characters in NFKC, with no invisible ones';
  return null;
}

/** A record line as a record to store, validated as remember validates one, its vector exactly as exported. */
export function checkedRecord(r: RecordLine, dimension: number): CheckedRecord {
  const [prepared] = prepareRecords(
    [{ id: r.id, kind: r.kind, text: r.text, metadata: r.metadata, occurredAt: new Date(r.occurredAt), vectorBase64: r.unitBase64 ?? r.vectorBase64 }],
    dimension,
  );
  if (!prepared) throw new ExportFileError(0, 'record: nothing to store');
  let { unit, norm } = prepared;
  if (r.vectorBase64 === null) {
    if (r.norm !== null || r.unitBase64 !== undefined) throw new ExportFileError(0, 'record: a text-only record (vectorBase64 null) has norm null and no unitBase64');
  } else {
    if (r.norm === null || !Number.isFinite(r.norm)) throw new ExportFileError(0, 'record: norm must be the vector\'s length, a positive number');
    const vector = decodeVectorBase64(r.vectorBase64, dimension, 'vectorBase64');
    unit = r.unitBase64 !== undefined ? decodeVectorBase64(r.unitBase64, dimension, 'unitBase64') : unitOf(vector, r.norm);
    norm = r.norm;
    let length = 0;
    for (const x of unit) length += x * x;
    // A norm that is not the vector's length would store a direction that is not one: cosine distances would lie.
    if (!(Math.abs(Math.sqrt(length) - 1) < 1e-3)) throw new ExportFileError(0, 'record: norm is not the length of vectorBase64 (nor unitBase64 a unit vector)');
  }
  return { store: r.store, writer: r.writer, record: { ...prepared, unit, norm, createdAt: Date.parse(r.createdAt) } };
}

/** An API validator's complaint as the line's: "records[0].kind must …" reads "kind must …". */
function asFileError(error: unknown, line: number, type: string): unknown {
  if (error instanceof ExportFileError && error.line === 0) return new ExportFileError(line, error.message);
  if (error instanceof NexusError) return new ExportFileError(line, `${type} line: ${error.message.replace(/^records\[0\]\./, '')}`);
  return error;
}

/**
 * The lines of an export, each checked, in order. Throws ExportFileError naming the line at the first problem, and
 * at the end when the file stops before its end line (a cut export) or its counts differ. `summary` is filled as
 * the lines go by; complete once the end line has passed.
 */
export async function* checkedLines(lines: AsyncIterable<string>, dimension: number, summary: { value?: ExportSummary } = {}): AsyncGenerator<CheckedLine> {
  let previous: LineType | null = null;
  let n = 0;
  let vectorDimension = 0;
  let identity: ExportLineOf<'identity'> | null = null;
  let balance = 0n;
  let running = 0n;
  const domains = new Map<string, ExportLineOf<'domain'>>();
  const surfaces = new Map<string, ExportLineOf<'surface'>>();
  const mounts: ExportLineOf<'mount'>[] = [];
  const mounted = new Set<string>();
  // Record ids per store: one id once in a store.
  const ids = new Map<string, Set<string>>();
  let ledgerEntries = 0;
  let records = 0;
  let ended = false;
  for await (const text of lines) {
    n += 1;
    if (text.trim() === '') continue;
    const line = parseLine(text, n);
    checkOrder(previous, line.type, n);
    previous = line.type;
    try {
      switch (line.type) {
        case 'nexus-export':
          if (line.vectorDimension !== dimension) {
            throw new ExportFileError(n, `its vectors have ${line.vectorDimension} dimensions and this deployment's ${dimension} (NEXUS_VECTOR_DIM): they cannot be imported here`);
          }
          vectorDimension = line.vectorDimension;
          break;
        case 'tenant':
          assertKey(line.id, 'id');
          break;
        case 'identity':
          normaliseEmail(line.email);
          if (line.displayName !== null) cleanName(line.displayName, 'displayName');
          identity = line;
          break;
        case 'domain':
          assertKey(line.key, 'key');
          cleanName(line.name, 'name');
          if (domains.has(line.key)) throw new ExportFileError(n, `domain ${line.key} appears twice`);
          domains.set(line.key, line);
          break;
        case 'surface':
          assertKey(line.key, 'key');
          cleanName(line.name, 'name');
          if (surfaces.has(line.key)) throw new ExportFileError(n, `surface ${line.key} appears twice`);
          if (!domains.has(line.homeDomain)) throw new ExportFileError(n, `surface ${line.key}: its home domain ${line.homeDomain} is not among the domains`);
          surfaces.set(line.key, line);
          break;
        case 'mount': {
          const surface = surfaces.get(line.surface);
          if (!surface) throw new ExportFileError(n, `mount of an unknown surface ${line.surface}`);
          if (!domains.has(line.domain)) throw new ExportFileError(n, `mount of an unknown domain ${line.domain}`);
          if (mounted.has(`${line.surface}/${line.domain}`)) throw new ExportFileError(n, `mount ${line.surface} → ${line.domain} appears twice`);
          if (surface.homeDomain === line.domain && line.access !== 'READ_WRITE') throw new ExportFileError(n, `surface ${line.surface}: its home domain is always mounted READ_WRITE`);
          mounted.add(`${line.surface}/${line.domain}`);
          mounts.push(line);
          break;
        }
        case 'wallet':
          balance = BigInt(line.balance);
          if (balance < 0n) throw new ExportFileError(n, 'wallet: balance must not be negative');
          break;
        case 'ledger': {
          const problem = ledgerProblem(line);
          if (problem) throw new ExportFileError(n, `ledger line: ${problem}`);
          if (line.surface !== null && !surfaces.has(line.surface)) throw new ExportFileError(n, `ledger line: unknown surface ${line.surface}`);
          running += BigInt(line.amount);
          if (BigInt(line.balanceAfter) !== running || running < 0n) throw new ExportFileError(n, `ledger line: balanceAfter ${line.balanceAfter} does not follow from the entries before it (${running})`);
          ledgerEntries += 1;
          break;
        }
        case 'record': {
          const { store, writer } = line;
          if (store.scope === 'DOMAIN' && !domains.has(store.domain)) throw new ExportFileError(n, `record in an unknown domain ${store.domain}`);
          if (store.scope === 'SURFACE' && !surfaces.has(store.surface)) throw new ExportFileError(n, `record in the store of an unknown surface ${store.surface}`);
          if (writer !== null && !surfaces.has(writer)) throw new ExportFileError(n, `record written by an unknown surface ${writer}`);
          const record = checkedRecord(line, dimension);
          const name = storeName(store);
          const seen = ids.get(name) ?? new Set<string>();
          ids.set(name, seen);
          if (seen.has(line.id)) throw new ExportFileError(n, `record ${line.id} appears twice in ${name}`);
          seen.add(line.id);
          records += 1;
          yield { line, record };
          continue;
        }
        case 'end':
          if (balance !== running) throw new ExportFileError(n, `the wallet balance ${balance} is not the ledger's sum (${running})`);
          if (line.ledgerEntries !== ledgerEntries || line.records !== records) {
            throw new ExportFileError(n, `the end line counts ${line.ledgerEntries} ledger entries and ${line.records} records; the file holds ${ledgerEntries} and ${records}`);
          }
          if (!identity) throw new ExportFileError(n, 'no identity line');
          ended = true;
          summary.value = { vectorDimension, identity, domains: [...domains.values()], surfaces: [...surfaces.values()], mounts, balance, ledgerEntries, records };
          break;
      }
    } catch (error) {
      throw asFileError(error, n, line.type);
    }
    yield { line } as CheckedLine;
  }
  if (!ended) throw new ExportFileError(0, n === 0 ? 'the file is empty: not an export' : `the file stops after line ${n}, before its end line: a cut export is not imported`);
}
