// Text the server embeds on a viewer's behalf, paid for from the tenant's one wallet: "running a model burns
// credits". The only way remember and search reach the embedder.
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Viewer } from '../auth/viewer.js';
import { burnCredits, type CreditRequest } from '../billing/credits.js';
import type { CreditMeter } from '../billing/credit-meter.js';
import { EmbedderUnavailableError, InsufficientCreditsError } from '../errors.js';
import type { Embedder } from './embedder.js';

export interface MeteredEmbedding {
  readonly embedder: Embedder | null;
  readonly db: { readonly prisma: PrismaClient };
  readonly config: { readonly embedder: { readonly creditsPerEmbedding: bigint } };
  /** Told of each burn once it is committed (the server's metrics). */
  readonly creditMeter?: CreditMeter;
}

/** The burn for `count` embeddings made for the viewer (the surface is recorded in the ledger); null when free. */
export function embeddingBurn(deps: MeteredEmbedding, viewer: Viewer, count: number, purpose: 'remember' | 'search'): CreditRequest | null {
  const amount = deps.config.embedder.creditsPerEmbedding * BigInt(count);
  if (amount === 0n) return null;
  return {
    tenantId: viewer.tenantId,
    surfaceId: viewer.surface?.id ?? null,
    amount,
    reason: `embedding: ${count} text${count === 1 ? '' : 's'} (${purpose})`,
    // Each embedding is paid once: a fresh key, so no two requests ever share a burn.
    idempotencyKey: `embedding:${randomUUID()}`,
  };
}

/**
 * INSUFFICIENT_CREDITS before any model runs when the wallet cannot pay for the burn at all, so a tenant at zero
 * cannot make the server call a paid model. (The burn itself still decides: concurrent requests may pass this.)
 */
export async function assertCanPay(deps: MeteredEmbedding, burn: CreditRequest | null): Promise<void> {
  if (!burn) return;
  const wallet = await deps.db.prisma.wallet.findUnique({ where: { tenantId: burn.tenantId }, select: { balance: true } });
  if (!wallet || wallet.balance < burn.amount) throw new InsufficientCreditsError(`the wallet balance is too low for the ${burn.reason}`);
}

/** Embeds texts with the server's embedder; a zero vector (no direction to compare) counts as a failed answer. */
export async function embedTexts(embedder: Embedder, texts: readonly string[]): Promise<Float32Array[]> {
  const vectors = await embedder.embed(texts);
  if (vectors.some((v) => v.every((x) => x === 0))) throw new EmbedderUnavailableError('the embedding service returned a zero vector: nothing was written; try again, or send a vector');
  return vectors;
}

/**
 * Embeds search texts and burns their credits before the search runs (INSUFFICIENT_CREDITS: no search). The model
 * has then run, so the burn stands whatever the search answers.
 */
export async function embedQueries(deps: MeteredEmbedding, viewer: Viewer, texts: readonly string[]): Promise<Float32Array[]> {
  if (!deps.embedder) throw new Error('no embedder is configured');
  const burn = embeddingBurn(deps, viewer, texts.length, 'search');
  await assertCanPay(deps, burn);
  const vectors = await embedTexts(deps.embedder, texts);
  if (burn) await burnCredits(deps.db.prisma, burn, deps.creditMeter);
  return vectors;
}

/**
 * Runs a write with its burn, all or nothing: the burn is made in a transaction that commits only once the write
 * has succeeded, and holds the wallet's row lock meanwhile (so no concurrent burn can spend the same credits).
 */
export async function withBurn<T>(prisma: PrismaClient, burn: CreditRequest | null, write: () => Promise<T>, meter?: CreditMeter): Promise<T> {
  if (!burn) return write();
  const result = await prisma.$transaction(
    async (tx) => {
      await burnCredits(tx, burn);
      return write();
    },
    { maxWait: 10_000, timeout: 120_000 },
  );
  // Counted once committed: a burn rolled back with its failed write moved no credits.
  meter?.applied('BURN', burn.amount);
  return result;
}
