// What every gateway benchmark starts from: its own data directory, rate limits off (one token sends thousands of
// requests, and the benchmarks measure them, not the limiter), silent logs, and DATABASE_URL (a scratch PostgreSQL
// database) passed through to measure the server backend instead of embedded PGlite.
import { loadConfig, type Config } from '../../src/config/env.js';

export function benchConfig(dataDir: string, dimension: number, extra: Record<string, string> = {}): Config {
  const databaseUrl = process.env.DATABASE_URL;
  return loadConfig({
    NEXUS_DATA_DIR: dataDir,
    NEXUS_VECTOR_DIM: String(dimension),
    LOG_LEVEL: 'silent',
    NEXUS_RATE_LIMIT_PER_MINUTE: '0',
    NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '0',
    NEXUS_SIGNUP_RATE_LIMIT_PER_HOUR: '0',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...extra,
  });
}

/** Runs a benchmark's main: any failure prints its stack and exits 1. */
export function runBenchmark(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  });
}
