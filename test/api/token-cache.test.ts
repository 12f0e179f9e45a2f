// Gateways remember who a token is, and forget it on every gateway as soon as it changes: a token revoked
// (or a mount removed) on one gateway is refused on the other within a second, over Redis and over
// PostgreSQL NOTIFY alike.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { createTestDatabase, postgresAvailable, redisAvailable } from '../helpers/nexus.js';

const DIM = 4;
const pgUp = await postgresAvailable();
const redisUp = await redisAvailable();

const SEARCH = `query { search(input: { vector: [1, 0, 0, 0], domains: ["health"] }) { hits { record { id } } } }`;

/** Polls until the token is refused on the gateway; the milliseconds it took (fails after 5 s). */
async function refusedWithin(gateway: GatewayProcess, token: string, query: string, start: number): Promise<number> {
  for (;;) {
    const res = await gateway.gql(query, {}, token);
    const code = res.errors?.[0]?.extensions?.code;
    if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') return performance.now() - start;
    if (res.errors) throw new Error(`unexpected answer: ${JSON.stringify(res.errors)}`);
    if (performance.now() - start > 5000) throw new Error('still accepted after 5 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const channels: [string, boolean][] = [
  ['PostgreSQL NOTIFY (no Redis)', pgUp],
  ['Redis', pgUp && redisUp],
];

describe.each(channels)('the token cache across two gateways, over %s', (channel, available) => {
  const gateways: GatewayProcess[] = [];
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await drop?.();
  });

  (available ? it : it.skip)('refuses a revoked token, and a removed mount, on the other gateway within a second', async () => {
    const database = await createTestDatabase('nexus_cache');
    drop = database.drop;
    const env: Record<string, string> = {
      DATABASE_URL: database.url,
      NEXUS_VECTOR_DIM: String(DIM),
      NEXUS_DATA_DIR: path.join(tmpdir(), `nexus-cache-${randomBytes(4).toString('hex')}`),
      NEXUS_RATE_LIMIT_PER_MINUTE: '0',
      NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '0',
      // Long enough that only the change notice, never the entry's age, can explain a refusal within a second.
      NEXUS_TOKEN_CACHE_SECONDS: '600',
      ...(channel === 'Redis' ? { REDIS_URL: `redis://127.0.0.1:6379/${1 + Number.parseInt(randomBytes(1).toString('hex'), 16) % 14}` } : {}),
    };
    const [a, b] = (await Promise.all([startGatewayProcess(env), startGatewayProcess(env)])) as [GatewayProcess, GatewayProcess];
    gateways.push(a, b);

    const signUp = await a.gql('mutation($e: String!) { signUp(input: { email: $e, domains: ["health", "sleep"] }) { ownerToken } }', { e: `cache-${Date.now()}@example.com` });
    const owner = signUp.data.signUp.ownerToken as string;
    const created = await a.gql('mutation { createSurface(input: { key: "vo2", homeDomain: "sleep", mounts: [{ domain: "health", access: READ }] }) { key } }', {}, owner);
    expect(created.errors).toBeUndefined();
    const issued = await a.gql('mutation { issueSurfaceToken(input: { surface: "vo2" }) { id token } }', {}, owner);
    expect(issued.errors).toBeUndefined();
    const { id, token } = issued.data.issueSurfaceToken as { id: string; token: string };

    // Both gateways have seen (and so remember) the token.
    for (let i = 0; i < 3; i++) {
      expect((await a.gql(SEARCH, {}, token)).errors).toBeUndefined();
      expect((await b.gql(SEARCH, {}, token)).errors).toBeUndefined();
    }

    // A mount removed on gateway A: gateway B refuses the read.
    let start = performance.now();
    expect((await a.gql('mutation { setMounts(input: { surface: "vo2", mounts: [] }) { key } }', {}, owner)).errors).toBeUndefined();
    const unmounted = await refusedWithin(b, token, SEARCH, start);
    expect((await b.gql(SEARCH, {}, token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // The token revoked on gateway A: gateway B refuses it.
    const OWN = `query { viewer { surface { key } } }`;
    expect((await b.gql(OWN, {}, token)).errors).toBeUndefined();
    start = performance.now();
    expect((await a.gql('mutation($id: ID!) { revokeToken(id: $id) }', { id }, owner)).errors).toBeUndefined();
    const revoked = await refusedWithin(b, token, OWN, start);
    expect((await b.gql(OWN, {}, token)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // And the gateway that revoked it refuses it at once.
    expect((await a.gql(OWN, {}, token)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    console.log(`${channel}: mount removal refused on the other gateway after ${unmounted.toFixed(0)} ms, revocation after ${revoked.toFixed(0)} ms`);
    expect(unmounted).toBeLessThan(1000);
    expect(revoked).toBeLessThan(1000);
  }, 120_000);
});
