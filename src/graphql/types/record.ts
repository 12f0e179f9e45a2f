// Records and search: remember, forget, the fused search (God View) and the
// per-domain search and count. Stores are opened only through grants.
import type { GraphQLResolveInfo } from 'graphql';
import { builder } from '../builder.js';
import { viewerOf, type NexusContext } from '../context.js';
import { selectsField } from '../selection.js';
import { grantStores, type StoreGrant } from '../../auth/access.js';
import { forget, readGrants, remember } from '../../memories/memories.js';
import { fusedSearch, type Fusion } from '../../search/fused-search.js';
import { toSearchQuery, type SearchInputLike } from '../../search/search-request.js';

export const ScopeEnum = builder.enumType('Scope', { values: ['DOMAIN', 'SURFACE', 'GLOBAL'] as const });
export const FusionEnum = builder.enumType('Fusion', { values: ['DISTANCE', 'RRF'] as const });

export const RecordRef = builder.objectType('Record', {
  description: 'One memory: a workout, a meal, an invoice, a sleep score.',
  fields: (t) => ({
    id: t.exposeID('id'),
    scope: t.field({ type: ScopeEnum, resolve: (r) => r.scope }),
    domain: t.field({
      type: 'Domain',
      nullable: true,
      description: 'The domain store it lives in (DOMAIN scope).',
      resolve: (r, _args, ctx) => (r.domainKey ? ctx.loaders.domainByKey.load(`${r.tenantId}/${r.domainKey}`) : null),
    }),
    surface: t.field({
      type: 'Surface',
      nullable: true,
      description: 'The surface that wrote it; null when the owner did.',
      resolve: async (r, _args, ctx) => {
        if (!r.writerSurfaceId) return null;
        const surface = await ctx.loaders.surfaceById.load(r.writerSurfaceId);
        return surface && surface.tenantId === r.tenantId ? surface : null;
      },
    }),
    kind: t.exposeString('kind'),
    text: t.exposeString('text', { nullable: true }),
    metadata: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.metadata }),
    occurredAt: t.expose('occurredAt', { type: 'DateTime' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    vector: t.floatList({ resolve: (r) => r.vector ?? [] }),
  }),
});

export const HitRef = builder.objectType('Hit', {
  fields: (t) => ({
    record: t.field({ type: 'Record', resolve: (h) => h.record }),
    distance: t.exposeFloat('distance', { description: 'Cosine distance: 1 − cosine similarity.' }),
    score: t.exposeFloat('score', { description: '1 − distance for DISTANCE fusion; Σ 1/(60 + rank) for RRF.' }),
  }),
});

const SearchResultRef = builder.objectRef<{ hits: { record: import('../../vectors/records.js').StoredRecord; distance: number; score: number }[] }>('SearchResult').implement({
  fields: (t) => ({ hits: t.field({ type: ['Hit'], resolve: (r) => r.hits }) }),
});

const RecordInput = builder.inputType('RecordInput', {
  fields: (t) => ({
    id: t.id({ description: 'Give one to upsert within the store; otherwise the server assigns one.' }),
    kind: t.string({ required: true }),
    text: t.string({ description: 'At most 64 KiB.' }),
    vector: t.floatList({ description: 'Exactly serverInfo.vectorDimension finite numbers.' }),
    metadata: t.field({ type: 'JSON', description: 'At most 64 KiB of JSON.' }),
    occurredAt: t.field({ type: 'DateTime', description: 'Default: now.' }),
  }),
});

const RememberInput = builder.inputType('RememberInput', {
  fields: (t) => ({
    scope: t.field({ type: ScopeEnum, defaultValue: 'DOMAIN' }),
    domain: t.string({ description: 'Default: the surface\'s home domain.' }),
    records: t.field({ type: [RecordInput], required: true, description: '1 to 1000 records, all written or none.' }),
  }),
});

const ForgetInput = builder.inputType('ForgetInput', {
  fields: (t) => ({
    scope: t.field({ type: ScopeEnum, defaultValue: 'DOMAIN' }),
    domain: t.string(),
    ids: t.idList({ required: true }),
  }),
});

const RecordFilter = builder.inputType('RecordFilter', {
  fields: (t) => ({
    kinds: t.stringList(),
    occurredAfter: t.field({ type: 'DateTime', description: 'Inclusive.' }),
    occurredBefore: t.field({ type: 'DateTime', description: 'Exclusive.' }),
  }),
});

const DomainSearchInput = builder.inputType('DomainSearchInput', {
  fields: (t) => ({
    vector: t.floatList(),
    text: t.string(),
    k: t.int({ defaultValue: 10, description: '1 to 1000.' }),
    filter: t.field({ type: RecordFilter }),
  }),
});

const SearchInput = builder.inputType('SearchInput', {
  fields: (t) => ({
    vector: t.floatList(),
    text: t.string(),
    k: t.int({ defaultValue: 10, description: '1 to 1000.' }),
    filter: t.field({ type: RecordFilter }),
    domains: t.stringList({ description: 'Default: every readable domain.' }),
    includeSurface: t.boolean({ defaultValue: false, description: 'Also search the calling surface\'s private store.' }),
    includeGlobal: t.boolean({ defaultValue: false }),
    fusion: t.field({ type: FusionEnum, defaultValue: 'DISTANCE' }),
  }),
});

function runSearch(ctx: NexusContext, info: GraphQLResolveInfo, grants: StoreGrant[], input: SearchInputLike, fusion: Fusion) {
  const query = toSearchQuery(input, ctx.services.config.vectorDimension, selectsField(info, 'vector'));
  return fusedSearch(ctx.loaders.storeSearch, grants, query, fusion);
}

/** The grant to read one domain the rules have already let through (the decision is asked again here). */
function domainGrant(ctx: NexusContext, key: string): StoreGrant {
  const [grant] = grantStores(viewerOf(ctx), { op: 'read', domains: [key] }).grants;
  if (!grant) throw new Error('a read of one domain is granted exactly one store');
  return grant;
}

builder.objectFields('Domain', (t) => ({
  recordCount: t.int({
    description: 'Records in this domain\'s store. FORBIDDEN unless the token can read the domain.',
    resolve: (domain, _args, ctx) => ctx.services.vectors.count(domainGrant(ctx, domain.key)),
  }),
  search: t.field({
    type: ['Hit'],
    description: 'Nearest records in this domain. FORBIDDEN unless the token can read the domain.',
    args: { input: t.arg({ type: DomainSearchInput, required: true }) },
    resolve: (domain, { input }, ctx, info) => runSearch(ctx, info, [domainGrant(ctx, domain.key)], input, 'DISTANCE'),
  }),
}));

builder.queryFields((t) => ({
  search: t.field({
    type: SearchResultRef,
    description: 'One fused query over the requested readable stores, ranked as one list; each hit says where it came from.',
    args: { input: t.arg({ type: SearchInput, required: true }) },
    resolve: async (_root, { input }, ctx, info) => {
      const grants = await readGrants(ctx.services, viewerOf(ctx), input);
      return { hits: await runSearch(ctx, info, grants, input, input.fusion ?? 'DISTANCE') };
    },
  }),
}));

const RememberPayload = builder.objectRef<{ records: import('../../vectors/records.js').StoredRecord[] }>('RememberPayload').implement({
  fields: (t) => ({ records: t.field({ type: ['Record'], resolve: (p) => p.records }) }),
});

const ForgetPayload = builder.objectRef<{ deleted: number }>('ForgetPayload').implement({
  fields: (t) => ({ deleted: t.exposeInt('deleted') }),
});

builder.mutationFields((t) => ({
  remember: t.field({
    type: RememberPayload,
    description: 'Writes a batch of records (upsert by id) to the home domain by default. All or nothing.',
    args: { input: t.arg({ type: RememberInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ records: await remember(ctx.services, viewerOf(ctx), input, input.records) }),
  }),
  forget: t.field({
    type: ForgetPayload,
    description: 'Deletes records by id from one store; returns how many existed.',
    args: { input: t.arg({ type: ForgetInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ deleted: await forget(ctx.services, viewerOf(ctx), input, input.ids.map(String)) }),
  }),
}));
