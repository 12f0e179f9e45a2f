// NEXUS_METRICS_PORT: GET /metrics on a port of its own, without a token (bind it where only the scraper reaches).
// Started by main.ts, the only entry that listens.
import { createServer } from 'node:http';
import type { NexusMetrics } from './metrics.js';
import { METRICS_PATH } from './use-metrics.js';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(metrics: NexusMetrics, port: number, host: string): Promise<MetricsServer> {
  const http = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://metrics').pathname !== METRICS_PATH) return void res.writeHead(404).end();
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    metrics.scrape().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => void res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, resolve);
  });
  const address = http.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
