// The token cache on its own, against a real database: it remembers a token that worked, trusts nothing while the
// change channel is down, forgets a tenant's tokens on a change, and never stores what a lookup read before one.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createViewerCache } from '../../src/auth/viewer-cache.js';
import { startNexus, type TestNexus } from '../helpers/nexus.js';
import { signUpTenant, type TestTenant } from '../helpers/fixtures.js';

describe('the viewer cache', () => {
  let nexus: TestNexus;
  let a: TestTenant;
  let b: TestTenant;
  beforeAll(async () => {
    nexus = await startNexus();
    a = await signUpTenant(nexus);
    b = await signUpTenant(nexus);
  });
  afterAll(() => nexus?.close());

  const prisma = () => nexus.server.services.db.prisma;
  const bearer = (t: TestTenant) => `Bearer ${t.ownerToken}`;
  /** Revokes the tenant's owner token in the database behind the cache's back (no change notice). */
  const revokeQuietly = (t: TestTenant) => prisma().token.updateMany({ where: { tenantId: t.tenantId }, data: { revokedAt: new Date() } });
  const restore = (t: TestTenant) => prisma().token.updateMany({ where: { tenantId: t.tenantId }, data: { revokedAt: null } });

  it('answers a remembered token without the database, and forgets a tenant on a change', async () => {
    const cache = createViewerCache(prisma(), { maxAgeMs: 60_000, maxEntries: 100, channelUp: () => true });
    expect((await cache.resolve(bearer(a)))?.tenantId).toBe(a.tenantId);
    expect((await cache.resolve(bearer(b)))?.tenantId).toBe(b.tenantId);
    await revokeQuietly(a);
    try {
      // Remembered: the quiet revocation is not seen (this is what the change notices exist for).
      expect((await cache.resolve(bearer(a)))?.tenantId).toBe(a.tenantId);
      cache.invalidateTenant(a.tenantId);
      await expect(cache.resolve(bearer(a))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      // Only that tenant was forgotten.
      expect(cache.size()).toBe(1);
      expect((await cache.resolve(bearer(b)))?.tenantId).toBe(b.tenantId);
    } finally {
      await restore(a);
    }
  });

  it('remembers nothing while the change channel is down', async () => {
    let up = true;
    const cache = createViewerCache(prisma(), { maxAgeMs: 60_000, maxEntries: 100, channelUp: () => up });
    await cache.resolve(bearer(a));
    expect(cache.size()).toBe(1);
    up = false;
    await revokeQuietly(a);
    try {
      await expect(cache.resolve(bearer(a))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(cache.size()).toBe(0);
    } finally {
      await restore(a);
    }
    expect((await cache.resolve(bearer(a)))?.tenantId).toBe(a.tenantId);
    expect(cache.size()).toBe(0);
  });

  it('does not store an answer read before a change, and trusts an entry no longer than its age', async () => {
    const cache = createViewerCache(prisma(), { maxAgeMs: 1_000, maxEntries: 100, channelUp: () => true });
    // A change lands while the lookup is under way: its answer is returned, not remembered.
    const pending = cache.resolve(bearer(a));
    cache.invalidateTenant(b.tenantId);
    expect((await pending)?.tenantId).toBe(a.tenantId);
    expect(cache.size()).toBe(0);

    const now = Date.now();
    await cache.resolve(bearer(a), new Date(now));
    await revokeQuietly(a);
    try {
      expect((await cache.resolve(bearer(a), new Date(now + 500)))?.tenantId).toBe(a.tenantId);
      await expect(cache.resolve(bearer(a), new Date(now + 1_000))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    } finally {
      await restore(a);
    }
  });

  it('keeps at most maxEntries tokens, and never a token that failed', async () => {
    const cache = createViewerCache(prisma(), { maxAgeMs: 60_000, maxEntries: 1, channelUp: () => true });
    await cache.resolve(bearer(a));
    await cache.resolve(bearer(b));
    expect(cache.size()).toBe(1);
    await expect(cache.resolve(`Bearer nxo_${'x'.repeat(43)}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(cache.resolve('Bearer garbage')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(cache.size()).toBe(1);
    expect(await cache.resolve(null)).toBeNull();
  });
});
