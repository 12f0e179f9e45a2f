// Live events under a soak, kept small for the suite: 40 well-behaved SSE subscribers over real sockets on one
// gateway process, 500 events remembered in batches of 50, two more subscribers that drop their connection midway
// and resume with Last-Event-ID. `npm run soak` is the full run (200 × 5,000); NEXUS_SOAK_* resize this one.
import { describe, expect, it } from '@jest/globals';
import { runSoak, soakOptionsFromEnv } from '../helpers/soak.js';
import { soakBroken, soakFigures, soakLimitsFromEnv } from '../helpers/soak-report.js';

const fmt = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)) : 'n/a');

describe('live events under a soak', () => {
  it('gives every subscriber every event once and in order, resumes without a gap or a repeat, and releases every stream', async () => {
    const options = soakOptionsFromEnv(process.env, { subscribers: 40, events: 500, batch: 50, resumers: 2, drainMs: 20_000, log: () => undefined });
    const limits = soakLimitsFromEnv(process.env, options);
    const result = await runSoak(options);
    console.log(`soak:\n${soakFigures(result, limits).map((f) => `  ${f.name}: ${fmt(f.value)} ${f.unit}`.trimEnd()).join('\n')}`);

    const total = options.subscribers + options.resumers;
    expect(result.wrong).toEqual([]);
    expect(result.endedEarly).toEqual([]);
    expect(result.complete).toBe(total);
    expect(result.eventsDelivered).toBe(total * options.events);
    expect(result.resumes).toBeGreaterThanOrEqual(options.resumers);
    expect(result.subscriptionsLeftOpen).toBe(0);
    expect(soakBroken(result, limits)).toEqual([]);
  }, 90_000);
});
