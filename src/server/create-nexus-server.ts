// createNexusServer: wires config, database, vector stores, events and the
// shielded schema into a Yoga instance. It does not listen; main.ts does.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { Config } from '../config/env.js';
import { createDatabase } from '../db/create-database.js';
import { createLogger, type Logger } from '../log/logger.js';
import { createRateLimits } from '../limits/rate-limits.js';
import { createVectorStores } from '../vectors/store.js';
import { createViewerCache } from '../auth/viewer-cache.js';
import type { NexusContext, Services } from '../graphql/context.js';
import { isClientError, toClientError } from '../graphql/errors.js';
import { createLoaders } from '../graphql/loaders/create-loaders.js';
import { createSchema } from '../graphql/schema.js';
import { createEventBus } from './event-bus.js';
import { useRequestParser } from './use-request-parser.js';
import { clientAddress } from './client-address.js';
import { corsFor } from './cors.js';
import { useQueryLimits } from './use-query-limits.js';
import { createEarlyViewer } from './use-early-viewer.js';
import { useRequestLog } from './use-request-log.js';
import { storageOptionsFor } from './storage-options.js';
import { createEmbedder, probeEmbedder } from '../embeddings/embedder.js';
import { embedQueries } from '../embeddings/metered.js';
import { createObjectStorage } from '../vectors/objects.js';
import { resumeErasures } from '../tenancy/erasure.js';
import { createUsageCache } from '../tenancy/usage.js';
import { createCleanupScheduler } from '../memories/cleanup.js';
import { createMetrics, type NexusMetrics } from './metrics.js';
import { instrumentVectorStores } from './instrument-vectors.js';
import { useMetrics } from './use-metrics.js';
import { createReadiness } from './readiness.js';
import { useHealth } from './use-health.js';
import { useExport } from './use-export.js';
import { useEventStream, type EventCursor } from './use-event-stream.js';
import { resolveViewer } from '../auth/viewer.js';

export interface NexusServer {
  readonly yoga: YogaServerInstance<ServerContext, NexusContext>;
  readonly services: Services;
  /** Prometheus metrics; null when off (neither NEXUS_METRICS_TOKEN nor NEXUS_METRICS_PORT is set). */
  readonly metrics: NexusMetrics | null;
  /** Ends every open nexusEvents stream with the reason SHUTDOWN (a final event saying so); the first step of a shutdown. */
  endStreams(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_QUERY = `# Nexus: one place for a person's AI context.
# 1. Run signUp (no token needed), copy ownerToken,
# 2. add the header {"Authorization": "Bearer <ownerToken>"} below, then explore.
mutation SignUp {
  signUp(input: { email: "you@example.com", displayName: "You" }) {
    ownerToken
    tenant { id domains { key name } }
  }
}

query ServerInfo {
  serverInfo { vectorDimension version }
}
`;

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** What Node's HTTP server hands Yoga with each request (nothing, for in-process yoga.fetch). */
type ServerContext = { req?: IncomingMessage };

export async function createNexusServer(config: Config, options: { log?: Logger } = {}): Promise<NexusServer> {
  const log = options.log ?? createLogger(config.logLevel);
  // The embedder is checked first (one probe request): a wrong dimension or an unreachable server stops start-up
  // with a ConfigError naming the variable, before anything is opened.
  const embedder = createEmbedder(config.embedder, config.vectorDimension, log.child({ component: 'embedder' }));
  if (embedder) await probeEmbedder(embedder, config.vectorDimension);
  const db = await createDatabase(config);
  if (db.migrations.applied.length) log.info({ applied: db.migrations.applied }, 'migrations applied');
  if (db.migrations.modified.length) log.warn({ modified: db.migrations.modified }, 'applied migrations were edited afterwards');
  const stores = createVectorStores({
    root: config.storageUri,
    dimension: config.vectorDimension,
    cacheSize: config.tableCacheSize,
    storageOptions: storageOptionsFor(config),
    withLock: db.withSharedLock,
    tryLock: db.tryWithSharedLock,
    index: config.index,
    text: config.text,
    requestTimeoutMs: config.timeouts.storageMs,
    log: log.child({ component: 'index' }),
  });
  // Metrics are collected only when something may read them (NEXUS_METRICS_TOKEN or NEXUS_METRICS_PORT).
  const metrics = config.metrics.token !== undefined || config.metrics.port !== undefined ? createMetrics(stores) : null;
  const vectors = metrics ? instrumentVectorStores(stores, metrics) : stores;
  const events = await createEventBus(config.redisUrl, log, {
    retention: { ms: config.events.retentionMs, events: config.events.retentionEvents },
    databaseUrl: config.databaseUrl,
    notify: (channel, payload) => db.prisma.$executeRaw`SELECT pg_notify(${channel}, ${payload})`,
  }).catch(async (error: unknown) => {
    await vectors.close();
    await db.close();
    throw error;
  });
  const rateLimits = createRateLimits(config.rateLimits, config.redisUrl, log, { timeoutMs: config.timeouts.redisMs });
  const objects = createObjectStorage(config.storageUri, config.s3, { timeoutMs: config.timeouts.storageMs });
  const usage = createUsageCache({ db, vectors, objects });
  const cleanup = createCleanupScheduler({ db, vectors, log: log.child({ component: 'cleanup' }), windowMs: config.cleanupWindowMs });
  const services: Services = { config, db, vectors, objects, usage, cleanup, embedder, events, rateLimits, log, creditMeter: metrics?.credits };
  const readiness = createReadiness(config, db);
  // Erasures a crash interrupted are finished in the background: their tokens are already revoked.
  void resumeErasures(services).then(
    (done) => done.forEach((r) => log.info({ tenant: r.tenantId, objects: r.objects, ms: r.ms }, 'interrupted erasure finished')),
    (error: unknown) => log.error({ err: error }, 'resuming an interrupted erasure failed; it is retried at the next start-up'),
  );
  const requestIds = new WeakMap<Request, string>();
  const eventCursors = new WeakMap<Request, EventCursor>();
  const viewers = createViewerCache(db.prisma, { maxAgeMs: config.tokenCacheSeconds * 1000, maxEntries: 10_000, channelUp: events.viewersChannelUp });
  events.onViewersChanged((tenantId) => viewers.invalidateTenant(tenantId));
  const earlyViewer = createEarlyViewer((header) => viewers.resolve(header));

  const yoga = createYoga<ServerContext, NexusContext>({
    schema: createSchema(),
    graphqlEndpoint: '/graphql',
    cors: corsFor(config.corsOrigins),
    landingPage: false,
    // useRequestParser bounds the body itself (NEXUS_MAX_BODY_BYTES, PAYLOAD_TOO_LARGE). Yoga's own limit would pipe
    // every body through a second stream (about 120 µs of CPU a request) and cap it at 25 MB with another code.
    maxRequestBodySize: false,
    graphiql: config.graphiql ? { title: 'Nexus', defaultQuery: DEFAULT_QUERY } : false,
    renderGraphiQL,
    // Every error a client sees passes through the one mapping at the edge: domain errors keep their code,
    // anything else is masked as INTERNAL_SERVER_ERROR (use-request-log.ts logs its cause).
    maskedErrors: { maskError: (error, message) => toClientError(error, message) },
    logging: {
      debug: (...args) => log.debug(args.map(String).join(' ')),
      info: (...args) => log.info(args.map(String).join(' ')),
      warn: (...args) => log.warn(args.map(String).join(' ')),
      // Yoga reports each error it maps; a client's own mistake is not the operator's error.
      error: (...args) => {
        if (!args.some(isClientError)) log.error(args.map(String).join(' '));
      },
    },
    plugins: [
      // First: /ready and /metrics answer before any token lookup or request parsing.
      ...useHealth(readiness),
      ...(metrics ? [useMetrics(metrics, config.metrics.token)] : []),
      earlyViewer.plugin,
      useRequestLog(log, requestIds),
      useExport({ services, viewerOf: earlyViewer.viewerOf }),
      // Bounded bodies (an oversize request is refused before it is read whole), checked GET parameters.
      useRequestParser(config.maxBodyBytes),
      // Bounded documents: no query nests, aliases or spreads its way into unbounded work.
      ...useQueryLimits(config.queryLimits, { production: config.production, introspection: config.introspection }),
      // Live streams over SSE: event ids, heartbeats, pulled as fast as the socket drains.
      useEventStream((request) => eventCursors.get(request), config.events.heartbeatMs),
    ],
    context: async ({ request, req }) => {
      const header = request.headers.get('x-request-id');
      const requestId = header && REQUEST_ID.test(header) ? header : randomUUID();
      requestIds.set(request, requestId);
      const address = clientAddress(request, req, config.trustProxy);
      // A valid token is counted by itself; everything else (no token, a bad one) by the address it comes from,
      // so inventing tokens buys no extra requests.
      const viewer = await earlyViewer.viewerOf(request).catch(async (error: unknown) => {
        await rateLimits.consume('anonymous', address);
        throw error;
      });
      await (viewer ? rateLimits.consume('token', viewer.tokenId) : rateLimits.consume('anonymous', address));
      const eventCursor: EventCursor = { id: null };
      eventCursors.set(request, eventCursor);
      return {
        services,
        viewer,
        loaders: createLoaders(db.prisma, vectors, embedder && viewer ? (texts) => embedQueries(services, viewer, texts) : undefined),
        log: log.child({ requestId }),
        requestId,
        signedUpTenantIds: new Set<string>(),
        clientAddress: address,
        lastEventId: request.headers.get('last-event-id'),
        revalidateViewer: () => resolveViewer(db.prisma, request.headers.get('authorization')),
        eventCursor,
      };
    },
  });

  return {
    yoga,
    services,
    metrics,
    endStreams: async () => events.endStreams(),
    close: async () => {
      await readiness.close();
      await events.close();
      await rateLimits.close();
      await cleanup.close();
      await vectors.close();
      objects.close();
      await db.close();
    },
  };
}
