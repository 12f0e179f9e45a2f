// tenant:import: an export restored into a fresh tenant. The file is read twice: checked whole first (a bad or cut
// file writes nothing), then written: the control plane in one transaction, then every record into its store. If a
// record write fails, the half-made tenant is removed (its rows and its stores' files) before the error is raised.
import { randomUUID } from 'node:crypto';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { ConflictError } from '../errors.js';
import { newTenantId, normaliseEmail } from '../auth/identifiers.js';
import { newToken } from '../auth/tokens.js';
import { isUniqueViolation } from '../db/errors.js';
import { storeKey, tenantSegments, type StoreRef } from '../vectors/layout.js';
import type { ObjectStorage } from '../vectors/objects.js';
import { MAX_RECORDS_PER_BATCH } from '../vectors/records.js';
import type { RestoredRecord, VectorStores } from '../vectors/store.js';
import type { ExportStore } from './export-lines.js';
import { checkedLines, type CheckedLine, type ExportSummary } from './import-lines.js';

export interface ImportDeps {
  readonly prisma: PrismaClient;
  readonly vectors: Pick<VectorStores, 'restore' | 'releaseStores' | 'indexIdle'>;
  readonly objects: Pick<ObjectStorage, 'removeAll'>;
  readonly vectorDimension: number;
}

export interface ImportOptions {
  /** Another address for the imported identity (the export's may belong to a tenant here already). */
  readonly email?: string | null;
  /** Told the records written so far, after each batch. */
  readonly onProgress?: (records: number, total: number) => void;
}

export interface ImportReport {
  readonly tenantId: string;
  /** The new owner token: shown once, like signUp's. */
  readonly ownerToken: string;
  readonly email: string;
  readonly domains: number;
  readonly surfaces: number;
  readonly ledgerEntries: number;
  readonly records: number;
  /** Every store written, with how many records it got. */
  readonly stores: readonly { readonly store: StoreRef; readonly records: number }[];
}

/** The export's lines, read afresh on each call (the file is read twice). */
export type LineSource = () => AsyncIterable<string>;

const LEDGER_BATCH = 1000;

/** Reads the whole export and checks every line; answers what the small part of it holds. Writes nothing. */
export async function checkExport(source: LineSource, dimension: number): Promise<ExportSummary> {
  const summary: { value?: ExportSummary } = {};
  for await (const _ of checkedLines(source(), dimension, summary)) void _;
  if (!summary.value) throw new Error('the export was read to its end without a summary');
  return summary.value;
}

function storeRef(tenantId: string, store: ExportStore): StoreRef {
  if (store.scope === 'DOMAIN') return { scope: 'DOMAIN', tenantId, domainKey: store.domain };
  if (store.scope === 'SURFACE') return { scope: 'SURFACE', tenantId, surfaceKey: store.surface };
  return { scope: 'GLOBAL', tenantId };
}

/** The control plane of the new tenant, with new ids throughout; the ledger streams in from the lines. */
async function createControlPlane(
  tx: Prisma.TransactionClient,
  plan: { tenantId: string; email: string; ownerHash: string; summary: ExportSummary; surfaceIds: ReadonlyMap<string, string> },
  lines: AsyncIterator<CheckedLine>,
  first: IteratorResult<CheckedLine>,
): Promise<IteratorResult<CheckedLine>> {
  const { tenantId, summary, surfaceIds } = plan;
  const walletId = randomUUID();
  const domainIds = new Map(summary.domains.map((d) => [d.key, randomUUID()]));
  const idOf = (ids: ReadonlyMap<string, string>, key: string) => {
    const id = ids.get(key);
    if (!id) throw new Error(`no id for ${key}`);
    return id;
  };
  await tx.tenant.create({
    data: {
      id: tenantId,
      identity: { create: { email: plan.email, displayName: summary.identity.displayName } },
      wallet: { create: { id: walletId, balance: summary.balance } },
      tokens: { create: { role: 'OWNER', hash: plan.ownerHash } },
    },
  });
  await tx.domain.createMany({ data: summary.domains.map((d) => ({ id: idOf(domainIds, d.key), tenantId, key: d.key, name: d.name, createdAt: new Date(d.createdAt) })) });
  await tx.surface.createMany({
    data: summary.surfaces.map((s) => ({ id: idOf(surfaceIds, s.key), tenantId, key: s.key, name: s.name, kind: s.kind, homeDomainId: idOf(domainIds, s.homeDomain), createdAt: new Date(s.createdAt) })),
  });
  await tx.mount.createMany({ data: summary.mounts.map((m) => ({ surfaceId: idOf(surfaceIds, m.surface), domainId: idOf(domainIds, m.domain), access: m.access })) });
  // Oldest first, as the export holds them: new entries take new ids and seq in the same order.
  let page: Prisma.LedgerEntryCreateManyInput[] = [];
  let next = first;
  for (; !next.done && next.value.line.type === 'ledger'; next = await lines.next()) {
    const e = next.value.line;
    page.push({
      walletId,
      kind: e.kind,
      amount: BigInt(e.amount),
      balanceAfter: BigInt(e.balanceAfter),
      reason: e.reason,
      idempotencyKey: e.idempotencyKey,
      surfaceId: e.surface === null ? null : idOf(surfaceIds, e.surface),
      createdAt: new Date(e.createdAt),
    });
    if (page.length === LEDGER_BATCH) {
      await tx.ledgerEntry.createMany({ data: page });
      page = [];
    }
  }
  if (page.length > 0) await tx.ledgerEntry.createMany({ data: page });
  return next;
}

/** Removes a half-made tenant: its stores' files first (as erasure does), then its rows. */
async function removeTenant(deps: ImportDeps, tenantId: string): Promise<void> {
  deps.vectors.releaseStores(tenantSegments(tenantId).join('/'));
  await deps.vectors.indexIdle();
  await deps.objects.removeAll(tenantSegments(tenantId));
  await deps.prisma.$transaction([
    // Surfaces before domains: a surface's home domain may not go first (ON DELETE RESTRICT).
    deps.prisma.surface.deleteMany({ where: { tenantId } }),
    deps.prisma.tenant.deleteMany({ where: { id: tenantId } }),
  ]);
}

/**
 * Imports an export into a new tenant. CONFLICT when its email (or options.email) already has a tenant here;
 * ExportFileError for a file that is not a complete, valid export (nothing is written then).
 */
export async function importTenant(deps: ImportDeps, source: LineSource, options: ImportOptions = {}): Promise<ImportReport> {
  const summary = await checkExport(source, deps.vectorDimension);
  const email = normaliseEmail(options.email ?? summary.identity.email);
  const taken = () => new ConflictError(`a tenant with the email ${email} exists already`);
  if (await deps.prisma.identity.findUnique({ where: { email }, select: { id: true } })) throw taken();
  const tenantId = newTenantId();
  const owner = newToken('owner');
  const surfaceIds = new Map(summary.surfaces.map((s) => [s.key, randomUUID()]));

  const lines = checkedLines(source(), deps.vectorDimension)[Symbol.asyncIterator]();
  let next = await lines.next();
  while (!next.done && !['ledger', 'record', 'end'].includes(next.value.line.type)) next = await lines.next();
  try {
    const head = next;
    next = await deps.prisma.$transaction((tx) => createControlPlane(tx, { tenantId, email, ownerHash: owner.hash, summary, surfaceIds }, lines, head), {
      maxWait: 10_000,
      timeout: 24 * 3600_000,
    });
  } catch (error) {
    await lines.return?.(undefined);
    if (isUniqueViolation(error)) throw taken();
    throw error;
  }

  let written = 0;
  const stores = new Map<string, { store: StoreRef; records: number }>();
  try {
    let batch: RestoredRecord[] = [];
    let batchStore: StoreRef | null = null;
    const flush = async () => {
      if (!batchStore || batch.length === 0) return;
      await deps.vectors.restore(batchStore, batch);
      written += batch.length;
      const key = storeKey(batchStore);
      stores.set(key, { store: batchStore, records: (stores.get(key)?.records ?? 0) + batch.length });
      options.onProgress?.(written, summary.records);
      batch = [];
    };
    for (; !next.done && 'record' in next.value; next = await lines.next()) {
      const { store, writer, record } = next.value.record;
      const ref = storeRef(tenantId, store);
      if (batchStore === null || storeKey(ref) !== storeKey(batchStore) || batch.length === MAX_RECORDS_PER_BATCH) {
        await flush();
        batchStore = ref;
      }
      batch.push({ ...record, writerSurfaceId: writer === null ? null : (surfaceIds.get(writer) ?? null) });
    }
    await flush();
    // The end line: its counts are checked as it passes.
    while (!next.done) next = await lines.next();
  } catch (error) {
    await lines.return?.(undefined);
    try {
      await removeTenant(deps, tenantId);
    } catch (cleanup) {
      const why = (e: unknown) => (e instanceof Error ? e.message : String(e));
      throw new Error(`${why(error)}; removing the half-made tenant ${tenantId} failed too (${why(cleanup)}): erase it by hand`);
    }
    throw error;
  }
  return { tenantId, ownerToken: owner.token, email, domains: summary.domains.length, surfaces: summary.surfaces.length, ledgerEntries: summary.ledgerEntries, records: written, stores: [...stores.values()] };
}
