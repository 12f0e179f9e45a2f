// The live event bus, as the rest of the code sees it: a record remembered or forgotten in a domain,
// published per tenant and domain, and access changes. Its implementation lives in server/event-bus.ts.
import { decodeVectorBase64, float32Base64, type StoredRecord } from '../vectors/records.js';
import type { EventStream, EventStreamOptions } from './event-stream.js';

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

/** What a NexusEvent resolves from: an event of the log with its id, or a RESYNC marker of one domain. */
export type NexusEventShape = Omit<NexusEventPayload, 'type'> & { id: string; type: NexusEventType | 'RESYNC' };

/** A record as it travels: dates as ISO strings, the unit vector as base64 of its float32 bytes (exact, compact). */
export type WireRecord = Omit<StoredRecord, 'occurredAt' | 'createdAt' | 'unit'> & { occurredAt: string; createdAt: string; unit: string | null };

export function toWire(record: StoredRecord): WireRecord {
  const unit = record.unit ? float32Base64(record.unit) : null;
  return { ...record, occurredAt: record.occurredAt.toISOString(), createdAt: record.createdAt.toISOString(), unit };
}

export function fromWire(record: WireRecord): StoredRecord {
  let unit: Float32Array | null = null;
  if (record.unit !== null) {
    // Encoded by toWire on a gateway of this deployment: only the length needs reading off.
    unit = decodeVectorBase64(record.unit, Buffer.byteLength(record.unit, 'base64') / 4, 'record.unit');
  }
  return { ...record, occurredAt: new Date(record.occurredAt), createdAt: new Date(record.createdAt), unit };
}

/** Mounts or tokens of a tenant changed: open streams check again what they may read. */
export interface AccessChange {
  tenantId: string;
}

/** The narrow interface every layer uses; in-process or Redis-backed behind it. */
export interface NexusEvents {
  /**
   * Appends the event to its tenant's log (which gives it its id) and delivers it to every stream of the tenant, on
   * every gateway. Fire and forget: a write never waits for it nor fails because of it (an event the log could not
   * take is marked lost, and the streams of its domain are told to resynchronise).
   */
  publish(event: NexusEventPayload): void;
  /**
   * Opens a stream of a tenant's events: those after options.since still kept, then live ones. Rejects with
   * ServiceUnavailableError when the shared log does not answer.
   */
  openStream(options: Omit<EventStreamOptions, 'onClose'>): Promise<EventStream>;
  /** Ends every open stream with SHUTDOWN (their last item says so). */
  endStreams(): void;
  /** Drops everything kept of a tenant's events (erasure). */
  eraseTenant(tenantId: string): Promise<void>;
  /** Mounts or tokens of a tenant changed: its open streams check again what they may read. */
  publishAccessChange(tenantId: string): void;
  /** Calls listener on each access change of the tenant, from any gateway; resolves to the unsubscribe once listening. */
  onAccessChange(tenantId: string, listener: (change: AccessChange) => void): Promise<() => void>;
  /**
   * Who a tenant's tokens are changed (a token revoked, mounts set, a domain added): every gateway drops what it
   * remembers of them. Listeners in this process are told before this returns; other gateways as fast as the
   * channel carries it (Redis, or PostgreSQL NOTIFY between gateways sharing a database without Redis).
   */
  publishViewersChanged(tenantId: string): void;
  /** Calls listener with each tenant whose viewers changed, here or on another gateway; returns an unsubscribe. */
  onViewersChanged(listener: (tenantId: string) => void): () => void;
  /** Whether a change made by another gateway reaches this one now (false while the shared channel is down). */
  viewersChannelUp(): boolean;
  close(): Promise<void>;
}
