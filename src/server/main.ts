// The only entry that listens on a port and handles signals: parse the
// environment, build the server, serve /graphql, shut down gracefully on SIGTERM or SIGINT.
import { createServer } from 'node:http';
import { ConfigError, loadConfig } from '../config/env.js';
import { createLogger } from '../log/logger.js';
import { createNexusServer } from './create-nexus-server.js';
import { startMetricsServer } from './metrics-server.js';
import { createHttpDrain } from './drain-http-server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`nexus: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const started = performance.now();
  const nexus = await createNexusServer(config, { log }).catch((error: unknown) => {
    // A setting found wrong only by using it (the embedder's dimension, its URL): one line naming the variable.
    if (error instanceof ConfigError) {
      console.error(`nexus: ${error.message}`);
      process.exit(2);
    }
    throw error;
  });
  const http = createServer(nexus.yoga);
  const drain = createHttpDrain(http);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, resolve);
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  // One gateway per process: the process's own metrics (CPU, memory, event loop) join the server's here.
  nexus.metrics?.withProcessMetrics();
  const metricsServer = nexus.metrics && config.metrics.port !== undefined ? await startMetricsServer(nexus.metrics, config.metrics.port, config.host) : null;
  log.info(
    { port, backend: nexus.services.db.backend, storage: config.storageUri.startsWith('s3://') ? 's3' : 'local', startupMs: Math.round(performance.now() - started), metricsPort: metricsServer?.port },
    `nexus listening on http://localhost:${port}/graphql`,
  );

  // Graceful shutdown: no new connections, live streams ended, in-flight requests finished (within
  // NEXUS_SHUTDOWN_TIMEOUT, then cut), then tables, database and the PGlite lock closed. A second signal exits at once.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal during shutdown: exiting now, without closing');
      process.exit(1);
    }
    stopping = true;
    void shutdown(signal).then(
      (code) => process.exit(code),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const shutdown = async (signal: NodeJS.Signals): Promise<number> => {
    const began = performance.now();
    const ms = () => Math.round(performance.now() - began);
    const timeoutMs = config.shutdownTimeoutMs;
    const drained = drain.close(timeoutMs);
    log.info({ signal, timeoutMs, inFlight: drain.inFlight() }, 'shutting down: accepting no new connections');
    // Bounded by the deadline too: a stream that will not end is cut with its connection.
    await Promise.race([
      nexus.endStreams().then(
        () => log.info({ ms: ms() }, 'live streams ended'),
        (error: unknown) => log.warn({ err: error }, 'ending live streams failed; their connections close with the rest'),
      ),
      drained,
    ]);
    const { cut } = await drained;
    if (cut > 0) log.warn({ cut, ms: ms() }, 'shutdown deadline passed: cut the connections of requests still running');
    else log.info({ ms: ms() }, 'in-flight requests finished; every connection closed');
    // Closing waits for index builds under way; one that outlives the deadline is left (like a crash mid-build, it is
    // done again after the next start) rather than holding the exit.
    const closing = Promise.allSettled([nexus.close(), metricsServer?.close()]);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(timeoutMs, 5000))));
    const closed = await Promise.race([closing, late]);
    clearTimeout(timer);
    if (closed === 'late') {
      log.warn({ ms: ms() }, 'closing took longer than the deadline (an index build under way?): exiting; it is done again after the next start');
      return 0;
    }
    const failed = closed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      log.error({ err: failed.reason, ms: ms() }, 'shutdown failed');
      return 1;
    }
    log.info({ ms: ms() }, 'shut down: tables, database and metrics closed');
    return 0;
  };
  // A promise nobody awaited that failed (a fire-and-forget publish, a client library's internal retry) is a defect to
  // see in the log, not a reason to drop every request in flight with the process.
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`nexus: failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
