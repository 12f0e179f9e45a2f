// The event bus behind events/nexus-events.ts: Yoga's pub/sub, in-process by default or over Redis
// (shared by every gateway) when REDIS_URL is set. The only file that knows how events travel.
import { createPubSub, type PubSub } from 'graphql-yoga';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import type { AccessChange, NexusEventPayload, NexusEvents } from '../events/nexus-events.js';
import type { Logger } from '../log/logger.js';

type Topics = Record<string, [NexusEventPayload | AccessChange]>;

// Tenant ids and domain keys match ^[a-z][a-z0-9-]*$, so neither topic can be ambiguous.
const topic = (tenantId: string, domainKey: string) => `nexus:${tenantId}:${domainKey}`;
const accessTopic = (tenantId: string) => `nexus-access:${tenantId}`;

const REDIS_CONNECT_TIMEOUT_MS = 5000;

/**
 * In-process events, or Redis when redisUrl is set. With Redis, start-up fails unless it answers; after that an
 * outage loses events (logged, at most every 10 s) but never a request or the process.
 */
export async function createEventBus(redisUrl: string | undefined, log: Logger): Promise<NexusEvents> {
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
  return {
    publish: (event) => pubsub.publish(topic(event.tenantId, event.domainKey), event),
    subscribe: (tenantId, domainKey) => pubsub.subscribe(topic(tenantId, domainKey)) as AsyncIterable<NexusEventPayload>,
    publishAccessChange: (tenantId) => pubsub.publish(accessTopic(tenantId), { tenantId }),
    accessChanges: (tenantId) => pubsub.subscribe(accessTopic(tenantId)) as AsyncIterable<AccessChange>,
    close: async () => {
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
