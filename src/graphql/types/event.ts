// Live events: nexusEvents streams REMEMBERED / FORGOTTEN for the domains the token can read (all of them by
// default), as they happen, across gateways; resumes after an event id with what was missed; ends with a reason.
import { defaultFieldResolver } from 'graphql';
import { builder } from '../builder.js';
import { loadRequired } from '../loaders/create-loaders.js';
import { viewerOf, type NexusContext } from '../context.js';
import { BadUserInputError, NexusError, ServiceUnavailableError, StreamEndedError, UnauthenticatedError } from '../../errors.js';
import { readGrants } from '../../memories/memories.js';
import { fromWire, type NexusEventShape } from '../../events/nexus-events.js';
import { EVENT_ID } from '../../events/event-log.js';
import type { EventStream, StreamItem } from '../../events/event-stream.js';
import type { Viewer } from '../../auth/viewer.js';

const NexusEventRef = builder.objectType('NexusEvent', {
  description: 'A change in a domain store the token can read (a record remembered or forgotten), or a marker that some were missed (RESYNC).',
  fields: (t) => ({
    id: t.exposeID('id', {
      description:
        'The event\'s place in the tenant\'s log (also the SSE id: line). Resume after it with nexusEvents(since:) or the Last-Event-ID header. Opaque: pass it back as it came.',
    }),
    type: t.exposeString('type', {
      description:
        'REMEMBERED (one event per record written), FORGOTTEN (one per id of a forget that deleted records), or RESYNC: events of this domain may have been missed (the resume point is older than the retention, or the event log was unreachable when they happened): search the domain again, then carry on with this stream.',
    }),
    recordId: t.exposeID('recordId', { nullable: true, description: 'The id of the forgotten record (FORGOTTEN); null otherwise.' }),
    domain: t.field({
      type: 'Domain',
      description: 'The domain whose store changed (or, for RESYNC, whose events may have been missed).',
      resolve: (e, _args, ctx) => loadRequired(ctx.loaders.domainByKey, `${e.tenantId}/${e.domainKey}`, 'domain', e.domainKey),
    }),
    surface: t.field({
      type: 'Surface',
      nullable: true,
      description: 'The surface that made the change; null when the owner did (and for RESYNC).',
      resolve: (e, _args, ctx) => (e.surfaceId ? ctx.loaders.surfaceById.load(e.surfaceId) : null),
    }),
    record: t.field({
      type: 'Record',
      nullable: true,
      description: 'The record as written, vector included (REMEMBERED); null otherwise.',
      resolve: (e) => (e.record ? fromWire(e.record) : null),
    }),
  }),
});

/** The domain stores a viewer may follow: the DOMAIN-scope stores of its read grants. */
async function followable(ctx: NexusContext, viewer: Viewer, domains: readonly string[] | null | undefined): Promise<Set<string>> {
  const grants = await readGrants(ctx.services, viewer, { domains });
  return new Set(grants.flatMap(({ store }) => (store.scope === 'DOMAIN' ? [store.domainKey] : [])));
}

/**
 * Checks again, after the tenant's mounts or tokens changed, what the stream may read: the token revoked or expired
 * ends it so; a domain it follows no longer readable ends it ACCESS_CHANGED; otherwise it goes on (following every
 * readable domain, when it was opened without a list, newly readable ones included).
 */
function watchAccess(ctx: NexusContext, viewer: Viewer, domains: readonly string[] | null | undefined, stream: EventStream, following: Set<string>) {
  let current = following;
  let running = false;
  let again = false;
  const check = async () => {
    let next: Viewer | null;
    try {
      next = await ctx.revalidateViewer();
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      next = null;
    }
    if (!next) return stream.end(viewer.expiresAt && viewer.expiresAt.getTime() <= Date.now() ? 'TOKEN_EXPIRED' : 'TOKEN_REVOKED');
    let allowed: Set<string>;
    try {
      allowed = await followable(ctx, next, domains);
    } catch (error) {
      if (error instanceof NexusError && (error.code === 'FORBIDDEN' || error.code === 'NOT_FOUND')) return stream.end('ACCESS_CHANGED');
      throw error;
    }
    if ([...current].some((key) => !allowed.has(key))) return stream.end('ACCESS_CHANGED');
    if (domains == null) {
      current = allowed;
      stream.setDomains(allowed);
    }
  };
  return () => {
    // Nothing more is handed out until the check is done: an event of a domain just unmounted never slips through.
    stream.pause();
    if (running) {
      again = true;
      return;
    }
    running = true;
    void (async () => {
      do {
        again = false;
        // Deny by default: when the check itself fails (the database is down), the stream ends rather than go on unchecked.
        await check().catch((error: unknown) => {
          ctx.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not check a live stream\'s access again: ending it');
          stream.end('ACCESS_CHANGED');
        });
      } while (again && !stream.ended);
      running = false;
      stream.resume();
    })();
  };
}

/** The stream as graphql-js consumes it: each item under `nexusEvents`; the end as an error item, then done. */
function asSubscription(ctx: NexusContext, tenantId: string, stream: EventStream, cleanup: () => void): AsyncIterableIterator<unknown> {
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    cleanup();
  };
  const toItem = (item: StreamItem) => {
    if ('end' in item) {
      ctx.eventCursor.id = null;
      return { nexusEvents: new StreamEndedError(item.end) };
    }
    ctx.eventCursor.id = item.id;
    if ('event' in item) return { nexusEvents: { ...item.event, id: item.id } satisfies NexusEventShape };
    return { nexusEvents: { id: item.id, type: 'RESYNC', tenantId, domainKey: item.resync, surfaceId: null, record: null } satisfies NexusEventShape };
  };
  let failed = false;
  const iterator: AsyncIterableIterator<unknown> = {
    async next() {
      if (finished || failed) {
        finish();
        return { done: true, value: undefined };
      }
      try {
        const next = await stream.next();
        if (next.done) {
          finish();
          return next;
        }
        return { done: false, value: toItem(next.value) };
      } catch (error) {
        // The log could not be read back (Redis went away): said once, then the stream is over; resume by id.
        failed = true;
        ctx.eventCursor.id = null;
        return { done: false, value: { nexusEvents: error instanceof NexusError ? error : new ServiceUnavailableError('events') } };
      }
    },
    async return() {
      finish();
      await stream.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

builder.subscriptionFields((t) => ({
  nexusEvents: t.field({
    type: NexusEventRef,
    description:
      'Live REMEMBERED and FORGOTTEN events of domain stores, over Server-Sent Events (writes to private and global stores are never published). Each event has an id; to resume after a disconnect, subscribe again with since (or the Last-Event-ID header, which EventSource sends by itself): the events missed since then come first, in order, then the live flow, with no duplicate and no gap, within the retention (NEXUS_EVENT_RETENTION, NEXUS_EVENT_RETENTION_EVENTS); older than that, a RESYNC event per domain says to search again. Mounts added or tokens changed elsewhere do not end the stream unless what it reads shrinks. Its last item is an error with code STREAM_ENDED and extensions.reason: ACCESS_CHANGED (a domain it follows is no longer readable: subscribe again), TOKEN_REVOKED, TOKEN_EXPIRED, SHUTDOWN (the server is stopping: resume by id) or TOO_SLOW (more than NEXUS_EVENT_QUEUE events waited for the reader: resume by id). SERVICE_UNAVAILABLE when the shared event log (Redis) does not answer.',
    args: {
      domains: t.arg.stringList({
        description:
          '1 to 64 domain keys (BAD_USER_INPUT otherwise); FORBIDDEN for one the token cannot read, NOT_FOUND for the owner if one does not exist. Default: every domain the token can read, including ones that become readable while the stream is open.',
      }),
      since: t.arg.id({
        required: false,
        description: 'Resume after this event id (NexusEvent.id; BAD_USER_INPUT if it is not one). Overrides the Last-Event-ID header. Default: from now on.',
      }),
    },
    subscribe: async (_root, { domains, since }, ctx) => {
      const viewer = viewerOf(ctx);
      if (domains != null && domains.length === 0) throw new BadUserInputError('domains takes 1 to 64 keys', 'domains');
      const resumeFrom = since ?? ctx.lastEventId;
      if (resumeFrom != null && !EVENT_ID.test(String(resumeFrom))) {
        throw new BadUserInputError('since (or Last-Event-ID) must be an event id, as NexusEvent.id gives them', 'since');
      }
      // The same grants a search of these domains would get: every key readable (and, for the owner, existing).
      const following = await followable(ctx, viewer, domains);
      const { events, config } = ctx.services;
      const stream = await events.openStream({ tenantId: viewer.tenantId, since: resumeFrom == null ? null : String(resumeFrom), domains: following, queueLimit: config.events.queue });
      const recheck = watchAccess(ctx, viewer, domains, stream, following);
      let stopAccess: (() => void) | undefined;
      try {
        stopAccess = await events.onAccessChange(viewer.tenantId, recheck);
      } catch (error) {
        await stream.return?.();
        throw error;
      }
      // A domain created (or tokens changed) on any gateway: also a reason to look again.
      const stopViewers = events.onViewersChanged((tenantId) => tenantId === viewer.tenantId && recheck());
      // setTimeout holds at most ~24.8 days; a longer-lived token is re-checked when that timer fires.
      const timer = viewer.expiresAt ? setTimeout(() => (viewer.expiresAt!.getTime() <= Date.now() ? stream.end('TOKEN_EXPIRED') : recheck()), Math.min(Math.max(0, viewer.expiresAt.getTime() - Date.now()), 2 ** 31 - 1)) : undefined;
      return asSubscription(ctx, viewer.tenantId, stream, () => {
        clearTimeout(timer);
        stopAccess?.();
        stopViewers();
      });
    },
    // graphql's default resolver on purpose: graphql-middleware wraps `subscribe` only when a field has
    // no resolver of its own, and only then does the shield rule run before anything is subscribed (with
    // a resolver it would guard each event instead). It reads each stream item's `nexusEvents` key; an Error
    // there (the stream's end) becomes the item's error.
    resolve: defaultFieldResolver as never,
  }),
}));
