// Live events: nexusEvents streams REMEMBERED / FORGOTTEN for the domains the
// token can read (all of them by default), as they happen, across gateways.
import { defaultFieldResolver } from 'graphql';
import { Repeater } from 'graphql-yoga';
import { builder } from '../builder.js';
import { loadRequired } from '../loaders/create-loaders.js';
import { viewerOf } from '../context.js';
import { BadUserInputError } from '../../errors.js';
import { readGrants } from '../../memories/memories.js';
import { fromWire, type NexusEventPayload } from '../../events/nexus-events.js';

const NexusEventRef = builder.objectType('NexusEvent', {
  description: 'A change in a domain store the token can read: a record remembered or forgotten.',
  fields: (t) => ({
    type: t.exposeString('type', { description: 'REMEMBERED (one event per record written) or FORGOTTEN (one per id of a forget that deleted records).' }),
    recordId: t.exposeID('recordId', { nullable: true, description: 'The id of the forgotten record (FORGOTTEN); null for REMEMBERED.' }),
    domain: t.field({
      type: 'Domain',
      description: 'The domain whose store changed.',
      resolve: (e, _args, ctx) => loadRequired(ctx.loaders.domainByKey, `${e.tenantId}/${e.domainKey}`, 'domain', e.domainKey),
    }),
    surface: t.field({
      type: 'Surface',
      nullable: true,
      description: 'The surface that made the change; null when the owner did.',
      resolve: (e, _args, ctx) => (e.surfaceId ? ctx.loaders.surfaceById.load(e.surfaceId) : null),
    }),
    record: t.field({
      type: 'Record',
      nullable: true,
      description: 'The record as written, vector included (REMEMBERED); null for FORGOTTEN.',
      resolve: (e) => (e.record ? fromWire(e.record) : null),
    }),
  }),
});

/**
 * Merges the domain streams into one, each item under `nexusEvents`. The stream ends when the client leaves,
 * when the tenant's access changes (mounts set, a token revoked: the client must reconnect and be authorised
 * again), or when the token expires, so an open stream never outlives the right to read it.
 */
function merge(sources: AsyncIterable<NexusEventPayload>[], accessChanges: AsyncIterable<unknown>, expiresAt: Date | null): AsyncIterable<unknown> {
  return new Repeater<unknown>(async (push, stop) => {
    const iterators = sources.map((s) => s[Symbol.asyncIterator]());
    const access = accessChanges[Symbol.asyncIterator]();
    // A failing source ends the stream (handled at once: an unhandled rejection would end the process).
    const pumps = iterators.map((it) =>
      (async () => {
        for (;;) {
          const next = await it.next();
          if (next.done) return;
          await push({ nexusEvents: next.value });
        }
      })().catch(() => stop()),
    );
    access.next().then(
      (next) => {
        if (!next.done) stop();
      },
      () => stop(),
    );
    // setTimeout holds at most ~24.8 days; a longer-lived token is re-checked when that timer fires.
    const timer = expiresAt ? setTimeout(() => stop(), Math.min(Math.max(0, expiresAt.getTime() - Date.now()), 2 ** 31 - 1)) : undefined;
    await stop;
    clearTimeout(timer);
    await Promise.all([...iterators, access].map((it) => it.return?.()));
    await Promise.allSettled(pumps);
  });
}

builder.subscriptionFields((t) => ({
  nexusEvents: t.field({
    type: NexusEventRef,
    description:
      'Live REMEMBERED and FORGOTTEN events of domain stores, over Server-Sent Events (writes to private and global stores are never published). The stream ends when the tenant\'s mounts are set or one of its tokens is revoked (reconnect), and when the token expires.',
    args: {
      domains: t.arg.stringList({
        description:
          '1 to 64 domain keys (BAD_USER_INPUT otherwise); FORBIDDEN for one the token cannot read, NOT_FOUND for the owner if one does not exist. Default: every domain the token can read when it subscribes.',
      }),
    },
    subscribe: async (_root, { domains }, ctx) => {
      const viewer = viewerOf(ctx);
      if (domains != null && domains.length === 0) throw new BadUserInputError('domains takes 1 to 64 keys', 'domains');
      // The same grants a search of these domains would get: every key readable (and, for the owner, existing).
      const grants = await readGrants(ctx.services, viewer, { domains });
      const sources = grants.flatMap(({ store }) => (store.scope === 'DOMAIN' ? [ctx.services.events.subscribe(viewer.tenantId, store.domainKey)] : []));
      return merge(sources, ctx.services.events.accessChanges(viewer.tenantId), viewer.expiresAt);
    },
    // graphql's default resolver on purpose: graphql-middleware wraps `subscribe` only when a field has
    // no resolver of its own, and only then does the shield rule run before anything is subscribed (with
    // a resolver it would guard each event instead). It reads each stream item's `nexusEvents` key.
    resolve: defaultFieldResolver as never,
  }),
}));
