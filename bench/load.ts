// `npm run load`: two gateway processes on one PostgreSQL database, one S3 test server and one Redis; 64 clients,
// half on each, for NEXUS_LOAD_SECONDS (default 180) of searches (one domain, and the God View over every domain),
// remembers, burns and top-ups, with SSE subscribers on both gateways. Prints latency per operation kind, throughput
// and errors by code; exits 1 when an error other than a documented one came back, an acknowledged row or event
// went missing (or an event came twice), or a wallet is not exactly its top-ups minus its acknowledged burns.
//
//   npm run load
//   NEXUS_LOAD_SECONDS=30 NEXUS_LOAD_CLIENTS=16 npm run load
import { runBenchmark } from './lib/bench-config.js';
import { report } from './lib/report.js';
import { loadOptionsFromEnv, runLoad } from '../test/helpers/load.js';
import { errorTimeline, loadBroken, loadFigures } from '../test/helpers/load-report.js';

runBenchmark(async () => {
  const result = await runLoad(loadOptionsFromEnv(process.env));
  const broken = loadBroken(result);
  report('load', loadFigures(result), [errorTimeline(result), ...broken.slice(0, 20)]);
  if (broken.length) {
    console.error(`load: invariants broken:\n  ${broken.join('\n  ')}`);
    process.exit(1);
  }
});
