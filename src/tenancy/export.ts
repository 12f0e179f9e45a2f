// Everything a person owns, as the JSON Lines of export-lines.ts: the control plane, the whole ledger paged by seq,
// and every record of every store (domains, global, each surface's private store), read only as the reader asks.
import type { PrismaClient } from '../generated/prisma/client.js';
import { NotFoundError } from '../errors.js';
import { isKey } from '../auth/identifiers.js';
import type { StoreRef } from '../vectors/layout.js';
import { float32Base64, type StoredRecord } from '../vectors/records.js';
import type { VectorStores } from '../vectors/store.js';
import { EXPORT_VERSION, writtenVector, type ExportLine, type ExportStore, type RecordLine } from './export-lines.js';

export interface ExportDeps {
  readonly prisma: PrismaClient;
  readonly vectors: Pick<VectorStores, 'scanStore'>;
  readonly vectorDimension: number;
}

const LEDGER_PAGE = 1000;
// Lines are handed on in pieces of about this many characters: few enough writes, little held at once.
const CHUNK_CHARS = 64 * 1024;

const iso = (date: Date) => date.toISOString();

/**
 * A scan's batches as an iterator that reads the next batch only when asked for it: the scan waits inside onBatch
 * until its batch has been taken and the next one is wanted. Ending the iteration early stops the scan.
 */
export async function* pulled<T>(scan: (onBatch: (batch: T) => Promise<void>) => Promise<unknown>): AsyncGenerator<T> {
  interface Offer {
    batch: T;
    resume(): void;
    stop(reason: Error): void;
  }
  const state: { offer: Offer | null; finished: boolean; wake: (() => void) | null } = { offer: null, finished: false, wake: null };
  const wakeUp = () => {
    const wake = state.wake;
    state.wake = null;
    wake?.();
  };
  const scanning = scan((batch) => new Promise<void>((resume, stop) => {
    state.offer = { batch, resume, stop };
    wakeUp();
  })).finally(() => {
    state.finished = true;
    wakeUp();
  });
  // Observed here; its outcome is awaited below.
  scanning.catch(() => undefined);
  let current: Offer | null = null;
  try {
    for (;;) {
      if (!state.offer && !state.finished) await new Promise<void>((resolve) => (state.wake = resolve));
      current = state.offer;
      state.offer = null;
      if (!current) {
        await scanning;
        return;
      }
      yield current.batch;
      current.resume();
      current = null;
    }
  } finally {
    // Ended early (the reader went away): the scan's pending onBatch fails, which ends the scan and frees its table.
    const waiting = current ?? state.offer;
    if (waiting) {
      waiting.stop(new Error('the export was ended by its reader'));
      await scanning.catch(() => undefined);
    }
  }
}

/** A record as an export line; writers are named by surface key (one since removed: null, as the API shows it). */
export function recordLine(record: StoredRecord, store: ExportStore, surfaceKeys: ReadonlyMap<string, string>): RecordLine {
  const line: RecordLine = {
    type: 'record',
    store,
    id: record.id,
    kind: record.kind,
    text: record.text,
    metadata: record.metadata,
    occurredAt: iso(record.occurredAt),
    createdAt: iso(record.createdAt),
    writer: (record.writerSurfaceId !== null ? surfaceKeys.get(record.writerSurfaceId) : undefined) ?? null,
    vectorBase64: null,
    norm: null,
  };
  if (record.unit) {
    const { vector, exact } = writtenVector(record.unit, record.norm);
    line.vectorBase64 = float32Base64(vector);
    line.norm = record.norm;
    if (!exact) line.unitBase64 = float32Base64(record.unit);
  }
  return line;
}

/** The lines of a tenant's export, from the header to the end line. NOT_FOUND for a tenant that does not exist. */
export async function* exportLines(deps: ExportDeps, tenantId: string, now = new Date()): AsyncGenerator<ExportLine> {
  const { prisma } = deps;
  if (!isKey(tenantId)) throw new NotFoundError('tenant', tenantId.slice(0, 64));
  const tenant = await prisma.tenant.findUnique({
    where: { id: tenantId },
    select: {
      id: true,
      createdAt: true,
      identity: { select: { email: true, displayName: true } },
      domains: { select: { key: true, name: true, createdAt: true }, orderBy: { key: 'asc' } },
      surfaces: {
        select: {
          id: true,
          key: true,
          name: true,
          kind: true,
          createdAt: true,
          homeDomain: { select: { key: true } },
          mounts: { select: { access: true, domain: { select: { key: true } } } },
        },
        orderBy: { key: 'asc' },
      },
    },
  });
  if (!tenant?.identity) throw new NotFoundError('tenant', tenantId);
  // The balance and the last entry it counts, in one statement: a burn made meanwhile is in neither (burns of a
  // wallet serialise on its row, so seq order is commit order).
  const [wallet] = await prisma.$queryRaw<{ id: string; balance: bigint | string; lastSeq: bigint | string | null }[]>`
    SELECT w.id, w.balance, (SELECT max(e.seq) FROM "LedgerEntry" e WHERE e."walletId" = w.id) AS "lastSeq"
    FROM "Wallet" w WHERE w."tenantId" = ${tenantId}`;
  if (!wallet) throw new NotFoundError('wallet', tenantId);

  yield { type: 'nexus-export', version: EXPORT_VERSION, exportedAt: iso(now), vectorDimension: deps.vectorDimension };
  yield { type: 'tenant', id: tenant.id, createdAt: iso(tenant.createdAt) };
  yield { type: 'identity', email: tenant.identity.email, displayName: tenant.identity.displayName };
  for (const d of tenant.domains) yield { type: 'domain', key: d.key, name: d.name, createdAt: iso(d.createdAt) };
  for (const s of tenant.surfaces) yield { type: 'surface', key: s.key, name: s.name, kind: s.kind, homeDomain: s.homeDomain.key, createdAt: iso(s.createdAt) };
  for (const s of tenant.surfaces) {
    const mounts = [...s.mounts].sort((a, b) => (a.domain.key < b.domain.key ? -1 : 1));
    for (const m of mounts) yield { type: 'mount', surface: s.key, domain: m.domain.key, access: m.access };
  }
  yield { type: 'wallet', balance: BigInt(wallet.balance).toString() };

  const surfaceKeys = new Map(tenant.surfaces.map((s) => [s.id, s.key]));
  let ledgerEntries = 0;
  if (wallet.lastSeq !== null) {
    const last = BigInt(wallet.lastSeq);
    let after = -1n;
    for (;;) {
      const page = await prisma.ledgerEntry.findMany({ where: { walletId: wallet.id, seq: { gt: after, lte: last } }, orderBy: { seq: 'asc' }, take: LEDGER_PAGE });
      for (const e of page) {
        yield {
          type: 'ledger',
          kind: e.kind,
          amount: e.amount.toString(),
          balanceAfter: e.balanceAfter.toString(),
          reason: e.reason,
          idempotencyKey: e.idempotencyKey,
          surface: (e.surfaceId !== null ? surfaceKeys.get(e.surfaceId) : undefined) ?? null,
          createdAt: iso(e.createdAt),
        };
      }
      ledgerEntries += page.length;
      const tail = page.at(-1);
      if (!tail || page.length < LEDGER_PAGE) break;
      after = tail.seq;
    }
  }

  const stores: [StoreRef, ExportStore][] = [
    ...tenant.domains.map((d): [StoreRef, ExportStore] => [{ scope: 'DOMAIN', tenantId, domainKey: d.key }, { scope: 'DOMAIN', domain: d.key }]),
    [{ scope: 'GLOBAL', tenantId }, { scope: 'GLOBAL' }],
    ...tenant.surfaces.map((s): [StoreRef, ExportStore] => [{ scope: 'SURFACE', tenantId, surfaceKey: s.key }, { scope: 'SURFACE', surface: s.key }]),
  ];
  let records = 0;
  for (const [ref, store] of stores) {
    for await (const batch of pulled<StoredRecord[]>((onBatch) => deps.vectors.scanStore(ref, onBatch))) {
      for (const record of batch) {
        records += 1;
        yield recordLine(record, store, surfaceKeys);
      }
    }
  }
  yield { type: 'end', records, ledgerEntries };
}

/** The lines as text, one JSON object per line, handed on a few dozen KiB at a time. */
export async function* exportText(lines: AsyncIterable<ExportLine>): AsyncGenerator<string> {
  let text = '';
  for await (const line of lines) {
    text += `${JSON.stringify(line)}\n`;
    if (text.length >= CHUNK_CHARS) {
      yield text;
      text = '';
    }
  }
  if (text) yield text;
}

/**
 * The export as a byte stream that pulls: the next lines are read (from the database, from the stores) only when
 * the consumer wants more, so memory stays flat however large the tenant. A failure midway errors the stream (the
 * reader sees no end line); an abort of `signal` (the client went away) or a cancel ends the reading.
 */
export function exportStream(lines: AsyncIterable<ExportLine>, options: { signal?: AbortSignal; onError?: (error: unknown) => void } = {}): ReadableStream<Uint8Array> {
  const text = exportText(lines);
  const encoder = new TextEncoder();
  const stop = () => void text.return(undefined).catch(() => undefined);
  options.signal?.addEventListener('abort', stop, { once: true });
  const done = () => options.signal?.removeEventListener('abort', stop);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await text.next();
        if (next.done) {
          done();
          controller.close();
        } else controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        done();
        options.onError?.(error);
        controller.error(error);
      }
    },
    cancel() {
      done();
      stop();
    },
  });
}
