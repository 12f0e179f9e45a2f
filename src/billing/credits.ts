// The one wallet of a tenant and its append-only ledger. Every balance change is
// one SQL statement that updates the wallet and appends the entry together.
import { randomUUID } from 'node:crypto';
import type { LedgerEntry, PrismaClient, Wallet } from '../generated/prisma/client.js';
import { BadUserInputError, ConflictError, InsufficientCreditsError, NotFoundError } from '../errors.js';
import { isUuid } from '../auth/identifiers.js';
import { identifierProblem, textProblem } from '../text.js';
import { isUniqueViolation } from '../db/errors.js';
import type { CreditMeter } from './credit-meter.js';

export const MAX_AMOUNT = 10n ** 15n;
// int8 holds 9.22e18; keep well clear so a top-up can never overflow.
const MAX_BALANCE = 9n * 10n ** 18n;

export type CreditKind = 'BURN' | 'TOP_UP';

/** What a balance change needs of the database: the client, or a transaction (a burn made with a write). */
export type CreditsClient = Pick<PrismaClient, '$queryRaw' | 'wallet' | 'ledgerEntry'>;

export interface CreditRequest {
  tenantId: string;
  /** The surface that burns; null for the owner. */
  surfaceId: string | null;
  amount: bigint;
  reason: string;
  idempotencyKey: string;
}

export interface CreditResult {
  wallet: Wallet;
  entry: LedgerEntry;
  /** False when an earlier request with the same key is being returned. */
  created: boolean;
}

function validate(req: CreditRequest): void {
  if (req.amount <= 0n || req.amount > MAX_AMOUNT) throw new BadUserInputError(`amount must be a whole number from 1 to ${MAX_AMOUNT}`, 'amount');
  // PostgreSQL text cannot hold NUL, and an audit trail must read as what it holds (src/text.ts).
  if (req.reason.trim().length === 0 || req.reason.length > 200 || textProblem(req.reason, { nfc: true }) !== null) {
    throw new BadUserInputError('reason must be 1 to 200 printable characters in Unicode normal form NFC', 'reason');
  }
  // Keys are compared byte for byte: "k\ud800" and "k\udc00" must not both become "k\ufffd" on the way to the database.
  if (req.idempotencyKey.length === 0 || req.idempotencyKey.length > 128 || identifierProblem(req.idempotencyKey) !== null) {
    throw new BadUserInputError('idempotencyKey must be 1 to 128 printable characters in Unicode normal form NFKC, with no invisible ones', 'idempotencyKey');
  }
}

async function walletOf(prisma: CreditsClient, tenantId: string): Promise<Wallet> {
  const wallet = await prisma.wallet.findUnique({ where: { tenantId } });
  if (!wallet) throw new NotFoundError('wallet', tenantId);
  return wallet;
}

/**
 * Applies a burn or a top-up exactly once per (wallet, idempotencyKey).
 * The UPDATE takes the wallet's row lock, so concurrent burns serialise on it and
 * the `balance >= amount` test sees the committed balance: no overdraft, no retry.
 */
async function apply(prisma: CreditsClient, kind: CreditKind, req: CreditRequest, meter?: CreditMeter): Promise<CreditResult> {
  validate(req);
  const delta = kind === 'BURN' ? -req.amount : req.amount;
  let inserted: AppliedRow[] = [];
  try {
    // The wallet is found by its unique tenant id inside the statement: one round trip on success.
    inserted = await prisma.$queryRaw<AppliedRow[]>`
      WITH changed AS (
        UPDATE "Wallet" SET balance = balance + ${delta}, "updatedAt" = now()
        WHERE "tenantId" = ${req.tenantId}
          AND balance + ${delta} >= 0
          AND balance + ${delta} <= ${MAX_BALANCE}
        RETURNING id, "createdAt", "updatedAt", balance
      ), inserted AS (
        INSERT INTO "LedgerEntry" (id, "walletId", kind, amount, "balanceAfter", reason, "idempotencyKey", "surfaceId", "createdAt")
        SELECT ${randomUUID()}, changed.id, ${kind}::"LedgerKind", ${delta}, changed.balance, ${req.reason}, ${req.idempotencyKey}, ${req.surfaceId}, now()
        FROM changed
        RETURNING *
      )
      SELECT inserted.*, changed."createdAt" AS "walletCreatedAt", changed."updatedAt" AS "walletUpdatedAt"
      FROM inserted CROSS JOIN changed`;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
  }
  const row = inserted[0];
  if (row) {
    const { walletCreatedAt, walletUpdatedAt, ...entry } = row;
    const created = normalise(entry);
    const wallet: Wallet = { id: created.walletId, tenantId: req.tenantId, balance: created.balanceAfter, createdAt: new Date(walletCreatedAt), updatedAt: new Date(walletUpdatedAt) };
    meter?.applied(kind, req.amount);
    return { wallet, entry: created, created: true };
  }
  // Nothing written: either the key was used before (return that entry) or the balance did not allow it.
  const wallet = await walletOf(prisma, req.tenantId);
  const earlier = await prisma.ledgerEntry.findUnique({ where: { walletId_idempotencyKey: { walletId: wallet.id, idempotencyKey: req.idempotencyKey } } });
  if (earlier) {
    if (earlier.kind !== kind || earlier.amount !== delta || earlier.surfaceId !== req.surfaceId || earlier.reason !== req.reason) {
      throw new ConflictError('this idempotencyKey was already used for a different request');
    }
    return { wallet, entry: earlier, created: false };
  }
  if (kind === 'BURN') throw new InsufficientCreditsError();
  throw new BadUserInputError('this top-up would take the balance over its maximum', 'amount');
}

type AppliedRow = LedgerEntry & { walletCreatedAt: Date | string; walletUpdatedAt: Date | string };

// Raw rows carry the columns as the driver decoded them; make them match the model's types.
function normalise(row: LedgerEntry): LedgerEntry {
  return {
    ...row,
    seq: BigInt(row.seq),
    amount: BigInt(row.amount),
    balanceAfter: BigInt(row.balanceAfter),
    createdAt: new Date(row.createdAt),
  };
}

export const burnCredits = (prisma: CreditsClient, req: CreditRequest, meter?: CreditMeter) => apply(prisma, 'BURN', req, meter);
export const topUpCredits = (prisma: CreditsClient, req: CreditRequest, meter?: CreditMeter) => apply(prisma, 'TOP_UP', { ...req, surfaceId: null }, meter);

export interface LedgerPage {
  walletId: string;
  first: number;
  /** Only this surface's entries (a surface token); undefined for the owner. */
  surfaceId?: string;
  /** Entries strictly older than this entry id (a cursor that stays put under concurrent inserts). */
  after?: string | null;
}

export async function ledger(prisma: PrismaClient, page: LedgerPage): Promise<LedgerEntry[]> {
  if (!Number.isInteger(page.first) || page.first < 1 || page.first > 100) throw new BadUserInputError('first must be from 1 to 100', 'first');
  let before: bigint | undefined;
  if (page.after != null) {
    if (!isUuid(page.after)) throw new NotFoundError('ledger entry', page.after.slice(0, 64));
    const cursor = await prisma.ledgerEntry.findFirst({
      where: { id: page.after, walletId: page.walletId, ...(page.surfaceId ? { surfaceId: page.surfaceId } : {}) },
      select: { seq: true },
    });
    if (!cursor) throw new NotFoundError('ledger entry', page.after);
    before = cursor.seq;
  }
  return prisma.ledgerEntry.findMany({
    where: {
      walletId: page.walletId,
      ...(page.surfaceId ? { surfaceId: page.surfaceId } : {}),
      ...(before !== undefined ? { seq: { lt: before } } : {}),
    },
    orderBy: { seq: 'desc' },
    take: page.first,
  });
}
