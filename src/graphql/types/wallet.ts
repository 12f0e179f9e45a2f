// Wallet and ledger: burnCredits (any token), topUpCredits (owner), and the
// ledger, which a surface token sees only for its own entries.
import { builder } from '../builder.js';
import { loadRequired } from '../loaders/create-loaders.js';
import { viewerOf } from '../context.js';
import { burnCredits, ledger, topUpCredits } from '../../billing/credits.js';
import { ForbiddenError } from '../../errors.js';

export const LedgerEntryRef = builder.objectType('LedgerEntry', {
  description: 'One change of the balance: positive for a top-up, negative for a burn.',
  fields: (t) => ({
    id: t.exposeID('id'),
    amount: t.expose('amount', { type: 'BigInt' }),
    balanceAfter: t.expose('balanceAfter', { type: 'BigInt' }),
    reason: t.exposeString('reason'),
    idempotencyKey: t.exposeString('idempotencyKey'),
    surface: t.field({
      type: 'Surface',
      nullable: true,
      description: 'The surface that burned; null for the owner.',
      resolve: (e, _args, ctx) => (e.surfaceId ? ctx.loaders.surfaceById.load(e.surfaceId) : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const WalletRef = builder.objectType('Wallet', {
  description: 'The one credit balance of a person; every surface burns from it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    balance: t.expose('balance', { type: 'BigInt' }),
    ledger: t.field({
      type: ['LedgerEntry'],
      description: 'Newest first. The owner sees every entry; a surface token only its own.',
      args: {
        first: t.arg.int({ defaultValue: 20, description: '1 to 100.' }),
        after: t.arg.id({ description: 'Continue after this entry (older ones).' }),
      },
      resolve: (wallet, args, ctx) => {
        const viewer = viewerOf(ctx);
        const page = { walletId: wallet.id, first: args.first ?? 20, after: args.after == null ? null : String(args.after) };
        if (viewer.role === 'OWNER') return ledger(ctx.services.db.prisma, page);
        if (!viewer.surface) throw new ForbiddenError();
        return ledger(ctx.services.db.prisma, { ...page, surfaceId: viewer.surface.id });
      },
    }),
  }),
});

const BurnCreditsInput = builder.inputType('BurnCreditsInput', {
  fields: (t) => ({
    amount: t.field({ type: 'BigInt', required: true, description: '1 to 10^15.' }),
    reason: t.string({ required: true, description: '1 to 200 characters.' }),
    idempotencyKey: t.string({ required: true, description: '1 to 128 characters, unique per wallet: a repeat returns the first entry.' }),
  }),
});

const TopUpCreditsInput = builder.inputType('TopUpCreditsInput', {
  fields: (t) => ({
    amount: t.field({ type: 'BigInt', required: true, description: '1 to 10^15.' }),
    reason: t.string({ required: true }),
    idempotencyKey: t.string({ required: true }),
  }),
});

const CreditPayloadRef = builder
  .objectRef<{ wallet: import('../../generated/prisma/client.js').Wallet; entry: import('../../generated/prisma/client.js').LedgerEntry }>('CreditPayload')
  .implement({
    fields: (t) => ({
      wallet: t.field({ type: 'Wallet', resolve: (p) => p.wallet }),
      entry: t.field({ type: 'LedgerEntry', resolve: (p) => p.entry }),
    }),
  });

builder.queryFields((t) => ({
  wallet: t.field({
    type: 'Wallet',
    description: 'The tenant\'s wallet.',
    resolve: (_root, _args, ctx) => loadRequired(ctx.loaders.walletByTenantId, viewerOf(ctx).tenantId, 'wallet'),
  }),
}));

builder.mutationFields((t) => ({
  burnCredits: t.field({
    type: CreditPayloadRef,
    description: 'Surface or owner. Never overdraws (INSUFFICIENT_CREDITS); idempotent per idempotencyKey.',
    args: { input: t.arg({ type: BurnCreditsInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const viewer = viewerOf(ctx);
      return burnCredits(ctx.services.db.prisma, { ...input, tenantId: viewer.tenantId, surfaceId: viewer.surface?.id ?? null });
    },
  }),
  topUpCredits: t.field({
    type: CreditPayloadRef,
    description: 'Owner only. Idempotent per idempotencyKey.',
    args: { input: t.arg({ type: TopUpCreditsInput, required: true }) },
    resolve: (_root, { input }, ctx) => topUpCredits(ctx.services.db.prisma, { ...input, tenantId: viewerOf(ctx).tenantId, surfaceId: null }),
  }),
}));
