// `npm run soak`: 200 SSE subscribers on one tenant's domain of one gateway process, a writer remembering 5,000
// records in batches of 50, two more subscribers that drop out midway and resume with Last-Event-ID. Prints the
// delivery time and rate, the lag, the gateway's event-loop delay and memory before, during and after; exits 1 when
// a remember failed, a subscriber missed, repeated or reordered an event, a stream ended early or was not released,
// or memory grew past its bound.
//
//   npm run soak
//   NEXUS_SOAK_SUBSCRIBERS=40 NEXUS_SOAK_EVENTS=500 NEXUS_SOAK_REDIS=1 npm run soak   # smaller, event log in Redis
import { runBenchmark } from './lib/bench-config.js';
import { report } from './lib/report.js';
import { runSoak, soakOptionsFromEnv } from '../test/helpers/soak.js';
import { soakBroken, soakFigures, soakLimitsFromEnv } from '../test/helpers/soak-report.js';

runBenchmark(async () => {
  const options = soakOptionsFromEnv(process.env);
  const limits = soakLimitsFromEnv(process.env, options);
  const result = await runSoak(options);
  const broken = soakBroken(result, limits);
  report('soak', soakFigures(result, limits), broken.slice(0, 20));
  if (broken.length) {
    console.error(`soak: invariants broken:\n  ${broken.join('\n  ')}`);
    process.exit(1);
  }
});
