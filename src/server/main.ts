// The only entry that listens on a port and handles signals: parse the
// environment, build the server, serve /graphql, shut down cleanly.
import { createServer } from 'node:http';
import { ConfigError, loadConfig } from '../config/env.js';
import { createLogger } from '../log/logger.js';
import { createNexusServer } from './create-nexus-server.js';
import { startMetricsServer } from './metrics-server.js';

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

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    http.closeAllConnections();
    http.close(() => {
      Promise.all([metricsServer?.close(), nexus.close()])
        .then(() => process.exit(0))
        .catch((error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        });
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`nexus: failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
