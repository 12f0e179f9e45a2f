// Two gateways under a short mixed load, kept small for the suite: two gateway processes on one PostgreSQL database,
// one S3 test server and one Redis, 32 clients (half on each) for 15 s of searches, God View searches, remembers,
// burns and top-ups, and SSE subscribers on both. `npm run load` is the full run; NEXUS_LOAD_* resize this one.
import { describe, expect, it } from '@jest/globals';
import { loadOptionsFromEnv, runLoad } from '../helpers/load.js';
import { DOCUMENTED_ERRORS, errorTimeline, loadBroken, loadFigures, subscriberTallies } from '../helpers/load-report.js';
import { postgresAvailable, serviceAvailable } from '../helpers/nexus.js';
import { redisServerAvailable } from '../helpers/redis-server.js';

const available =
  (await postgresAvailable()) &&
  (await serviceAvailable('redis-server (/usr/bin/redis-server)', async () => {
    if (!redisServerAvailable()) throw new Error('absent');
  }));

const fmt = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)) : 'n/a');

(available ? describe : describe.skip)('two gateways under a mixed load', () => {
  it('answers only documented errors, loses no row or event, repeats no event and keeps every wallet exact', async () => {
    const result = await runLoad(loadOptionsFromEnv(process.env, { seconds: 15, clients: 32, tenants: 4, subscribersPerGateway: 3, log: () => undefined }));
    console.log(`load:\n${loadFigures(result).map((f) => `  ${f.name}: ${fmt(f.value)} ${f.unit}`.trimEnd()).join('\n')}\n  ${errorTimeline(result)}`);

    expect([...result.books.errors.keys()].filter((code) => !DOCUMENTED_ERRORS.has(code))).toEqual([]);
    // Every acknowledged row is there, on both gateways (and nothing else: no write failed, so none is uncertain).
    for (const store of result.stores) expect(store).toEqual({ ...store, uncertain: 0, counted: store.counted.map(() => store.acknowledged) });
    // Each subscriber saw every acknowledged write of its domains (from either gateway) once, and nothing else.
    for (const { label, expected, ...faults } of subscriberTallies(result)) {
      expect(expected).toBeGreaterThan(0);
      expect({ label, ...faults }).toEqual({ label, missing: [], duplicated: [], unexpected: [], oddities: [] });
    }
    // Every wallet is its top-ups minus its acknowledged burns, on both gateways, and so is its ledger.
    for (const wallet of result.wallets) {
      expect(wallet.balances).toEqual(wallet.balances.map(() => wallet.expected));
      expect(wallet.ledgerSum).toBe(wallet.expected);
      expect(wallet.burnEntries).toBe(wallet.acknowledgedBurns);
      expect(wallet.topUpEntries).toBe(wallet.acknowledgedTopUps);
      expect(wallet.brokenChain).toBe(0);
    }
    expect(loadBroken(result)).toEqual([]);
  }, 120_000);
});
