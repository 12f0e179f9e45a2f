// Clean input at every edge: control characters, unpaired surrogates, look-alikes, impossible dates and
// nested JSON are client errors with a code (never INTERNAL_SERVER_ERROR), and nothing is written.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addSurface, signUpTenant, type TestSurface, type TestTenant } from '../helpers/fixtures.js';
import { backends, codes, startNexus, uniqueEmail, type TestNexus } from '../helpers/nexus.js';
import { readSse } from '../helpers/sse.js';

const DIM = 8;
const unit = (i: number) => Array.from({ length: DIM }, (_, j) => (j === i ? 1 : 0));
const REMEMBER = 'mutation($i: RememberInput!) { remember(input: $i) { records { id text metadata occurredAt vector } } }';
const BURN = 'mutation($i: BurnCreditsInput!) { burnCredits(input: $i) { entry { id reason balanceAfter } } }';
const SIGN_UP = 'mutation($i: SignUpInput!) { signUp(input: $i) { tenant { id } } }';

/** JSON nested `depth` levels: {"a":{"a":…1…}}. */
const nestedJson = (depth: number): unknown => (depth === 0 ? 1 : { a: nestedJson(depth - 1) });

describe.each(await backends())('input at the edges on %s', (backend) => {
  let nexus: TestNexus;
  let t: TestTenant;
  let vo2: TestSurface;
  beforeAll(async () => {
    nexus = await startNexus({ backend });
    t = await signUpTenant(nexus);
    vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
    const topUp = await nexus.gql('mutation { topUpCredits(input: { amount: "1000", reason: "start", idempotencyKey: "start" }) { entry { id } } }', {}, t.ownerToken);
    expect(topUp.errors).toBeUndefined();
  });
  afterAll(async () => {
    await nexus?.close();
  });

  const prisma = () => nexus.server.services.db.prisma;
  const recordCount = async () => (await nexus.gql('{ domain(key: "health") { recordCount } }', {}, t.ownerToken)).data?.domain?.recordCount as number;
  const balance = async () => (await nexus.gql('{ wallet { balance } }', {}, t.ownerToken)).data?.wallet.balance as string;
  const remember = (record: Record<string, unknown>) => nexus.gql(REMEMBER, { i: { records: [{ kind: 'note', vector: unit(0), ...record }] } }, vo2.token);

  it.each([
    ['a NUL', 'ada\u0000@example.com'],
    ['U+0001', 'ada\u0001@example.com'],
    ['ESC', 'ada\u001b@example.com'],
    ['a C1 control (U+0085)', 'ada\u0085@example.com'],
    ['a zero-width space', 'ada\u200b@example.com'],
    ['a right-to-left override', 'ada\u202e@example.com'],
    ['an unpaired surrogate', 'ada\ud800@example.com'],
    ['a fullwidth look-alike', 'ａda@example.com'],
  ])('refuses an email with %s as BAD_USER_INPUT and creates no account', async (_label, email) => {
    const before = await prisma().identity.count();
    const res = await nexus.gql(SIGN_UP, { i: { email } });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toBe('email is not a valid address');
    expect(await prisma().identity.count()).toBe(before);
  });

  it.each([
    ['a C1 control', 'Ada\u009b'],
    ['a bidirectional override', 'Ada\u202eevil'],
    ['an unpaired surrogate', 'Ada\udc00'],
    ['a line break', 'Ada\nLovelace'],
  ])('refuses a display name with %s', async (_label, displayName) => {
    expect(codes(await nexus.gql(SIGN_UP, { i: { email: uniqueEmail(), displayName } }))).toEqual(['BAD_USER_INPUT']);
  });

  it('takes an email with accents in its normal form, lowercased', async () => {
    const res = await nexus.gql('mutation($i: SignUpInput!) { signUp(input: $i) { tenant { identity { email } } } }', { i: { email: `Zoë-${Date.now()}@Example.com` } });
    expect(res.data?.signUp.tenant.identity.email).toMatch(/^zoë-\d+@example\.com$/);
  });

  it.each([
    ['2024-02-30', 'a day February does not have'],
    ['2026-13-01', 'a thirteenth month'],
    ['2026-04-31', 'April 31st'],
    ['2026-01-01T24:00:00Z', 'hour 24'],
    ['2026-01-01T08:60:00Z', 'minute 60'],
    ['2026-01-01T08:00:00', 'a time with no zone'],
    ['2026-01-01T08:00:00+15:00', 'an offset past 14 hours'],
    ['26-01-01', 'a two-digit year'],
  ])('refuses occurredAt %p (%s) as BAD_USER_INPUT and writes nothing', async (occurredAt) => {
    const before = await recordCount();
    expect(codes(await remember({ occurredAt }))).toEqual(['BAD_USER_INPUT']);
    expect(await recordCount()).toBe(before);
  });

  it('takes real dates: a leap day, a date alone as midnight UTC, an offset', async () => {
    const res = await nexus.gql(
      REMEMBER,
      { i: { records: ['2024-02-29', '2026-06-01', '2026-06-01T08:00:00+02:00'].map((occurredAt, i) => ({ id: `date-${i}`, kind: 'note', vector: unit(1), occurredAt })) } },
      vo2.token,
    );
    expect(res.data?.remember.records.map((r: { occurredAt: string }) => r.occurredAt)).toEqual(['2024-02-29T00:00:00.000Z', '2026-06-01T00:00:00.000Z', '2026-06-01T06:00:00.000Z']);
  });

  it.each([
    ['BEL', 'ring\u0007'],
    ['a C1 control', 'next\u0085line'],
    ['an unpaired surrogate', 'half \ud83d emoji'],
    ['a bidirectional isolate', 'abc\u2066def'],
  ])('refuses record text with %s and writes nothing', async (_label, text) => {
    const before = await recordCount();
    expect(codes(await remember({ text }))).toEqual(['BAD_USER_INPUT']);
    expect(await recordCount()).toBe(before);
  });

  it('keeps tabs, line breaks, emoji and CJK in record text exactly', async () => {
    const text = 'leg day\n\tsquats\r\n🏋️‍♀️ 深蹲 ×5';
    const res = await remember({ id: 'lines', text });
    expect(res.data?.remember.records[0].text).toBe(text);
  });

  it('refuses metadata nested 5,000 levels (30 KB) or past 32, and takes 32', async () => {
    const before = await recordCount();
    // Written out by hand: 5,000 levels is more than JSON.stringify itself can recurse here.
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const variables = `{"i":{"records":[{"kind":"note","vector":${JSON.stringify(unit(0))},"metadata":${deep}}]}}`;
    const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${vo2.token}` },
      body: `{"query":${JSON.stringify(REMEMBER)},"variables":${variables}}`,
    });
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors.map((e) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
    expect(codes(await remember({ metadata: nestedJson(33) }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await remember({ metadata: { bad: 'x\udfff' } }))).toEqual(['BAD_USER_INPUT']);
    expect(await recordCount()).toBe(before);
    expect((await remember({ id: 'deep-32', metadata: nestedJson(32) })).data?.remember.records[0].metadata).toEqual(nestedJson(32));
  });

  it('refuses JSON literals nested past 64 levels, and a list literal nested 10,000 levels as a parse failure (not a stack overflow)', async () => {
    const literal = `${'{a:'.repeat(70)}1${'}'.repeat(70)}`;
    const deepJson = await nexus.gql(`mutation { remember(input: { records: [{ kind: "note", vector: [1,0,0,0,0,0,0,0], metadata: ${literal} }] }) { records { id } } }`, {}, vo2.token);
    expect(codes(deepJson)).toEqual(['BAD_USER_INPUT']);
    expect(deepJson.errors?.[0]?.message).toMatch(/nest at most 64/);
    const deepList = await nexus.gql(`{ search(input: { vector: ${'['.repeat(10_000)}1${']'.repeat(10_000)} }) { hits { score } } }`, {}, vo2.token);
    expect(codes(deepList)).toEqual(['GRAPHQL_PARSE_FAILED']);
  });

  it('refuses a vector whose length overflows, instead of calling it all zeros; takes huge and tiny ones exactly', async () => {
    const overflow = await remember({ vector: Array(DIM).fill(1e308) });
    expect(codes(overflow)).toEqual(['BAD_USER_INPUT']);
    expect(overflow.errors?.[0]?.message).toMatch(/overflows/);
    for (const [id, x] of [['huge', 1e300], ['tiny', 1e-300]] as const) {
      const vector = Array.from({ length: DIM }, (_, i) => (i + 1) * x);
      const stored = (await remember({ id, vector })).data?.remember.records[0].vector as number[];
      stored.forEach((v, i) => expect(v / vector[i]!).toBeCloseTo(1, 5));
    }
  });

  it.each([
    ['a C1 control', 'refund\u0085'],
    ['a bidirectional override', 'fee \u202egnp.exe'],
    ['a decomposed accent (not NFC)', 'cafe\u0301'],
    ['an unpaired surrogate', 'fee \ud800'],
  ])('refuses a burn reason with %s and debits nothing', async (_label, reason) => {
    const before = await balance();
    expect(codes(await nexus.gql(BURN, { i: { amount: '1', reason, idempotencyKey: `r-${Math.random()}` } }, vo2.token))).toEqual(['BAD_USER_INPUT']);
    expect(await balance()).toBe(before);
  });

  it('keeps distinct idempotency keys distinct: unpaired surrogates are refused, not collapsed into U+FFFD', async () => {
    const before = BigInt(await balance());
    const answers = [];
    for (const key of ['k\ud800', 'k\udc00', 'k\ufffd']) answers.push(await nexus.gql(BURN, { i: { amount: '7', reason: 'ok', idempotencyKey: key } }, vo2.token));
    expect(answers.map(codes)).toEqual([['BAD_USER_INPUT'], ['BAD_USER_INPUT'], []]);
    expect(BigInt(await balance())).toBe(before - 7n);
    for (const key of ['k\u200bey', 'ｋey', 'ke\u0000y']) {
      expect(codes(await nexus.gql(BURN, { i: { amount: '1', reason: 'ok', idempotencyKey: key } }, vo2.token))).toEqual(['BAD_USER_INPUT']);
    }
    expect(BigInt(await balance())).toBe(before - 7n);
  });

  it('answers CONFLICT to the same key with a different reason, and debits once', async () => {
    const before = BigInt(await balance());
    const first = await nexus.gql(BURN, { i: { amount: '3', reason: 'first', idempotencyKey: 'same-key' } }, vo2.token);
    expect(first.errors).toBeUndefined();
    expect(codes(await nexus.gql(BURN, { i: { amount: '3', reason: 'second', idempotencyKey: 'same-key' } }, vo2.token))).toEqual(['CONFLICT']);
    const repeat = await nexus.gql(BURN, { i: { amount: '3', reason: 'first', idempotencyKey: 'same-key' } }, vo2.token);
    expect(repeat.data?.burnCredits.entry.id).toBe(first.data?.burnCredits.entry.id);
    expect(BigInt(await balance())).toBe(before - 3n);
  });

  it('publishes FORGOTTEN only for records that existed', async () => {
    await remember({ id: 'real-one' });
    const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.ownerToken}` },
      body: JSON.stringify({ query: 'subscription { nexusEvents(domains: ["health"]) { type recordId } }' }),
    });
    const stream = readSse(res);
    try {
      await new Promise((r) => setTimeout(r, 150));
      const never = await nexus.gql('mutation { forget(input: { ids: ["never-was"] }) { deleted } }', {}, vo2.token);
      expect(never.data?.forget.deleted).toBe(0);
      const mixed = await nexus.gql('mutation { forget(input: { ids: ["never-was-either", "real-one"] }) { deleted } }', {}, vo2.token);
      expect(mixed.data?.forget.deleted).toBe(1);
      // The first event is the real one; nothing was published for the ids that never existed.
      expect((await stream.next()).data?.nexusEvents).toEqual({ type: 'FORGOTTEN', recordId: 'real-one' });
      await expect(stream.next(500)).rejects.toThrow(/timed out/);
    } finally {
      await stream.close();
    }
  });
});
