// A tenant's events in order, kept for a while so that a stream that reconnects can be given what it missed.
// Ids are `<milliseconds>-<sequence>`, the form of Redis stream ids, so both logs hand out the same kind.
// Here: the bounded in-process log (no REDIS_URL). The Redis one lives in server/event-bus.ts.
import type { NexusEventPayload } from './nexus-events.js';

/** One entry of a tenant's log: an event, or a marker that events of a domain were lost (never reached the log). */
export type LogEntry = { readonly id: string; readonly event: NexusEventPayload } | { readonly id: string; readonly lost: { readonly domainKey: string } };

export interface ReplayPage {
  /** Entries after the asked id, oldest first, at most the page size. */
  readonly entries: LogEntry[];
  /**
   * Entries up to this id are no longer kept (retention, a restart): an `after` below it may have missed some. Null
   * when nothing was ever dropped.
   */
  readonly floor: string | null;
}

export const EVENT_ID = /^\d{1,16}-\d{1,20}$/;
const MAX_SEQUENCE = 18446744073709551615n;

function parts(id: string): [number, bigint] {
  const dash = id.indexOf('-');
  return [Number(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
}

/** Orders two event ids: negative when a comes first. */
export function compareIds(a: string, b: string): number {
  const [am, as] = parts(a);
  const [bm, bs] = parts(b);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** The greatest id before this one (a floor that keeps the entry itself). */
export function previousId(id: string): string {
  const [ms, seq] = parts(id);
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0 ? `${ms - 1}-${MAX_SEQUENCE}` : '0-0';
}

export interface Retention {
  /** How long an entry is kept (ms). */
  readonly ms: number;
  /** How many entries a tenant keeps at most. */
  readonly events: number;
}

interface TenantLog {
  entries: { id: string; at: number; entry: LogEntry }[];
  /** Index of the first kept entry in `entries` (dropped ones are compacted away in bulk). */
  head: number;
  floor: string | null;
  /** When the log was made (an empty one is kept for the retention, so its floor is remembered). */
  made: number;
}

/** The log of every tenant in this process: bounded by count and age per tenant; an idle tenant's log is dropped whole. */
export function createMemoryEventLog(retention: Retention, now: () => number = Date.now) {
  const logs = new Map<string, TenantLog>();
  let lastMs = 0;
  let sequence = 0;
  const nextId = () => {
    const ms = now();
    if (ms > lastMs) {
      lastMs = ms;
      sequence = 0;
    } else {
      sequence++;
    }
    return `${lastMs}-${sequence}`;
  };
  const trim = (log: TenantLog) => {
    const cutoff = now() - retention.ms;
    let dropped: string | null = null;
    while (log.head < log.entries.length && (log.entries.length - log.head > retention.events || log.entries[log.head]!.at <= cutoff)) {
      dropped = log.entries[log.head]!.id;
      log.head++;
    }
    if (dropped !== null) log.floor = dropped;
    if (log.head > 1024 && log.head * 2 > log.entries.length) {
      log.entries = log.entries.slice(log.head);
      log.head = 0;
    }
  };
  // Idle tenants: a log whose every entry has aged out goes, floor and all (a later replay then reports a gap).
  const sweep = setInterval(() => {
    for (const [tenantId, log] of logs) {
      trim(log);
      if (log.head >= log.entries.length && log.made <= now() - retention.ms) logs.delete(tenantId);
    }
  }, Math.min(60_000, Math.max(1000, retention.ms)));
  sweep.unref();

  return {
    /** Appends an event or a lost-marker; returns the entry with its id. */
    append(tenantId: string, make: (id: string) => LogEntry): LogEntry {
      const id = nextId();
      let log = logs.get(tenantId);
      if (!log) {
        // Nothing before this entry is known here (this process began, or the tenant was idle past the retention).
        log = { entries: [], head: 0, floor: previousId(id), made: now() };
        logs.set(tenantId, log);
      }
      const entry = make(id);
      log.entries.push({ id, at: now(), entry });
      trim(log);
      return entry;
    },
    replay(tenantId: string, after: string, limit: number): ReplayPage {
      let log = logs.get(tenantId);
      if (!log) {
        // Nothing kept: whatever came before now is gone. Remembered, so resuming from the marker is not a gap again.
        log = { entries: [], head: 0, floor: `${now()}-0`, made: now() };
        logs.set(tenantId, log);
      }
      trim(log);
      const entries: LogEntry[] = [];
      // Binary search for the first entry after `after`.
      let lo = log.head;
      let hi = log.entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareIds(log.entries[mid]!.id, after) <= 0) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < log.entries.length && entries.length < limit; i++) entries.push(log.entries[i]!.entry);
      return { entries, floor: log.floor };
    },
    /** The newest id of the tenant's log; null when it has none. */
    head(tenantId: string): string | null {
      const log = logs.get(tenantId);
      return log && log.entries.length > log.head ? log.entries[log.entries.length - 1]!.id : null;
    },
    /** Drops a tenant's log (erasure). */
    forget(tenantId: string): void {
      logs.delete(tenantId);
    },
    close(): void {
      clearInterval(sweep);
      logs.clear();
    },
  };
}
