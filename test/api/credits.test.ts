// Credits through the public API on both backends: one wallet, idempotent
// burns and top-ups, no overdraft under any burst, the ledger always adds up.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BurnDocument, TopUpDocument, WalletDocument } from '../generated/graphql.js';
import { addSurface, signUpTenant, type TestSurface, type TestTenant } from '../helpers/fixtures.js';
import { backends, codes, startNexus, type TestNexus } from '../helpers/nexus.js';

const BACKENDS = await backends();

describe.each(BACKENDS)('credits on %s', (backend) => {
  let nexus: TestNexus;
  beforeAll(async () => {
    nexus = await startNexus({ backend });
  });
  afterAll(async () => {
    await nexus?.close();
  });

  /** Balance and the sum of every ledger entry, read straight from the database. */
  async function books(tenantId: string): Promise<{ balance: bigint; sum: bigint; entries: number }> {
    const prisma = nexus.server.services.db.prisma;
    const wallet = await prisma.wallet.findUniqueOrThrow({ where: { tenantId } });
    const entries = await prisma.ledgerEntry.findMany({ where: { walletId: wallet.id } });
    return { balance: wallet.balance, sum: entries.reduce((s, e) => s + e.amount, 0n), entries: entries.length };
  }

  async function funded(amount: string): Promise<{ t: TestTenant; vo2: TestSurface; agnx: TestSurface }> {
    const t = await signUpTenant(nexus);
    const vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
    const agnx = await addSurface(nexus, t.ownerToken, { key: 'agnx', homeDomain: 'business' });
    const top = await nexus.gql(TopUpDocument, { input: { amount, reason: 'initial', idempotencyKey: 'top-0' } }, t.ownerToken);
    expect(top.errors).toBeUndefined();
    return { t, vo2, agnx };
  }

  it('tops up, burns from any surface, and records which surface burned', async () => {
    const { t, vo2 } = await funded('500');
    const burn = await nexus.gql(BurnDocument, { input: { amount: '30', reason: 'VO2 plan', idempotencyKey: 'b1' } }, vo2.token);
    expect(burn.errors).toBeUndefined();
    expect(burn.data?.burnCredits).toMatchObject({ wallet: { balance: '470' }, entry: { amount: '-30', balanceAfter: '470', reason: 'VO2 plan', surface: { key: 'vo2' } } });
    const ownerBurn = await nexus.gql(BurnDocument, { input: { amount: '20', reason: 'owner', idempotencyKey: 'b2' } }, t.ownerToken);
    expect(ownerBurn.data?.burnCredits.entry).toMatchObject({ amount: '-20', balanceAfter: '450', surface: null });
    expect(await books(t.tenantId)).toEqual({ balance: 450n, sum: 450n, entries: 3 });
  });

  it('returns the original entry for a repeated key and changes nothing', async () => {
    const { t, vo2 } = await funded('100');
    const first = await nexus.gql(BurnDocument, { input: { amount: '10', reason: 'x', idempotencyKey: 'same' } }, vo2.token);
    const again = await nexus.gql(BurnDocument, { input: { amount: '10', reason: 'x', idempotencyKey: 'same' } }, vo2.token);
    expect(again.errors).toBeUndefined();
    expect(again.data?.burnCredits.entry.id).toBe(first.data?.burnCredits.entry.id);
    expect(again.data?.burnCredits.wallet.balance).toBe('90');
    const top1 = await nexus.gql(TopUpDocument, { input: { amount: '100', reason: 'initial', idempotencyKey: 'top-0' } }, t.ownerToken);
    expect(top1.data?.topUpCredits.entry).toMatchObject({ amount: '100', balanceAfter: '100' });
    expect(top1.data?.topUpCredits.wallet.balance).toBe('90');
    expect(await books(t.tenantId)).toEqual({ balance: 90n, sum: 90n, entries: 2 });
  });

  it('answers CONFLICT when a key is reused for a different amount, kind or surface', async () => {
    const { t, vo2, agnx } = await funded('100');
    await nexus.gql(BurnDocument, { input: { amount: '10', reason: 'x', idempotencyKey: 'k' } }, vo2.token);
    expect(codes(await nexus.gql(BurnDocument, { input: { amount: '11', reason: 'x', idempotencyKey: 'k' } }, vo2.token))).toEqual(['CONFLICT']);
    expect(codes(await nexus.gql(TopUpDocument, { input: { amount: '10', reason: 'x', idempotencyKey: 'k' } }, t.ownerToken))).toEqual(['CONFLICT']);
    expect(codes(await nexus.gql(BurnDocument, { input: { amount: '10', reason: 'x', idempotencyKey: 'k' } }, agnx.token))).toEqual(['CONFLICT']);
    expect(await books(t.tenantId)).toEqual({ balance: 90n, sum: 90n, entries: 2 });
  });

  it('refuses a burn that would overdraw with INSUFFICIENT_CREDITS and writes nothing', async () => {
    const { t, vo2 } = await funded('10');
    const res = await nexus.gql(BurnDocument, { input: { amount: '11', reason: 'too much', idempotencyKey: 'big' } }, vo2.token);
    expect(codes(res)).toEqual(['INSUFFICIENT_CREDITS']);
    expect(await books(t.tenantId)).toEqual({ balance: 10n, sum: 10n, entries: 1 });
    // The refused key stays free: a later burn with it can succeed.
    const ok = await nexus.gql(BurnDocument, { input: { amount: '10', reason: 'exact', idempotencyKey: 'big' } }, vo2.token);
    expect(ok.data?.burnCredits.wallet.balance).toBe('0');
  });

  it.each<[string, Record<string, unknown>]>([
    ['zero', { amount: '0' }],
    ['a negative amount', { amount: '-5' }],
    ['a fraction', { amount: '1.5' }],
    ['text', { amount: 'ten' }],
    ['more than 10^15', { amount: '1000000000000001' }],
    ['an empty reason', { reason: '' }],
    ['a reason over 200 characters', { reason: 'r'.repeat(201) }],
    ['an empty key', { idempotencyKey: '' }],
    ['a key over 128 characters', { idempotencyKey: 'k'.repeat(129) }],
  ])('rejects %s with BAD_USER_INPUT', async (_label, patch) => {
    const { t, vo2 } = await funded('100');
    const input = { amount: '1', reason: 'ok', idempotencyKey: `k-${Math.random()}`, ...patch };
    const res = await nexus.gql(BurnDocument, { input }, vo2.token);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    const top = await nexus.gql(TopUpDocument, { input }, t.ownerToken);
    expect(codes(top)).toEqual(['BAD_USER_INPUT']);
    expect(await books(t.tenantId)).toEqual({ balance: 100n, sum: 100n, entries: 1 });
  });

  it('accepts the largest amount, 10^15', async () => {
    const t = await signUpTenant(nexus);
    const res = await nexus.gql(TopUpDocument, { input: { amount: '1000000000000000', reason: 'max', idempotencyKey: 'max' } }, t.ownerToken);
    expect(res.data?.topUpCredits.wallet.balance).toBe('1000000000000000');
  });

  it('runs 40 concurrent burns of 10 on 500, 10 repeating a key: balance 200, 30 burns and 1 top-up', async () => {
    const { t, vo2, agnx } = await funded('500');
    const keys = [...Array.from({ length: 30 }, (_, i) => `burn-${i}`), ...Array.from({ length: 10 }, (_, i) => `burn-${i}`)];
    const results = await Promise.all(
      keys.map((key, i) => nexus.gql(BurnDocument, { input: { amount: '10', reason: 'burst', idempotencyKey: key } }, i % 2 ? vo2.token : agnx.token)),
    );
    // A repeat from the other surface is a different request (CONFLICT); from the same surface it is the same entry.
    const ok = results.filter((r) => !r.errors);
    const conflicts = results.filter((r) => codes(r)[0] === 'CONFLICT');
    expect(ok.length + conflicts.length).toBe(40);
    const b = await books(t.tenantId);
    expect(b).toEqual({ balance: 200n, sum: 200n, entries: 31 });
    const ids = new Set(ok.map((r) => r.data?.burnCredits.entry.id));
    expect(ids.size).toBe(30);
  });

  it('runs 40 concurrent burns from one surface, 10 repeating a key: every repeat returns its original', async () => {
    const { t, vo2 } = await funded('500');
    const keys = [...Array.from({ length: 30 }, (_, i) => `burn-${i}`), ...Array.from({ length: 10 }, (_, i) => `burn-${i}`)];
    const results = await Promise.all(keys.map((key) => nexus.gql(BurnDocument, { input: { amount: '10', reason: 'burst', idempotencyKey: key } }, vo2.token)));
    expect(results.every((r) => !r.errors)).toBe(true);
    for (let i = 0; i < 10; i++) expect(results[30 + i]!.data?.burnCredits.entry.id).toBe(results[i]!.data?.burnCredits.entry.id);
    expect(await books(t.tenantId)).toEqual({ balance: 200n, sum: 200n, entries: 31 });
  });

  it('runs 100 concurrent burns of 10 on 500: exactly 50 succeed, 50 get INSUFFICIENT_CREDITS, balance 0', async () => {
    const { t, vo2 } = await funded('500');
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => nexus.gql(BurnDocument, { input: { amount: '10', reason: 'burst', idempotencyKey: `k${i}` } }, vo2.token)),
    );
    expect(results.filter((r) => !r.errors)).toHaveLength(50);
    expect(results.filter((r) => codes(r)[0] === 'INSUFFICIENT_CREDITS')).toHaveLength(50);
    expect(await books(t.tenantId)).toEqual({ balance: 0n, sum: 0n, entries: 51 });
    const balances = results.filter((r) => !r.errors).map((r) => Number(r.data!.burnCredits.entry.balanceAfter));
    expect(new Set(balances).size).toBe(50);
    expect(Math.min(...balances)).toBe(0);
  });

  it('shows the owner every entry and a surface only its own, newest first, page by page', async () => {
    const { t, vo2, agnx } = await funded('1000');
    for (let i = 0; i < 5; i++) await nexus.gql(BurnDocument, { input: { amount: '1', reason: `vo2-${i}`, idempotencyKey: `v${i}` } }, vo2.token);
    for (let i = 0; i < 3; i++) await nexus.gql(BurnDocument, { input: { amount: '2', reason: `agnx-${i}`, idempotencyKey: `a${i}` } }, agnx.token);
    const all = await nexus.gql(WalletDocument, { first: 100 }, t.ownerToken);
    expect(all.data?.wallet.balance).toBe('989');
    expect(all.data?.wallet.ledger.map((e) => e.reason)).toEqual(['agnx-2', 'agnx-1', 'agnx-0', 'vo2-4', 'vo2-3', 'vo2-2', 'vo2-1', 'vo2-0', 'initial']);
    const mine = await nexus.gql(WalletDocument, { first: 100 }, vo2.token);
    expect(mine.data?.wallet.balance).toBe('989');
    expect(mine.data?.wallet.ledger.map((e) => e.reason)).toEqual(['vo2-4', 'vo2-3', 'vo2-2', 'vo2-1', 'vo2-0']);
    const page1 = await nexus.gql(WalletDocument, { first: 2 }, vo2.token);
    const page2 = await nexus.gql(WalletDocument, { first: 2, after: page1.data!.wallet.ledger[1]!.id }, vo2.token);
    expect(page2.data?.wallet.ledger.map((e) => e.reason)).toEqual(['vo2-2', 'vo2-1']);
    // A surface cannot page from another surface's entry.
    const foreign = all.data!.wallet.ledger[0]!.id;
    expect(codes(await nexus.gql(WalletDocument, { first: 2, after: foreign }, vo2.token))).toEqual(['NOT_FOUND']);
    for (const first of [0, 101]) expect(codes(await nexus.gql(WalletDocument, { first }, t.ownerToken))).toEqual(['BAD_USER_INPUT']);
  });

  it('keeps tenant B\'s surfaces away from tenant A\'s wallet', async () => {
    const a = await funded('100');
    const b = await funded('7');
    const res = await nexus.gql(BurnDocument, { input: { amount: '50', reason: 'steal', idempotencyKey: 'x' } }, b.vo2.token);
    expect(codes(res)).toEqual(['INSUFFICIENT_CREDITS']);
    const seen = await nexus.gql(WalletDocument, { first: 100 }, b.t.ownerToken);
    expect(seen.data?.wallet.balance).toBe('7');
    expect(await books(a.t.tenantId)).toEqual({ balance: 100n, sum: 100n, entries: 1 });
  });

  it('leaves no partial entry when a connection dies mid-transaction', async () => {
    // Nothing half-written: the burn is one statement, so killing the session that runs it
    // inside an open transaction must roll everything back.
    const { t } = await funded('100');
    const prisma = nexus.server.services.db.prisma;
    const wallet = await prisma.wallet.findUniqueOrThrow({ where: { tenantId: t.tenantId } });
    if (backend === 'postgresql') {
      const pg = (await import('pg')).default;
      const url = nexus.server.services.config.databaseUrl!;
      const victim = new pg.Client({ connectionString: url });
      await victim.connect();
      victim.on('error', () => undefined);
      const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      await victim.query('BEGIN');
      await victim.query(
        `WITH changed AS (UPDATE "Wallet" SET balance = balance - 10 WHERE id = $1 AND balance >= 10 RETURNING balance)
         INSERT INTO "LedgerEntry" (id, "walletId", kind, amount, "balanceAfter", reason, "idempotencyKey") SELECT gen_random_uuid(), $1, 'BURN', -10, balance, 'dying', 'dying' FROM changed`,
        [wallet.id],
      );
      const killer = new pg.Client({ connectionString: url });
      await killer.connect();
      await killer.query('SELECT pg_terminate_backend($1)', [pid]);
      await killer.end();
      await victim.end().catch(() => undefined);
    } else {
      await expect(
        prisma.$transaction(async (tx) => {
          await tx.$executeRaw`UPDATE "Wallet" SET balance = balance - 10 WHERE id = ${wallet.id}`;
          await tx.$executeRaw`INSERT INTO "LedgerEntry" (id, "walletId", kind, amount, "balanceAfter", reason, "idempotencyKey") VALUES (gen_random_uuid(), ${wallet.id}, 'BURN', -10, 90, 'dying', 'dying')`;
          throw new Error('connection lost');
        }),
      ).rejects.toThrow('connection lost');
    }
    expect(await books(t.tenantId)).toEqual({ balance: 100n, sum: 100n, entries: 1 });
    const burn = await nexus.gql(BurnDocument, { input: { amount: '10', reason: 'after', idempotencyKey: 'dying' } }, t.ownerToken);
    expect(burn.data?.burnCredits.wallet.balance).toBe('90');
  });
});
