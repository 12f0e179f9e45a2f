// Wallet and ledger: burnCredits (any token), topUpCredits (owner), and the
// ledger, which a surface token sees only for its own entries.
import { builder, type InputFields } from '../builder.js';
import { loadRequired } from '../loaders/create-loaders.js';
import { viewerOf } from '../context.js';
import { burnCredits, ledger, topUpCredits } from '../../billing/credits.js';
import { ForbiddenError } from '../../errors.js';

export const LedgerEntryRef = builder.objectType('LedgerEntry', {
  description: 'One change of the balance, a top-up or a burn. Entries are never changed or removed.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Server-assigned id; pass it as ledger(after:) to read the entries older than this one.' }),
    amount: t.expose('amount', { type: 'BigInt', description: 'Credits: positive for a top-up, negative for a burn.' }),
    balanceAfter: t.expose('balanceAfter', { type: 'BigInt', description: 'The wallet balance right after this entry.' }),
    reason: t.exposeString('reason', { description: 'Why, as the request gave it (1 to 200 characters).' }),
    idempotencyKey: t.exposeString('idempotencyKey', { description: 'The request\'s idempotency key; unique within the wallet.' }),
    surface: t.field({
      type: 'Surface',
      nullable: true,
      description: 'The surface that burned; null for the owner\'s burns and for every top-up.',
      resolve: (e, _args, ctx) => (e.surfaceId ? ctx.loaders.surfaceById.load(e.surfaceId) : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the balance changed.' }),
  }),
});

export const WalletRef = builder.objectType('Wallet', {
  description: 'The one credit balance of a person; the owner tops it up and every surface burns from it.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Server-assigned id.' }),
    balance: t.expose('balance', { type: 'BigInt', description: 'Credits left, never below 0. Every token of the tenant may read it.' }),
    ledger: t.field({
      type: ['LedgerEntry'],
      description: 'Ledger entries, newest first, one page at a time. The owner sees every entry; a surface token only the entries of its own burns.',
      args: {
        first: t.arg.int({ defaultValue: 20, description: 'Page size, 1 to 100 (BAD_USER_INPUT otherwise); default 20.' }),
        after: t.arg.id({
          description: 'The id of the last entry of the previous page: continue with older entries. NOT_FOUND unless it is an entry this token can see. Default: start with the newest.',
        }),
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

/** What a burn and a top-up share: the amount, the reason and the idempotency key (the wording says which). */
const creditFields = (t: InputFields, verb: string, others: string, compared: string) => ({
  amount: t.field({ type: 'BigInt', required: true, description: `Credits to ${verb}, 1 to 10^15, as a decimal string (BAD_USER_INPUT otherwise).` }),
  reason: t.string({
    required: true,
    description: '1 to 200 printable characters in Unicode normal form NFC, not only spaces (BAD_USER_INPUT otherwise); kept on the ledger entry.',
  }),
  idempotencyKey: t.string({
    required: true,
    description: `1 to 128 printable characters in Unicode normal form NFKC with no invisible ones, unique per wallet (${others} included): a repeat returns the first entry and changes nothing; CONFLICT if the first request differed (${compared}).`,
  }),
});

const BurnCreditsInput = builder.inputType('BurnCreditsInput', {
  description: 'Credits to take from the wallet, and why.',
  fields: (t) => creditFields(t, 'burn', 'top-ups', 'kind, amount, reason or surface'),
});

const TopUpCreditsInput = builder.inputType('TopUpCreditsInput', {
  description: 'Credits to add to the wallet, and why.',
  fields: (t) => creditFields(t, 'add', 'burns', 'kind, amount or reason'),
});

const CreditPayloadRef = builder
  .objectRef<{ wallet: import('../../generated/prisma/client.js').Wallet; entry: import('../../generated/prisma/client.js').LedgerEntry }>('CreditPayload')
  .implement({
    description: 'The outcome of a burn or a top-up.',
    fields: (t) => ({
      wallet: t.field({ type: 'Wallet', description: 'The wallet after the change (for a repeated idempotencyKey: as it is now).', resolve: (p) => p.wallet }),
      entry: t.field({ type: 'LedgerEntry', description: 'The ledger entry written; for a repeated idempotencyKey, the original one.', resolve: (p) => p.entry }),
    }),
  });

builder.queryFields((t) => ({
  wallet: t.field({
    type: 'Wallet',
    description: 'The tenant\'s one wallet: any token of the tenant reads its balance.',
    resolve: (_root, _args, ctx) => loadRequired(ctx.loaders.walletByTenantId, viewerOf(ctx).tenantId, 'wallet'),
  }),
}));

builder.mutationFields((t) => ({
  burnCredits: t.field({
    type: CreditPayloadRef,
    description:
      'Any token, surface or owner. Takes amount from the balance; INSUFFICIENT_CREDITS (and nothing written) when that would go below 0, however many burns run at once. Idempotent per idempotencyKey.',
    args: { input: t.arg({ type: BurnCreditsInput, required: true, description: 'The amount, reason and idempotency key.' }) },
    resolve: (_root, { input }, ctx) => {
      const viewer = viewerOf(ctx);
      return burnCredits(ctx.services.db.prisma, { ...input, tenantId: viewer.tenantId, surfaceId: viewer.surface?.id ?? null }, ctx.services.creditMeter);
    },
  }),
  topUpCredits: t.field({
    type: CreditPayloadRef,
    description:
      'Owner only (FORBIDDEN for a surface token). Adds amount to the balance; BAD_USER_INPUT when the balance would pass 9×10^18. Idempotent per idempotencyKey.',
    args: { input: t.arg({ type: TopUpCreditsInput, required: true, description: 'The amount, reason and idempotency key.' }) },
    resolve: (_root, { input }, ctx) => topUpCredits(ctx.services.db.prisma, { ...input, tenantId: viewerOf(ctx).tenantId, surfaceId: null }, ctx.services.creditMeter),
  }),
}));
