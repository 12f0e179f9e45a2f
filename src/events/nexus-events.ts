// Live events: a record remembered or forgotten in a domain, published per
// tenant and domain, in-process by default or through Redis across gateways.
import { createPubSub, type PubSub } from 'graphql-yoga';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
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

export function createNexusEvents(redisUrl?: string): NexusEvents {
  let clients: Redis[] = [];
  let pubsub: PubSub<Topics>;
  if (redisUrl) {
    const publishClient = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
    const subscribeClient = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
    clients = [publishClient, subscribeClient];
    pubsub = createPubSub<Topics>({ eventTarget: createRedisEventTarget({ publishClient, subscribeClient }) });
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
