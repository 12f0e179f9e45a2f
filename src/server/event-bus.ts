// The event bus behind events/nexus-events.ts: each tenant's event log with its live flow, access changes and
// viewer changes; in-process by default, or over Redis (shared by every gateway) when REDIS_URL is set. The only
// file that knows how events travel.
//
// With Redis, a tenant's log is a Redis stream (`nexus-log:<tenant>`) trimmed to the retention, and its live flow a
// channel (`nexus-live:<tenant>`). One Lua script appends an entry and publishes it, so every gateway sees entries
// in the stream's own order, and a stream that reads the log back after listening misses nothing.
import { Redis } from 'ioredis';
import pg from 'pg';
import { ServiceUnavailableError } from '../errors.js';
import { createMemoryEventLog, type LogEntry, type ReplayPage, type Retention } from '../events/event-log.js';
import { openEventStream, type EventFeed, type EventStream, type FeedListener } from '../events/event-stream.js';
import type { AccessChange, NexusEventPayload, NexusEvents } from '../events/nexus-events.js';
import type { Logger } from '../log/logger.js';

// Tenant ids match ^[a-z][a-z0-9-]*$: no key or channel can be ambiguous.
const logKey = (tenantId: string) => `nexus-log:${tenantId}`;
const floorKey = (tenantId: string) => `nexus-log-floor:${tenantId}`;
const liveChannel = (tenantId: string) => `nexus-live:${tenantId}`;
const accessChannel = (tenantId: string) => `nexus-access:${tenantId}`;
const VIEWERS_TOPIC = 'nexus-viewers';
const VIEWERS_CHANNEL = 'nexus_viewers';

const REDIS_CONNECT_TIMEOUT_MS = 5000;
/** How long a stream waits for Redis to open or read back before it is refused SERVICE_UNAVAILABLE. */
const REDIS_REQUEST_TIMEOUT_MS = 3000;
/** How often the viewer-change channel is checked to answer (it is down after three periods without an answer). */
const CHANNEL_PROBE_MS = 1000;
/** Tenants whose lost events are remembered (to mark them in their logs when Redis is back). */
const MAX_PENDING_LOST = 10_000;

/**
 * Appends an entry, trims the log to the retention (count and age, remembering the last id dropped as the floor) and
 * publishes the entry, in one step. A new log's floor is the id just before its first entry: what came before it is
 * not known (Redis restarted, or the tenant was idle past the retention).
 */
const APPEND = `
local id = redis.call('XADD', KEYS[1], '*', ARGV[1], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 0 then
  local dash = string.find(id, '-', 1, true)
  local seq = string.sub(id, dash + 1)
  local floor
  if seq ~= '0' then
    floor = string.sub(id, 1, dash) .. string.format('%d', tonumber(seq) - 1)
  else
    floor = string.format('%d', tonumber(string.sub(id, 1, dash - 1)) - 1) .. '-18446744073709551615'
  end
  redis.call('SET', KEYS[2], floor)
end
local maxlen = tonumber(ARGV[3])
local len = redis.call('XLEN', KEYS[1])
if len > maxlen then
  local old = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', len - maxlen)
  redis.call('XTRIM', KEYS[1], 'MAXLEN', maxlen)
  redis.call('SET', KEYS[2], old[#old][1])
end
local t = redis.call('TIME')
local cutoff = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[4])) .. '-0'
local older = redis.call('XREVRANGE', KEYS[1], '(' .. cutoff, '-', 'COUNT', 1)
if #older > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', cutoff)
  redis.call('SET', KEYS[2], older[1][1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], id .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2])
return id
`;

/** Entries after an id, and the floor; a log with no floor (nothing kept) gets one now, so resuming from it is no gap. */
const REPLAY = `
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
local floor = redis.call('GET', KEYS[2])
if not floor then
  local t = redis.call('TIME')
  floor = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) .. '-0'
  redis.call('SET', KEYS[2], floor, 'PX', ARGV[3])
end
return { floor, entries }
`;

type RedisWithScripts = Redis & {
  nexusAppend(log: string, floor: string, field: string, value: string, maxlen: number, retentionMs: number, channel: string): Promise<string>;
  nexusReplay(log: string, floor: string, after: string, limit: number, retentionMs: number): Promise<[string, [string, string[]][]]>;
};

export interface EventBusOptions {
  /** How long and how many of a tenant's events are kept for streams that resume. */
  retention: Retention;
  /** PostgreSQL shared by the gateways, for LISTEN when there is no Redis. */
  databaseUrl?: string;
  /** Sends a NOTIFY on the application's own database connection (so the sender's channel being down does not matter). */
  notify?: (channel: string, payload: string) => Promise<unknown>;
}

/** Channels of short messages, to listeners in this process and (with Redis) on every gateway. */
interface Hub {
  publish(channel: string, message: string): void;
  /** Resolves once messages published afterwards reach the handler; returns the unsubscribe. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => void>;
}

function memoryHub(): Hub {
  const handlers = new Map<string, Set<(message: string) => void>>();
  return {
    publish: (channel, message) => handlers.get(channel)?.forEach((handler) => handler(message)),
    subscribe: async (channel, handler) => {
      let set = handlers.get(channel);
      if (!set) handlers.set(channel, (set = new Set()));
      set.add(handler);
      return () => {
        set.delete(handler);
        if (set.size === 0 && handlers.get(channel) === set) handlers.delete(channel);
      };
    },
  };
}

/** A Redis call that must answer within ms: a failure or a timeout is SERVICE_UNAVAILABLE. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    // The cause stays here: it names hosts and ports the client has no business knowing.
    promise.catch(() => {
      throw new ServiceUnavailableError('events', 'the live event log (Redis) is unavailable: try again shortly');
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ServiceUnavailableError('events', `Redis did not answer within ${ms} ms: try again shortly`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * One subscriber connection for every channel of this gateway, subscribed while someone listens. ioredis's own
 * re-subscription is off: after a reconnect this hub subscribes again itself (waiting for Redis to confirm), then
 * tells `onResubscribed` so streams read back what passed meanwhile.
 */
function redisHub(publisher: Redis, subscriber: Redis, report: (error: unknown) => void, onResubscribed: () => void): Hub & { close(): void } {
  const handlers = new Map<string, Set<(message: string) => void>>();
  const pending = new Map<string, Promise<unknown>>();
  let lost = false;
  subscriber.on('message', (channel: string, message: string) => handlers.get(channel)?.forEach((handler) => handler(message)));
  subscriber.on('close', () => {
    lost = true;
  });
  subscriber.on('ready', () => {
    if (!lost) return;
    lost = false;
    const channels = [...handlers.keys()];
    (channels.length ? subscriber.subscribe(...channels) : Promise.resolve()).then(onResubscribed, report);
  });
  return {
    publish: (channel, message) => void publisher.publish(channel, message).catch(report),
    subscribe: async (channel, handler) => {
      let set = handlers.get(channel);
      if (!set) {
        handlers.set(channel, (set = new Set()));
        const subscribed = withTimeout(subscriber.subscribe(channel), REDIS_REQUEST_TIMEOUT_MS);
        pending.set(channel, subscribed);
        subscribed.catch(() => undefined).finally(() => pending.get(channel) === subscribed && pending.delete(channel));
      }
      set.add(handler);
      const unsubscribe = () => {
        set.delete(handler);
        if (set.size === 0 && handlers.get(channel) === set) {
          handlers.delete(channel);
          subscriber.unsubscribe(channel).catch(report);
        }
      };
      try {
        await pending.get(channel);
      } catch (error) {
        unsubscribe();
        throw error;
      }
      return unsubscribe;
    },
    close: () => handlers.clear(),
  };
}

interface TenantLog extends EventFeed {
  append(tenantId: string, entry: { event: NexusEventPayload } | { lost: { domainKey: string } }): void;
  erase(tenantId: string): Promise<void>;
  close(): void;
}

function encode(entry: { event: NexusEventPayload } | { lost: { domainKey: string } }): [string, string] {
  return 'event' in entry ? ['e', JSON.stringify(entry.event)] : ['lost', entry.lost.domainKey];
}

function decode(id: string, field: string, value: string): LogEntry {
  return field === 'e' ? { id, event: JSON.parse(value) as NexusEventPayload } : { id, lost: { domainKey: value } };
}

/** Listeners of each tenant's live flow, fed by a hub channel per tenant. */
function liveListeners(hub: Hub) {
  const byTenant = new Map<string, Set<FeedListener>>();
  return {
    byTenant,
    async listen(tenantId: string, listener: FeedListener, parse: (message: string) => LogEntry | null): Promise<() => void> {
      let set = byTenant.get(tenantId);
      if (!set) byTenant.set(tenantId, (set = new Set()));
      set.add(listener);
      const remove = () => {
        set.delete(listener);
        if (set.size === 0 && byTenant.get(tenantId) === set) byTenant.delete(tenantId);
      };
      try {
        const unsubscribe = await hub.subscribe(liveChannel(tenantId), (message) => {
          const entry = parse(message);
          if (entry) listener.entry(entry);
        });
        return () => {
          unsubscribe();
          remove();
        };
      } catch (error) {
        remove();
        throw error;
      }
    },
  };
}

function memoryLog(retention: Retention): TenantLog {
  const log = createMemoryEventLog(retention);
  const live = new Map<string, Set<FeedListener>>();
  return {
    append(tenantId, entry) {
      const logged = log.append(tenantId, (id) => ('event' in entry ? { id, event: entry.event } : { id, lost: entry.lost }));
      live.get(tenantId)?.forEach((listener) => listener.entry(logged));
    },
    async listen(tenantId, listener) {
      let set = live.get(tenantId);
      if (!set) live.set(tenantId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && live.get(tenantId) === set) live.delete(tenantId);
      };
    },
    replay: async (tenantId, after, limit) => log.replay(tenantId, after, limit),
    head: async (tenantId) => log.head(tenantId),
    erase: async (tenantId) => log.forget(tenantId),
    close: () => log.close(),
  };
}

function redisLog(publisher: RedisWithScripts, hub: Hub, retention: Retention, report: (error: unknown) => void): TenantLog & { resubscribed(): void; flushLost(): void } {
  const live = liveListeners(hub);
  // Events Redis could not take, by tenant: marked lost in their logs once it answers again.
  const lostWhileDown = new Map<string, Set<string>>();
  const parse = (message: string): LogEntry | null => {
    const first = message.indexOf('\n');
    const second = message.indexOf('\n', first + 1);
    if (first < 0 || second < 0) return null;
    return decode(message.slice(0, first), message.slice(first + 1, second), message.slice(second + 1));
  };
  const append = (tenantId: string, entry: { event: NexusEventPayload } | { lost: { domainKey: string } }) => {
    const [field, value] = encode(entry);
    return publisher.nexusAppend(logKey(tenantId), floorKey(tenantId), field, value, retention.events, Math.max(1, retention.ms), liveChannel(tenantId));
  };
  return {
    append(tenantId, entry) {
      append(tenantId, entry).catch((error: unknown) => {
        report(error);
        const domainKey = 'event' in entry ? entry.event.domainKey : entry.lost.domainKey;
        let domains = lostWhileDown.get(tenantId);
        if (!domains && lostWhileDown.size < MAX_PENDING_LOST) lostWhileDown.set(tenantId, (domains = new Set()));
        domains?.add(domainKey);
      });
    },
    listen: (tenantId, listener) => live.listen(tenantId, listener, parse),
    async replay(tenantId, after, limit): Promise<ReplayPage> {
      const [floor, rows] = await withTimeout(publisher.nexusReplay(logKey(tenantId), floorKey(tenantId), after, limit, Math.max(1, retention.ms)), REDIS_REQUEST_TIMEOUT_MS);
      return { floor, entries: rows.map(([id, fields]) => decode(id, fields[0]!, fields[1]!)) };
    },
    async head(tenantId) {
      const rows = await withTimeout(publisher.xrevrange(logKey(tenantId), '+', '-', 'COUNT', 1), REDIS_REQUEST_TIMEOUT_MS);
      return rows[0]?.[0] ?? null;
    },
    erase: async (tenantId) => void (await withTimeout(publisher.del(logKey(tenantId), floorKey(tenantId)), REDIS_REQUEST_TIMEOUT_MS)),
    resubscribed() {
      for (const listeners of live.byTenant.values()) listeners.forEach((listener) => listener.interrupted());
    },
    flushLost() {
      const pending = [...lostWhileDown];
      lostWhileDown.clear();
      for (const [tenantId, domains] of pending) for (const domainKey of domains) this.append(tenantId, { lost: { domainKey } });
    },
    close: () => lostWhileDown.clear(),
  };
}

export async function createEventBus(redisUrl: string | undefined, log: Logger, options: EventBusOptions): Promise<NexusEvents> {
  let clients: Redis[] = [];
  let hub: Hub;
  let tenantLog: TenantLog;
  let closeHub = () => undefined as void;
  if (redisUrl) {
    let lastReport = 0;
    const report = (error: unknown) => {
      if (Date.now() - lastReport < 10_000) return;
      lastReport = Date.now();
      log.warn({ err: error instanceof Error ? error.message : String(error) }, 'redis unavailable: live events are not shared until it is back');
    };
    const connection = { lazyConnect: true, connectTimeout: REDIS_CONNECT_TIMEOUT_MS, maxRetriesPerRequest: 3 };
    // A Redis that hangs (rather than refuses) must not hold appends in memory for ever: each gives up after a bound.
    const publisher = new Redis(redisUrl, { ...connection, commandTimeout: REDIS_REQUEST_TIMEOUT_MS }) as RedisWithScripts;
    const subscriber = new Redis(redisUrl, { ...connection, autoResubscribe: false });
    clients = [publisher, subscriber];
    for (const client of clients) client.on('error', report);
    publisher.defineCommand('nexusAppend', { numberOfKeys: 2, lua: APPEND });
    publisher.defineCommand('nexusReplay', { numberOfKeys: 2, lua: REPLAY });
    try {
      await Promise.all(clients.map((c) => c.connect()));
    } catch (error) {
      clients.forEach((c) => c.disconnect());
      throw new Error(`REDIS_URL: cannot connect to Redis (${error instanceof Error ? error.message : String(error)})`);
    }
    let shared: ReturnType<typeof redisLog> | undefined;
    const redis = redisHub(publisher, subscriber, report, () => shared?.resubscribed());
    hub = redis;
    closeHub = redis.close;
    shared = redisLog(publisher, hub, options.retention, report);
    tenantLog = shared;
    let publisherLost = false;
    publisher.on('close', () => {
      publisherLost = true;
    });
    publisher.on('ready', () => {
      if (!publisherLost) return;
      publisherLost = false;
      shared?.flushLost();
    });
  } else {
    hub = memoryHub();
    tenantLog = memoryLog(options.retention);
  }

  // Viewer changes: local listeners at once; other gateways through Redis, or NOTIFY, or (one process) nobody.
  const listeners = new Set<(tenantId: string) => void>();
  const tell = (tenantId: string) => listeners.forEach((listener) => listener(tenantId));
  let remote: { publish(tenantId: string): void; up(): boolean; close(): Promise<void> };
  if (redisUrl) {
    const [publisher, subscriber] = clients as [Redis, Redis];
    const unsubscribe = await hub.subscribe(VIEWERS_TOPIC, (tenantId) => tell(tenantId));
    // A hung Redis keeps its connections "ready": the channel counts as up only while both answer a PING in time, so
    // tokens are not remembered while a change could not reach this gateway.
    let answeredAt = Date.now();
    const probe = setInterval(() => {
      void withTimeout(Promise.all([publisher.ping(), subscriber.ping()]), CHANNEL_PROBE_MS).then(() => {
        answeredAt = Date.now();
      }, () => undefined);
    }, CHANNEL_PROBE_MS);
    probe.unref();
    remote = {
      publish: (tenantId) => hub.publish(VIEWERS_TOPIC, tenantId),
      up: () => publisher.status === 'ready' && subscriber.status === 'ready' && Date.now() - answeredAt < 3 * CHANNEL_PROBE_MS,
      close: async () => {
        clearInterval(probe);
        unsubscribe();
      },
    };
  } else if (options.databaseUrl) {
    remote = await listenForViewerChanges(options.databaseUrl, options.notify, tell, log);
  } else {
    remote = { publish: () => undefined, up: () => true, close: async () => undefined };
  }

  const streams = new Set<EventStream>();
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
    publish: (event) => tenantLog.append(event.tenantId, { event }),
    async openStream(streamOptions) {
      const stream = await openEventStream(tenantLog, { ...streamOptions, onClose: () => streams.delete(stream) });
      streams.add(stream);
      return stream;
    },
    endStreams: () => streams.forEach((stream) => stream.end('SHUTDOWN')),
    eraseTenant: (tenantId) => tenantLog.erase(tenantId),
    publishAccessChange: (tenantId) => hub.publish(accessChannel(tenantId), tenantId),
    onAccessChange: (tenantId, listener) => hub.subscribe(accessChannel(tenantId), () => listener({ tenantId } satisfies AccessChange)),
    close: async () => {
      streams.forEach((stream) => stream.end('SHUTDOWN'));
      await remote.close();
      tenantLog.close();
      closeHub();
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
    const next = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, keepAlive: true });
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
