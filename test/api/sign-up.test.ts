// Sign-up modes (NEXUS_SIGNUP) through the public API on both backends: open as before; by invitation, a
// single-use invite code consumed in the tenant's own transaction, and every refusal (a registered email
// included) one and the same answer; closed, nobody. Codes are issued through the domain functions.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { hashToken } from '../../src/auth/tokens.js';
import { createLogger } from '../../src/log/logger.js';
import { SIGN_UP_REFUSED } from '../../src/tenancy/sign-up.js';
import { issueInvites, listInvites, newInviteCode, revokeInvite } from '../../src/tenancy/invites.js';
import { backends, codes, startNexus, uniqueEmail, type GqlResult, type TestNexus } from '../helpers/nexus.js';

const BACKENDS = await backends();

const SIGN_UP = `mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { ownerToken tenant { id identity { email } domains { key } } }
}`;

interface SignUpData {
  signUp: { ownerToken: string; tenant: { id: string; identity: { email: string }; domains: { key: string }[] } };
}

type Input = { email: string; inviteCode?: string | null; displayName?: string; domains?: string[] };

const signUp = (nexus: TestNexus, input: Input) => nexus.gql<SignUpData>(SIGN_UP, { input });

/** The whole answer a client gets, minus nothing: status, data and errors (message, code, path, locations). */
const answer = (res: GqlResult) => ({ status: res.status, data: res.data, errors: res.errors });

function expectRefused(res: GqlResult): void {
  expect(codes(res)).toEqual(['FORBIDDEN']);
  expect(res.errors?.[0]?.message).toBe(SIGN_UP_REFUSED);
  expect(res.data).toBeNull();
}

async function tenantsWithEmail(nexus: TestNexus, email: string): Promise<number> {
  return nexus.server.services.db.prisma.identity.count({ where: { email: email.toLowerCase() } });
}

async function issueOne(nexus: TestNexus, input: { expiresInSeconds?: number } = {}, now?: Date) {
  const [issued] = await issueInvites(nexus.server.services.db.prisma, input, now);
  return issued!;
}

async function inviteRow(nexus: TestNexus, id: string) {
  return nexus.server.services.db.prisma.invite.findUniqueOrThrow({ where: { id } });
}

describe.each(BACKENDS)('sign-up on %s', (backend) => {
  describe('open (NEXUS_SIGNUP=open)', () => {
    let nexus: TestNexus;
    beforeAll(async () => {
      nexus = await startNexus({ backend, env: { NEXUS_SIGNUP: 'open' } });
    });
    afterAll(async () => {
      await nexus?.close();
    });

    it('signs up without a code, as before, and ignores a code given anyway', async () => {
      const plain = await signUp(nexus, { email: uniqueEmail() });
      expect(plain.errors).toBeUndefined();
      expect(plain.data?.signUp.ownerToken).toMatch(/^nxo_/);
      const withGarbage = await signUp(nexus, { email: uniqueEmail(), inviteCode: 'not-a-code' });
      expect(withGarbage.errors).toBeUndefined();
      const { invite, code } = await issueOne(nexus);
      const withValid = await signUp(nexus, { email: uniqueEmail(), inviteCode: code });
      expect(withValid.errors).toBeUndefined();
      // Open sign-up spends no invite.
      expect((await inviteRow(nexus, invite.id)).usedAt).toBeNull();
    });

    it('keeps a duplicate email a CONFLICT', async () => {
      const email = uniqueEmail();
      expect((await signUp(nexus, { email })).errors).toBeUndefined();
      const again = await signUp(nexus, { email: email.toUpperCase() });
      expect(codes(again)).toEqual(['CONFLICT']);
      expect(again.errors?.[0]?.message).toBe('an account with this email already exists');
      expect(await tenantsWithEmail(nexus, email)).toBe(1);
    });
  });

  describe('by invitation (NEXUS_SIGNUP=invite)', () => {
    let nexus: TestNexus;
    const logLines: string[] = [];
    const issuedCodes: string[] = [];
    const issue = async (input: { expiresInSeconds?: number } = {}, now?: Date) => {
      const issued = await issueOne(nexus, input, now);
      issuedCodes.push(issued.code);
      return issued;
    };
    beforeAll(async () => {
      const sink = new Writable({
        write(chunk, _enc, done) {
          logLines.push(String(chunk));
          done();
        },
      });
      nexus = await startNexus({ backend, env: { NEXUS_SIGNUP: 'invite' }, log: createLogger('debug', sink) });
    });
    afterAll(async () => {
      await nexus?.close();
    });

    it('refuses a sign-up without a code, with an empty one, a malformed one or an unknown one, and creates nothing', async () => {
      const email = uniqueEmail();
      for (const inviteCode of [undefined, null, '', 'nxi_short', `nxi_${'A'.repeat(43)}`, newInviteCode().code]) {
        const res = await signUp(nexus, { email, inviteCode });
        expectRefused(res);
      }
      expect(await tenantsWithEmail(nexus, email)).toBe(0);
    });

    it('signs up with a valid code, and uses it up: the second use is refused', async () => {
      const { invite, code } = await issue();
      const email = uniqueEmail();
      const res = await signUp(nexus, { email, inviteCode: code });
      expect(res.errors).toBeUndefined();
      const tenantId = res.data!.signUp.tenant.id;
      expect(res.data?.signUp.tenant.identity.email).toBe(email.toLowerCase());
      const row = await inviteRow(nexus, invite.id);
      expect(row.usedAt).toBeInstanceOf(Date);
      expect(row.usedByTenantId).toBe(tenantId);
      // Only the hash is stored.
      expect(row.hash).toBe(hashToken(code));
      expect(JSON.stringify(row)).not.toContain(code);
      expect((await listInvites(nexus.server.services.db.prisma)).find((i) => i.id === invite.id)?.state).toBe('used');

      const second = await signUp(nexus, { email: uniqueEmail(), inviteCode: code });
      expectRefused(second);
      // The owner token of the invited tenant works.
      const viewer = await nexus.gql('{ viewer { tenant { id } } }', {}, res.data!.signUp.ownerToken);
      expect(viewer.data?.viewer.tenant.id).toBe(tenantId);
    });

    it('refuses a revoked code', async () => {
      const { invite, code } = await issue();
      const revoked = await revokeInvite(nexus.server.services.db.prisma, invite.id);
      expect(revoked).toMatchObject({ alreadyRevoked: false, invite: { state: 'revoked' } });
      const email = uniqueEmail();
      expectRefused(await signUp(nexus, { email, inviteCode: code }));
      expect(await tenantsWithEmail(nexus, email)).toBe(0);
      expect((await inviteRow(nexus, invite.id)).usedAt).toBeNull();
      // Revoking again changes nothing; a used invite cannot be revoked; a missing one is NOT_FOUND.
      expect((await revokeInvite(nexus.server.services.db.prisma, invite.id)).alreadyRevoked).toBe(true);
      const used = await issue();
      expect((await signUp(nexus, { email: uniqueEmail(), inviteCode: used.code })).errors).toBeUndefined();
      await expect(revokeInvite(nexus.server.services.db.prisma, used.invite.id)).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(revokeInvite(nexus.server.services.db.prisma, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(revokeInvite(nexus.server.services.db.prisma, 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // A code where the id belongs is refused without being echoed back.
      const mistaken = revokeInvite(nexus.server.services.db.prisma, used.code);
      await expect(mistaken).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(mistaken).rejects.not.toMatchObject({ message: expect.stringContaining(used.code) });
    });

    it('refuses an expired code', async () => {
      // Issued ten seconds ago, valid for one.
      const { invite, code } = await issue({ expiresInSeconds: 1 }, new Date(Date.now() - 10_000));
      expect((await listInvites(nexus.server.services.db.prisma)).find((i) => i.id === invite.id)?.state).toBe('expired');
      const email = uniqueEmail();
      expectRefused(await signUp(nexus, { email, inviteCode: code }));
      expect(await tenantsWithEmail(nexus, email)).toBe(0);
      // Still valid before it expires.
      const fresh = await issue({ expiresInSeconds: 3600 });
      expect((await signUp(nexus, { email, inviteCode: fresh.code })).errors).toBeUndefined();
    });

    it('answers a registered email with a valid code exactly as a wrong code, and leaves the code unused', async () => {
      const email = uniqueEmail();
      const first = await issue();
      expect((await signUp(nexus, { email, inviteCode: first.code })).errors).toBeUndefined();

      const { invite, code } = await issue();
      const duplicate = await signUp(nexus, { email: email.toUpperCase(), inviteCode: code });
      const wrong = await signUp(nexus, { email: uniqueEmail(), inviteCode: newInviteCode().code });
      const none = await signUp(nexus, { email: uniqueEmail() });
      expectRefused(duplicate);
      expect(answer(duplicate)).toEqual(answer(wrong));
      expect(answer(duplicate)).toEqual(answer(none));
      expect(await tenantsWithEmail(nexus, email)).toBe(1);
      // The transaction rolled back: the code was not spent and works for a new email.
      expect((await inviteRow(nexus, invite.id)).usedAt).toBeNull();
      const fresh = await signUp(nexus, { email: uniqueEmail(), inviteCode: code });
      expect(fresh.errors).toBeUndefined();
      expect((await inviteRow(nexus, invite.id)).usedByTenantId).toBe(fresh.data?.signUp.tenant.id);
    });

    it('lets exactly one of several concurrent sign-ups with one code through', async () => {
      for (let round = 0; round < 3; round++) {
        const { invite, code } = await issue();
        const emails = Array.from({ length: 4 }, () => uniqueEmail('race'));
        const results = await Promise.all(emails.map((email) => signUp(nexus, { email, inviteCode: code })));
        const ok = results.filter((r) => r.errors === undefined);
        expect(ok).toHaveLength(1);
        for (const r of results.filter((r) => r.errors !== undefined)) expectRefused(r);
        const created = await Promise.all(emails.map((e) => tenantsWithEmail(nexus, e)));
        expect(created.reduce((a, b) => a + b, 0)).toBe(1);
        expect((await inviteRow(nexus, invite.id)).usedByTenantId).toBe(ok[0]!.data?.signUp.tenant.id);
      }
    });

    it('lets one of two concurrent sign-ups with one code and one email through', async () => {
      const { code } = await issue();
      const email = uniqueEmail('same');
      const results = await Promise.all([signUp(nexus, { email, inviteCode: code }), signUp(nexus, { email, inviteCode: code })]);
      expect(results.filter((r) => r.errors === undefined)).toHaveLength(1);
      expect(await tenantsWithEmail(nexus, email)).toBe(1);
    });

    it('never writes an invite code to the log, even at debug level', () => {
      const text = logLines.join('');
      expect(text).toContain('"graphql"'); // the log did record the requests
      expect(issuedCodes.length).toBeGreaterThan(5);
      for (const code of issuedCodes) {
        expect(text).not.toContain(code);
        expect(text).not.toContain(code.slice(4));
      }
    });
  });

  describe('closed (NEXUS_SIGNUP=closed)', () => {
    let nexus: TestNexus;
    beforeAll(async () => {
      nexus = await startNexus({ backend, env: { NEXUS_SIGNUP: 'closed' } });
    });
    afterAll(async () => {
      await nexus?.close();
    });

    it('refuses every sign-up with the same answer, even with a valid code, which it leaves unused', async () => {
      const { invite, code } = await issueOne(nexus);
      const email = uniqueEmail();
      const withCode = await signUp(nexus, { email, inviteCode: code });
      const without = await signUp(nexus, { email });
      expectRefused(withCode);
      expect(answer(withCode)).toEqual(answer(without));
      expect(await tenantsWithEmail(nexus, email)).toBe(0);
      expect((await inviteRow(nexus, invite.id)).usedAt).toBeNull();
    });
  });
});
