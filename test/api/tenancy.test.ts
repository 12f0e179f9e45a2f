// Tenancy through the public API on both backends: sign-up, domains, surfaces,
// mounts, tokens, and every rejection a client can provoke.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CreateDomainDocument,
  CreateSurfaceDocument,
  DomainByKeyDocument,
  IssueSurfaceTokenDocument,
  RevokeTokenDocument,
  ServerInfoDocument,
  SetMountsDocument,
  SignUpDocument,
  ViewerDocument,
} from '../generated/graphql.js';
import { addSurface, signUpTenant } from '../helpers/fixtures.js';
import { backends, codes, startNexus, uniqueEmail, type TestNexus } from '../helpers/nexus.js';

const BACKENDS = await backends();

describe.each(BACKENDS)('tenancy on %s', (backend) => {
  let nexus: TestNexus;
  beforeAll(async () => {
    nexus = await startNexus({ backend });
  });
  afterAll(async () => {
    await nexus?.close();
  });

  describe('serverInfo', () => {
    it('is public and reports the vector dimension and version', async () => {
      const res = await nexus.gql(ServerInfoDocument);
      expect(res.errors).toBeUndefined();
      expect(res.data?.serverInfo).toEqual({ vectorDimension: 8, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    });
  });

  describe('signUp', () => {
    it('creates a tenant with identity, an empty wallet, the default domains and an owner token', async () => {
      const email = uniqueEmail('Mixed.Case');
      const res = await nexus.gql(SignUpDocument, { input: { email, displayName: 'Ada' } });
      expect(res.errors).toBeUndefined();
      const { ownerToken, tenant } = res.data!.signUp;
      expect(ownerToken).toMatch(/^nxo_[A-Za-z0-9_-]{43}$/);
      expect(tenant.id).toMatch(/^[a-z][a-z0-9-]{0,31}$/);
      expect(tenant.identity).toMatchObject({ email: email.toLowerCase(), displayName: 'Ada' });
      expect(tenant.wallet.balance).toBe('0');
      expect(tenant.domains.map((d) => d.key)).toEqual(['business', 'finance', 'health']);
      expect(tenant.domains.find((d) => d.key === 'health')?.name).toBe('Health');
      expect(tenant.surfaces).toEqual([]);
      const viewer = await nexus.gql(ViewerDocument, {}, ownerToken);
      expect(viewer.data?.viewer).toMatchObject({ role: 'OWNER', tenant: { id: tenant.id }, surface: null });
    });

    it('creates the domains it is given instead of the defaults', async () => {
      const res = await nexus.gql(SignUpDocument, { input: { email: uniqueEmail(), domains: ['sleep', 'tax-2026'] } });
      expect(res.data?.signUp.tenant.domains.map((d) => d.key)).toEqual(['sleep', 'tax-2026']);
    });

    it('rejects a duplicate email with CONFLICT and creates nothing', async () => {
      const email = uniqueEmail();
      const first = await nexus.gql(SignUpDocument, { input: { email } });
      expect(first.errors).toBeUndefined();
      const again = await nexus.gql(SignUpDocument, { input: { email: email.toUpperCase(), domains: ['fresh'] } });
      expect(codes(again)).toEqual(['CONFLICT']);
      expect(again.data).toBeNull();
      const tenants = await nexus.server.services.db.prisma.tenant.count({ where: { domains: { some: { key: 'fresh' } } } });
      expect(tenants).toBe(0);
    });

    it.each([
      ['an invalid email', { email: 'not-an-email' }],
      ['an email with a space', { email: 'a b@example.com' }],
      ['an email with no domain dot', { email: 'a@localhost' }],
      ['a bad domain key', { email: 'x@example.com', domains: ['Health'] }],
      ['a path in a domain key', { email: 'x@example.com', domains: ['../etc'] }],
      ['a repeated domain key', { email: 'x@example.com', domains: ['health', 'health'] }],
      ['an overlong domain key', { email: 'x@example.com', domains: ['a'.repeat(33)] }],
      ['an empty display name', { email: 'x@example.com', displayName: '  ' }],
    ])('rejects %s with BAD_USER_INPUT', async (_label, input) => {
      const res = await nexus.gql(SignUpDocument, { input: { ...input, email: input.email === 'x@example.com' ? uniqueEmail() : input.email } });
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    });
  });

  describe('authentication', () => {
    it('answers UNAUTHENTICATED without a token', async () => {
      const res = await nexus.gql(ViewerDocument);
      expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    });

    it('answers UNAUTHENTICATED to a malformed or unknown token on every operation, public ones included', async () => {
      for (const token of ['garbage', `nxo_${'A'.repeat(43)}`]) {
        expect(codes(await nexus.gql(ViewerDocument, {}, token))).toEqual(['UNAUTHENTICATED']);
        expect(codes(await nexus.gql(ServerInfoDocument, {}, token))).toEqual(['UNAUTHENTICATED']);
      }
      const basic = await nexus.gql(ViewerDocument, {}, undefined, { authorization: 'Basic dXNlcjpwYXNz' });
      expect(codes(basic)).toEqual(['UNAUTHENTICATED']);
    });

    it('stores only a hash of each token', async () => {
      const t = await signUpTenant(nexus);
      const s = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
      const rows = await nexus.server.services.db.prisma.token.findMany({ where: { tenantId: t.tenantId } });
      expect(rows).toHaveLength(2);
      for (const row of rows) {
        expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(JSON.stringify(row)).not.toContain(t.ownerToken.slice(4));
        expect(JSON.stringify(row)).not.toContain(s.token.slice(4));
      }
    });

    it('rejects a revoked token at once, and revoking again is harmless', async () => {
      const t = await signUpTenant(nexus);
      const s = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
      expect((await nexus.gql(ViewerDocument, {}, s.token)).data?.viewer.role).toBe('SURFACE');
      const revoked = await nexus.gql(RevokeTokenDocument, { id: s.tokenId }, t.ownerToken);
      expect(revoked.data?.revokeToken).toBe(true);
      expect(codes(await nexus.gql(ViewerDocument, {}, s.token))).toEqual(['UNAUTHENTICATED']);
      expect((await nexus.gql(RevokeTokenDocument, { id: s.tokenId }, t.ownerToken)).data?.revokeToken).toBe(true);
    });

    it('rejects an expired token', async () => {
      const t = await signUpTenant(nexus);
      const s = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health', expiresInSeconds: 1 });
      expect((await nexus.gql(ViewerDocument, {}, s.token)).data?.viewer.role).toBe('SURFACE');
      await new Promise((r) => setTimeout(r, 1100));
      const res = await nexus.gql(ViewerDocument, {}, s.token);
      expect(codes(res)).toEqual(['UNAUTHENTICATED']);
      expect(res.errors?.[0]?.message).toMatch(/expired/);
    });

    it('reports the expiry of a token issued with one', async () => {
      const t = await signUpTenant(nexus);
      await nexus.gql(CreateSurfaceDocument, { input: { key: 'b2', homeDomain: 'business' } }, t.ownerToken);
      const before = Date.now();
      const res = await nexus.gql(IssueSurfaceTokenDocument, { input: { surface: 'b2', expiresInSeconds: 3600 } }, t.ownerToken);
      const expires = Date.parse(res.data!.issueSurfaceToken.expiresAt!);
      expect(expires).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
      const bad = await nexus.gql(IssueSurfaceTokenDocument, { input: { surface: 'b2', expiresInSeconds: 0 } }, t.ownerToken);
      expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
    });
  });

  describe('domains', () => {
    it('creates a domain and finds it by key', async () => {
      const t = await signUpTenant(nexus);
      const created = await nexus.gql(CreateDomainDocument, { input: { key: 'sleep', name: 'Sleep & recovery' } }, t.ownerToken);
      expect(created.data?.createDomain).toMatchObject({ key: 'sleep', name: 'Sleep & recovery', surfaces: [] });
      const found = await nexus.gql(DomainByKeyDocument, { key: 'sleep' }, t.ownerToken);
      expect(found.data?.domain).toMatchObject({ key: 'sleep', name: 'Sleep & recovery' });
    });

    it('rejects a duplicate key with CONFLICT', async () => {
      const t = await signUpTenant(nexus);
      const res = await nexus.gql(CreateDomainDocument, { input: { key: 'health' } }, t.ownerToken);
      expect(codes(res)).toEqual(['CONFLICT']);
    });

    it.each(['Health', '1abc', 'a_b', 'a b', "x' OR 1=1 --", '../x', 'é', 'a'.repeat(33), ''])('rejects the key %p with BAD_USER_INPUT', async (key) => {
      const t = await signUpTenant(nexus);
      const res = await nexus.gql(CreateDomainDocument, { input: { key } }, t.ownerToken);
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(await nexus.server.services.db.prisma.domain.count({ where: { tenantId: t.tenantId } })).toBe(3);
    });

    it('answers NOT_FOUND for a key the owner does not have', async () => {
      const t = await signUpTenant(nexus);
      const res = await nexus.gql(DomainByKeyDocument, { key: 'nowhere' }, t.ownerToken);
      expect(res.data?.domain).toBeNull();
      expect(codes(res)).toEqual(['NOT_FOUND']);
    });
  });

  describe('surfaces and mounts', () => {
    it('mounts the home domain READ_WRITE always, whatever the input says', async () => {
      const t = await signUpTenant(nexus);
      const res = await nexus.gql(
        CreateSurfaceDocument,
        { input: { key: 'sleep', name: 'Sleep engine', homeDomain: 'health', mounts: [{ domain: 'health', access: 'READ' }, { domain: 'finance', access: 'READ' }] } },
        t.ownerToken,
      );
      expect(res.errors).toBeUndefined();
      const s = res.data!.createSurface;
      expect(s).toMatchObject({ key: 'sleep', name: 'Sleep engine', kind: 'APP', homeDomain: { key: 'health' } });
      const mounts = Object.fromEntries(s.mounts.map((m) => [m.domain.key, m.access]));
      expect(mounts).toEqual({ health: 'READ_WRITE', finance: 'READ' });
    });

    it('creates a dashboard mounting several domains READ and lists it under each', async () => {
      const t = await signUpTenant(nexus);
      const res = await nexus.gql(
        CreateSurfaceDocument,
        {
          input: {
            key: 'god-view',
            kind: 'DASHBOARD',
            homeDomain: 'health',
            mounts: [{ domain: 'business', access: 'READ' }, { domain: 'finance', access: 'READ' }],
          },
        },
        t.ownerToken,
      );
      expect(res.data?.createSurface.kind).toBe('DASHBOARD');
      for (const key of ['health', 'business', 'finance']) {
        const d = await nexus.gql(DomainByKeyDocument, { key }, t.ownerToken);
        expect(d.data?.domain?.surfaces.map((x) => x.key)).toEqual(['god-view']);
      }
    });

    it('replaces mounts with setMounts, keeping the home domain READ_WRITE', async () => {
      const t = await signUpTenant(nexus);
      await addSurface(nexus, t.ownerToken, { key: 'agnx', homeDomain: 'business', mounts: [{ domain: 'finance', access: 'READ_WRITE' }] });
      const res = await nexus.gql(SetMountsDocument, { input: { surface: 'agnx', mounts: [{ domain: 'health', access: 'READ' }] } }, t.ownerToken);
      expect(res.errors).toBeUndefined();
      const mounts = Object.fromEntries(res.data!.setMounts.mounts.map((m) => [m.domain.key, m.access]));
      expect(mounts).toEqual({ business: 'READ_WRITE', health: 'READ' });
    });

    it('changes what a live token may read as soon as mounts change', async () => {
      const t = await signUpTenant(nexus);
      const s = await addSurface(nexus, t.ownerToken, { key: 'agnx', homeDomain: 'business' });
      expect(codes(await nexus.gql(DomainByKeyDocument, { key: 'health' }, s.token))).toEqual(['FORBIDDEN']);
      await nexus.gql(SetMountsDocument, { input: { surface: 'agnx', mounts: [{ domain: 'health', access: 'READ' }] } }, t.ownerToken);
      expect((await nexus.gql(DomainByKeyDocument, { key: 'health' }, s.token)).data?.domain?.key).toBe('health');
    });

    it('rejects a duplicate surface key with CONFLICT and an unknown domain with NOT_FOUND, writing nothing', async () => {
      const t = await signUpTenant(nexus);
      await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
      expect(codes(await nexus.gql(CreateSurfaceDocument, { input: { key: 'vo2', homeDomain: 'business' } }, t.ownerToken))).toEqual(['CONFLICT']);
      const missing = await nexus.gql(
        CreateSurfaceDocument,
        { input: { key: 'tax', homeDomain: 'finance', mounts: [{ domain: 'nowhere', access: 'READ' }] } },
        t.ownerToken,
      );
      expect(codes(missing)).toEqual(['NOT_FOUND']);
      expect(codes(await nexus.gql(CreateSurfaceDocument, { input: { key: 'tax', homeDomain: 'nowhere' } }, t.ownerToken))).toEqual(['NOT_FOUND']);
      expect(await nexus.server.services.db.prisma.surface.count({ where: { tenantId: t.tenantId } })).toBe(1);
    });

    it('rejects a bad surface key and a domain mounted twice with BAD_USER_INPUT', async () => {
      const t = await signUpTenant(nexus);
      expect(codes(await nexus.gql(CreateSurfaceDocument, { input: { key: 'VO2', homeDomain: 'health' } }, t.ownerToken))).toEqual(['BAD_USER_INPUT']);
      const twice = await nexus.gql(
        CreateSurfaceDocument,
        { input: { key: 'vo2', homeDomain: 'health', mounts: [{ domain: 'finance', access: 'READ' }, { domain: 'finance', access: 'READ_WRITE' }] } },
        t.ownerToken,
      );
      expect(codes(twice)).toEqual(['BAD_USER_INPUT']);
    });

    it('shows a surface token only its own surface and mounted domains', async () => {
      const t = await signUpTenant(nexus);
      const vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
      await addSurface(nexus, t.ownerToken, { key: 'agnx', homeDomain: 'business' });
      const res = await nexus.gql(ViewerDocument, {}, vo2.token);
      expect(res.errors).toBeUndefined();
      expect(res.data?.viewer).toMatchObject({
        role: 'SURFACE',
        tenant: { id: t.tenantId, domains: [{ key: 'health' }], surfaces: [{ key: 'vo2' }] },
        surface: { key: 'vo2', kind: 'APP', homeDomain: { key: 'health' }, mounts: [{ access: 'READ_WRITE', domain: { key: 'health' } }] },
      });
    });
  });

  describe('what a surface token may not do', () => {
    const ownerOnly: [string, string, Record<string, unknown>][] = [
      ['createDomain', 'mutation($i: CreateDomainInput!) { createDomain(input: $i) { key } }', { i: { key: 'stolen' } }],
      ['createSurface', 'mutation($i: CreateSurfaceInput!) { createSurface(input: $i) { key } }', { i: { key: 'rogue', homeDomain: 'health' } }],
      ['setMounts', 'mutation($i: SetMountsInput!) { setMounts(input: $i) { key } }', { i: { surface: 'vo2', mounts: [{ domain: 'business', access: 'READ_WRITE' }] } }],
      ['issueSurfaceToken', 'mutation($i: IssueSurfaceTokenInput!) { issueSurfaceToken(input: $i) { token } }', { i: { surface: 'vo2' } }],
      ['revokeToken', 'mutation($id: ID!) { revokeToken(id: $id) }', { id: '00000000-0000-0000-0000-000000000000' }],
      ['topUpCredits', 'mutation($i: TopUpCreditsInput!) { topUpCredits(input: $i) { entry { id } } }', { i: { amount: '10', reason: 'free money', idempotencyKey: 'k' } }],
    ];

    it.each(ownerOnly)('gets FORBIDDEN from %s and nothing changes', async (_name, query, variables) => {
      const t = await signUpTenant(nexus);
      const vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
      const prisma = nexus.server.services.db.prisma;
      const before = await Promise.all([prisma.domain.count(), prisma.surface.count(), prisma.mount.count(), prisma.token.count(), prisma.ledgerEntry.count()]);
      const res = await nexus.gql(query, variables, vo2.token);
      expect(codes(res)).toEqual(['FORBIDDEN']);
      const after = await Promise.all([prisma.domain.count(), prisma.surface.count(), prisma.mount.count(), prisma.token.count(), prisma.ledgerEntry.count()]);
      expect(after).toEqual(before);
    });

    it.each(ownerOnly)('gets UNAUTHENTICATED from %s without a token', async (_name, query, variables) => {
      expect(codes(await nexus.gql(query, variables))).toEqual(['UNAUTHENTICATED']);
    });

    it('gets FORBIDDEN reading an unmounted domain, and a missing one looks the same', async () => {
      const t = await signUpTenant(nexus);
      const agnx = await addSurface(nexus, t.ownerToken, { key: 'agnx', homeDomain: 'business' });
      const unmounted = await nexus.gql(DomainByKeyDocument, { key: 'health' }, agnx.token);
      const missing = await nexus.gql(DomainByKeyDocument, { key: 'nowhere' }, agnx.token);
      expect(codes(unmounted)).toEqual(['FORBIDDEN']);
      expect(codes(missing)).toEqual(['FORBIDDEN']);
      expect(unmounted.errors?.[0]?.message.replace('health', 'X')).toBe(missing.errors?.[0]?.message.replace('nowhere', 'X'));
    });

    it('cannot see another surface\'s mounts', async () => {
      const t = await signUpTenant(nexus);
      const sleep = await addSurface(nexus, t.ownerToken, { key: 'sleep', homeDomain: 'health' });
      await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health', mounts: [{ domain: 'finance', access: 'READ' }] });
      const res = await nexus.gql('{ domain(key: "health") { surfaces { key mounts { domain { key } } } } }', {}, sleep.token);
      // Domain.surfaces shows a surface only itself, so vo2 (and its finance mount) never appears.
      expect(res.errors).toBeUndefined();
      expect(JSON.stringify(res.data)).not.toContain('vo2');
      expect(JSON.stringify(res.data)).not.toContain('finance');
    });
  });

  describe('tenant boundaries', () => {
    it('answers NOT_FOUND, with the same message, when tenant A names anything of tenant B', async () => {
      const a = await signUpTenant(nexus, ['health']);
      const b = await signUpTenant(nexus, ['health', 'secret']);
      const bSurface = await addSurface(nexus, b.ownerToken, { key: 'vault', homeDomain: 'secret' });
      const pairs: [string, Record<string, unknown>, Record<string, unknown>][] = [
        ['query($k: String!) { domain(key: $k) { key } }', { k: 'secret' }, { k: 'missing' }],
        ['mutation($i: IssueSurfaceTokenInput!) { issueSurfaceToken(input: $i) { token } }', { i: { surface: 'vault' } }, { i: { surface: 'missing' } }],
        ['mutation($i: SetMountsInput!) { setMounts(input: $i) { key } }', { i: { surface: 'vault', mounts: [] } }, { i: { surface: 'missing', mounts: [] } }],
        ['mutation($i: CreateSurfaceInput!) { createSurface(input: $i) { key } }', { i: { key: 'spy', homeDomain: 'secret' } }, { i: { key: 'spy', homeDomain: 'missing' } }],
        ['mutation($id: ID!) { revokeToken(id: $id) }', { id: bSurface.tokenId }, { id: '00000000-0000-4000-8000-000000000000' }],
      ];
      for (const [query, theirs, missing] of pairs) {
        const r1 = await nexus.gql(query, theirs, a.ownerToken);
        const r2 = await nexus.gql(query, missing, a.ownerToken);
        expect(codes(r1)).toEqual(['NOT_FOUND']);
        expect(codes(r2)).toEqual(['NOT_FOUND']);
        const strip = (m: string | undefined) => m?.replace(/"[^"]*"/, '"…"');
        expect(strip(r1.errors?.[0]?.message)).toBe(strip(r2.errors?.[0]?.message));
      }
      // B's surface token still works: A's revoke attempt changed nothing.
      expect((await nexus.gql(ViewerDocument, {}, bSurface.token)).data?.viewer.tenant.id).toBe(b.tenantId);
      expect(await nexus.server.services.db.prisma.surface.count({ where: { tenantId: a.tenantId } })).toBe(0);
    });

    it('gives each tenant its own keys: the same domain and surface keys coexist', async () => {
      const a = await signUpTenant(nexus);
      const b = await signUpTenant(nexus);
      await addSurface(nexus, a.ownerToken, { key: 'vo2', homeDomain: 'health' });
      await addSurface(nexus, b.ownerToken, { key: 'vo2', homeDomain: 'health' });
      const va = await nexus.gql(ViewerDocument, {}, a.ownerToken);
      expect(va.data?.viewer.tenant.surfaces).toEqual([{ key: 'vo2' }]);
    });
  });
});

