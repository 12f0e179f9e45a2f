// The live event bus, as the rest of the code sees it: a record remembered or forgotten in a domain,
// published per tenant and domain, and access changes. Its implementation lives in server/event-bus.ts.
import { decodeVectorBase64, float32Base64, type StoredRecord } from '../vectors/records.js';

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

/** Mounts or tokens of a tenant changed: open streams must stop and be re-authorised. */
export interface AccessChange {
  tenantId: string;
}

/** The narrow interface every layer uses; in-process or Redis-backed behind it. */
export interface NexusEvents {
  publish(event: NexusEventPayload): void;
  subscribe(tenantId: string, domainKey: string): AsyncIterable<NexusEventPayload>;
  publishAccessChange(tenantId: string): void;
  accessChanges(tenantId: string): AsyncIterable<AccessChange>;
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
