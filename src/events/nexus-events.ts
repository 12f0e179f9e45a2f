// Live events: a record remembered or forgotten in a domain, published per
// tenant and domain, in-process by default or through Redis across gateways.
import { createPubSub, type PubSub } from 'graphql-yoga';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';
import type { StoredRecord } from '../vectors/records.js';

export type NexusEventType = 'REMEMBERED' | 'FORGOTTEN';

/** What travels on the bus: JSON-safe (dates as ISO strings). */
export interface NexusEventPayload {
  type: NexusEventType;
  tenantId: string;
  domainKey: string;
  surfaceId: string | null;
  record: WireRecord | null;
  /** Set for FORGOTTEN. */
  recordId?: string;
}

export type WireRecord = Omit<StoredRecord, 'occurredAt' | 'createdAt'> & { occurredAt: string; createdAt: string };

export function toWire(record: StoredRecord): WireRecord {
  return { ...record, occurredAt: record.occurredAt.toISOString(), createdAt: record.createdAt.toISOString() };
}

export function fromWire(record: WireRecord): StoredRecord {
  return { ...record, occurredAt: new Date(record.occurredAt), createdAt: new Date(record.createdAt) };
}

/** Mounts or tokens of a tenant changed: open streams must stop and be re-authorised. */
export interface AccessChange {
  tenantId: string;
}

type Topics = Record<string, [NexusEventPayload | AccessChange]>;

export interface NexusEvents {
  publish(event: NexusEventPayload): void;
  subscribe(tenantId: string, domainKey: string): AsyncIterable<NexusEventPayload>;
  publishAccessChange(tenantId: string): void;
  accessChanges(tenantId: string): AsyncIterable<AccessChange>;
  close(): Promise<void>;
}

// Tenant ids and domain keys match ^[a-z][a-z0-9-]*$, so neither topic can be ambiguous.
const topic = (tenantId: string, domainKey: string) => `nexus:${tenantId}:${domainKey}`;
const accessTopic = (tenantId: string) => `nexus-access:${tenantId}`;

const REDIS_CONNECT_TIMEOUT_MS = 5000;

/**
 * In-process events, or Redis when redisUrl is set. With Redis, start-up fails unless it answers; after that an
 * outage loses events (logged, at most every 10 s) but never a request or the process.
 */
export async function createNexusEvents(redisUrl: string | undefined, log: Logger): Promise<NexusEvents> {
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
