// The event bus behind events/nexus-events.ts: Yoga's pub/sub, in-process by default or over Redis
// (shared by every gateway) when REDIS_URL is set. The only file that knows how events travel.
import { createPubSub, type PubSub } from 'graphql-yoga';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { AccessChange, NexusEventPayload, NexusEvents } from '../events/nexus-events.js';
import type { Logger } from '../log/logger.js';

type Topics = Record<string, [NexusEventPayload | AccessChange]>;

// Tenant ids and domain keys match ^[a-z][a-z0-9-]*$, so neither topic can be ambiguous.
const topic = (tenantId: string, domainKey: string) => `nexus:${tenantId}:${domainKey}`;
const accessTopic = (tenantId: string) => `nexus-access:${tenantId}`;
const VIEWERS_TOPIC = 'nexus-viewers';
const VIEWERS_CHANNEL = 'nexus_viewers';

const REDIS_CONNECT_TIMEOUT_MS = 5000;

/**
 * In-process events, or Redis when redisUrl is set. With Redis, start-up fails unless it answers; after that an
 * outage loses events (logged, at most every 10 s) but never a request or the process. Without Redis, gateways
 * sharing a PostgreSQL database (databaseUrl) tell each other of viewer changes through LISTEN/NOTIFY.
 */
export interface EventBusOptions {
  /** PostgreSQL shared by the gateways, for LISTEN when there is no Redis. */
  databaseUrl?: string;
  /** Sends a NOTIFY on the application's own database connection (so the sender's channel being down does not matter). */
  notify?: (channel: string, payload: string) => Promise<unknown>;
}

export async function createEventBus(redisUrl: string | undefined, log: Logger, options: EventBusOptions = {}): Promise<NexusEvents> {
  let clients: Redis[] = [];
  let pubsub: PubSub<Topics>;
  if (redisUrl) {
    let lastReport = 0;
    const report = (error: unknown) => {
      if (Date.now() - lastReport < 10_000) return;
      lastReport = Date.now();
      log.warn({ err: error instanceof Error ? error.message : String(error) }, 'redis unavailable: live events are not shared until it is back');
    };
    const options = { lazyConnect: true, connectTimeout: REDIS_CONNECT_TIMEOUT_MS, maxRetriesPerRequest: 3 };
    const publishClient = new Redis(redisUrl, options);
    const subscribeClient = new Redis(redisUrl, options);
    clients = [publishClient, subscribeClient];
    for (const client of clients) client.on('error', report);
    try {
      await Promise.all(clients.map((c) => c.connect()));
    } catch (error) {
      clients.forEach((c) => c.disconnect());
      throw new Error(`REDIS_URL: cannot connect to Redis (${error instanceof Error ? error.message : String(error)})`);
    }
    // The event target fires and forgets these calls; catch their failures so an outage cannot crash the process.
    const safePublish = { publish: (channel: string, message: string) => publishClient.publish(channel, message).catch(report) };
    const safeSubscribe = {
      on: subscribeClient.on.bind(subscribeClient),
      subscribe: (topicName: string) => subscribeClient.subscribe(topicName).catch(report),
      unsubscribe: (topicName: string) => subscribeClient.unsubscribe(topicName).catch(report),
    };
    pubsub = createPubSub<Topics>({
      eventTarget: createRedisEventTarget({ publishClient: safePublish as unknown as Redis, subscribeClient: safeSubscribe as unknown as Redis }),
    });
  } else {
    pubsub = createPubSub<Topics>();
  }

  // Viewer changes: local listeners at once; other gateways through Redis, or NOTIFY, or (one process) nobody.
  const listeners = new Set<(tenantId: string) => void>();
  const tell = (tenantId: string) => listeners.forEach((listener) => listener(tenantId));
  let remote: { publish(tenantId: string): void; up(): boolean; close(): Promise<void> };
  if (redisUrl) {
    const [publishClient, subscribeClient] = clients as [Redis, Redis];
    const iterator = pubsub.subscribe(VIEWERS_TOPIC)[Symbol.asyncIterator]();
    void (async () => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) tell((next.value as AccessChange).tenantId);
    })().catch((error: unknown) => log.warn({ err: String(error) }, 'viewer change listener stopped'));
    remote = {
      publish: (tenantId) => pubsub.publish(VIEWERS_TOPIC, { tenantId }),
      up: () => publishClient.status === 'ready' && subscribeClient.status === 'ready',
      close: async () => void (await iterator.return?.()),
    };
  } else if (options.databaseUrl) {
    remote = await listenForViewerChanges(options.databaseUrl, options.notify, tell, log);
  } else {
    remote = { publish: () => undefined, up: () => true, close: async () => undefined };
  }

  return {
    publishViewersChanged: (tenantId) => {
      tell(tenantId);
      remote.publish(tenantId);
    },
    onViewersChanged: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    viewersChannelUp: () => remote.up(),
    publish: (event) => pubsub.publish(topic(event.tenantId, event.domainKey), event),
    subscribe: (tenantId, domainKey) => pubsub.subscribe(topic(tenantId, domainKey)) as AsyncIterable<NexusEventPayload>,
    publishAccessChange: (tenantId) => pubsub.publish(accessTopic(tenantId), { tenantId }),
    accessChanges: (tenantId) => pubsub.subscribe(accessTopic(tenantId)) as AsyncIterable<AccessChange>,
    close: async () => {
      await remote.close();
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

/**
 * LISTEN/NOTIFY on one dedicated connection: notifications from every gateway on the database (this one's too).
 * While the connection is down the channel reports itself down, and it reconnects every second.
 */
async function listenForViewerChanges(url: string, notify: EventBusOptions['notify'], tell: (tenantId: string) => void, log: Logger) {
  let client: pg.Client | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url });
    next.on('notification', (message) => {
      if (message.channel === VIEWERS_CHANNEL && message.payload) tell(message.payload);
    });
    const lost = (error?: unknown) => {
      if (client !== next) return;
      client = null;
      log.warn({ err: error instanceof Error ? error.message : undefined }, 'viewer change channel (PostgreSQL LISTEN) lost: tokens are looked up on every request until it is back');
      next.end().catch(() => undefined);
      retry();
    };
    next.on('error', lost);
    next.on('end', () => lost());
    await next.connect();
    await next.query(`LISTEN ${VIEWERS_CHANNEL}`);
    client = next;
  };
  const retry = () => {
    if (!closed) timer = setTimeout(() => void connect().catch(() => retry()), 1000);
  };
  await connect();
  return {
    publish: (tenantId: string) => {
      // Fire and forget, like the other events: the change itself is committed already.
      const sent = notify ? notify(VIEWERS_CHANNEL, tenantId) : client?.query('SELECT pg_notify($1, $2)', [VIEWERS_CHANNEL, tenantId]);
      sent?.catch((error: unknown) => log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not tell other gateways of a viewer change'));
    },
    up: () => client !== null,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      const last = client;
      client = null;
      await last?.end().catch(() => undefined);
    },
  };
}
