// One subscriber's stream of a tenant's log: what it missed since an id (replayed page by page, as fast as it reads),
// then the live flow, with no duplicate and no gap between the two; only the domains it may read; a bounded queue
// (a reader that falls behind is ended TOO_SLOW and resumes by id); and a last item saying why it ended.
import { compareIds, type LogEntry, type ReplayPage } from './event-log.js';
import type { NexusEventPayload } from './nexus-events.js';
import type { StreamEndReason } from '../errors.js';

export type { StreamEndReason };

export type StreamItem =
  | { readonly id: string; readonly event: NexusEventPayload }
  /** Events of this domain may have been missed (older than the retention, or lost in an outage): search it again. */
  | { readonly id: string; readonly resync: string }
  | { readonly end: StreamEndReason };

export interface FeedListener {
  entry(entry: LogEntry): void;
  /** The live channel was down: entries may have been missed and must be read back from the log. */
  interrupted(): void;
}

/** What a stream reads: a tenant's log, live and replayed. */
export interface EventFeed {
  /** Resolves once every entry appended afterwards reaches the listener; returns the function that stops it. */
  listen(tenantId: string, listener: FeedListener): Promise<() => void>;
  replay(tenantId: string, after: string, limit: number): Promise<ReplayPage>;
  /** The newest id of the tenant's log; null when it has none. */
  head(tenantId: string): Promise<string | null>;
}

export interface EventStream extends AsyncIterableIterator<StreamItem> {
  /** Ends the stream: its next item is the end with this reason (queued events are dropped; the client resumes by id). */
  end(reason: StreamEndReason): void;
  /** Holds every item back (queued ones too) until resume: while its access is being checked again. */
  pause(): void;
  resume(): void;
  /** Changes the domains it delivers (a subscription of every readable domain when one is added). */
  setDomains(domains: ReadonlySet<string>): void;
  readonly ended: StreamEndReason | null;
}

export interface EventStreamOptions {
  tenantId: string;
  /** Resume after this id (Last-Event-ID, since); null: from now on. */
  since: string | null;
  domains: ReadonlySet<string>;
  /** The most events a stream holds for a reader that does not keep up. */
  queueLimit: number;
  /** Entries read back from the log per request. */
  pageSize?: number;
  onClose?: () => void;
}

/** Items a stream hands out in a row before it lets the event loop serve others. */
const YIELD_EVERY = 8;

/** Opens a stream; rejects when the feed cannot be listened to (an outage of its channel). */
export async function openEventStream(feed: EventFeed, options: EventStreamOptions): Promise<EventStream> {
  const { tenantId, queueLimit } = options;
  const pageSize = options.pageSize ?? 256;
  let domains = options.domains;
  const queue: StreamItem[] = [];
  // While reading back from the log, live entries wait here (or, past the limit, are dropped: the log has them).
  let buffer: LogEntry[] | null = [];
  let overflowed = false;
  let cursor = '0-0';
  let checkFloor = options.since !== null;
  let ended: StreamEndReason | null = null;
  let endTaken = false;
  let closed = false;
  let paused = false;
  let handedOut = 0;
  let wake: (() => void) | undefined;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  // Domains told RESYNC with nothing of theirs since: a second marker for one of them would say nothing new.
  const resynced = new Set<string>();
  const resync = (id: string, domainKey: string) => {
    if (resynced.has(domainKey)) return;
    resynced.add(domainKey);
    queue.push({ id, resync: domainKey });
  };
  const deliver = (entry: LogEntry) => {
    if (compareIds(entry.id, cursor) <= 0) return;
    cursor = entry.id;
    if ('event' in entry) {
      if (!domains.has(entry.event.domainKey)) return;
      resynced.delete(entry.event.domainKey);
      queue.push({ id: entry.id, event: entry.event });
    } else if (domains.has(entry.lost.domainKey)) {
      resync(entry.id, entry.lost.domainKey);
    }
  };

  const end = (reason: StreamEndReason) => {
    if (ended || closed) return;
    ended = reason;
    queue.length = 0;
    buffer = null;
    stop?.();
    stop = undefined;
    signal();
  };

  let stop: (() => void) | undefined = await feed.listen(tenantId, {
    entry(entry) {
      if (ended || closed) return;
      if (buffer) {
        if (overflowed) return;
        buffer.push(entry);
        if (buffer.length > queueLimit) {
          buffer.length = 0;
          overflowed = true;
        }
        return;
      }
      deliver(entry);
      if (queue.length > queueLimit) end('TOO_SLOW');
      else signal();
    },
    interrupted() {
      if (ended || closed) return;
      // Read back from where it was; the log may have lost entries meanwhile (Redis restarted empty): check its floor.
      checkFloor = true;
      if (buffer) {
        // Reading back already: once more from the log when this pass ends.
        overflowed = true;
        return;
      }
      buffer = [];
      signal();
    },
  });
  try {
    cursor = options.since ?? (await feed.head(tenantId)) ?? '0-0';
  } catch (error) {
    stop();
    throw error;
  }

  /** Reads one page back from the log; when it is the last, hands over to the live flow. */
  const readBack = async () => {
    const page = await feed.replay(tenantId, cursor, pageSize);
    if (ended || closed) return;
    if (checkFloor) {
      checkFloor = false;
      if (page.floor !== null && compareIds(cursor, page.floor) < 0) {
        const floor = page.floor;
        for (const domainKey of [...domains].sort()) resync(floor, domainKey);
        cursor = floor;
      }
    }
    for (const entry of page.entries) deliver(entry);
    if (page.entries.length < pageSize && buffer) {
      if (overflowed) {
        // Live entries were dropped while reading back: read again; new ones wait in the buffer meanwhile.
        overflowed = false;
        buffer.length = 0;
        return;
      }
      const waiting = buffer;
      buffer = null;
      for (const entry of waiting) deliver(entry);
    }
  };

  const close = () => {
    if (closed) return;
    closed = true;
    stop?.();
    stop = undefined;
    queue.length = 0;
    buffer = null;
    signal();
    options.onClose?.();
  };

  const stream: EventStream = {
    get ended() {
      return ended;
    },
    end,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      signal();
    },
    setDomains(next) {
      domains = next;
    },
    async next(): Promise<IteratorResult<StreamItem>> {
      for (;;) {
        if (closed) return { done: true, value: undefined };
        if (paused && !ended) {
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        if (queue.length) {
          // Items handed out back to back never wait on I/O, so a burst (a remember of 1,000 records, to hundreds of
          // streams) would hold the event loop for seconds: every few, the other requests get their turn.
          if (++handedOut % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
          if (queue.length) return { done: false, value: queue.shift()! };
          continue;
        }
        if (ended) {
          if (endTaken) {
            close();
            return { done: true, value: undefined };
          }
          endTaken = true;
          return { done: false, value: { end: ended } };
        }
        if (buffer) {
          try {
            await readBack();
          } catch (error) {
            close();
            throw error;
          }
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return(): Promise<IteratorResult<StreamItem>> {
      close();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}
