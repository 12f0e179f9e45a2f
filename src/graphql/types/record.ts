// Records and search: remember, forget, the fused search (God View) and the
// per-domain search and count. Stores are opened only through grants.
import type { GraphQLResolveInfo } from 'graphql';
import { builder, type InputFields } from '../builder.js';
import { viewerOf, type NexusContext } from '../context.js';
import { selectsField } from '../selection.js';
import { grantStores, type StoreGrant } from '../../auth/access.js';
import { forget, readGrants, remember } from '../../memories/memories.js';
import { fusedSearch, type Fusion, type FusedHit } from '../../search/fused-search.js';
import { toSearchQuery, type SearchInputLike } from '../../search/search-request.js';
import type { IndexStatus } from '../../vectors/indexes.js';
import { recordVector } from '../../vectors/records.js';

export const ScopeEnum = builder.enumType('Scope', {
  description: 'The kind of store a record lives in.',
  values: {
    DOMAIN: { description: 'A domain\'s shared store: the owner and the surfaces mounting it read it; the owner and READ_WRITE mounts write it.' },
    SURFACE: { description: 'The calling surface\'s private store (app-only state): only that surface\'s tokens use it (BAD_USER_INPUT for an owner token).' },
    GLOBAL: { description: 'The tenant\'s global store: every token of the tenant reads it; only the owner writes it (FORBIDDEN for a surface token).' },
  },
});
export const FusionEnum = builder.enumType('Fusion', {
  description: 'How the per-store result lists of a search become one ranked list.',
  values: {
    DISTANCE: {
      description:
        'As if the searched stores were one table. By vector: the k nearest by cosine distance (ties in any order), exact over stores searched flat (see Domain.index), at the index\'s recall over indexed ones; score = 1 − distance. By text alone: the k best BM25 scores (each store scores with its own word statistics, so scores of different stores compare only roughly); score = that BM25 score. Text and vector (hybrid): the vector ranking and the text ranking of all stores together are fused by reciprocal rank; score = Σ 1/(60 + rank) over the two rankings.',
    },
    RRF: {
      description:
        'Reciprocal rank fusion of stores: each store ranks its own hits (by vector, by text, or hybrid: RRF of its vector and text rankings), each hit scores 1/(60 + its rank there, from 1), and the k best scores win (ties: smaller distance first), so every store\'s best hits rank high.',
    },
  },
});

export const RecordRef = builder.objectType('Record', {
  description: 'One memory (a workout, a meal, an invoice, a sleep score), stored in exactly one store.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Unique within its store: the id the writer gave, or a server-assigned UUID.' }),
    scope: t.field({ type: ScopeEnum, description: 'The kind of store it lives in: DOMAIN, SURFACE (a surface\'s private store) or GLOBAL.', resolve: (r) => r.scope }),
    domain: t.field({
      type: 'Domain',
      nullable: true,
      description: 'The domain whose store it lives in; null for SURFACE and GLOBAL scope.',
      resolve: (r, _args, ctx) => (r.domainKey ? ctx.loaders.domainByKey.load(`${r.tenantId}/${r.domainKey}`) : null),
    }),
    surface: t.field({
      type: 'Surface',
      nullable: true,
      description: 'The surface that last wrote it; null when the owner did.',
      resolve: async (r, _args, ctx) => {
        if (!r.writerSurfaceId) return null;
        const surface = await ctx.loaders.surfaceById.load(r.writerSurfaceId);
        return surface && surface.tenantId === r.tenantId ? surface : null;
      },
    }),
    kind: t.exposeString('kind', { description: 'What it is, as written, e.g. "workout" (1 to 64 characters).' }),
    text: t.exposeString('text', { nullable: true, description: 'The text written with it (at most 64 KiB); null when none. Searchable by search(input: { text }) (BM25).' }),
    metadata: t.field({ type: 'JSON', nullable: true, description: 'The JSON value written with it (at most 64 KiB); null when none.', resolve: (r) => r.metadata }),
    occurredAt: t.expose('occurredAt', { type: 'DateTime', description: 'When it happened, as written; default: when it was written.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was last written (an upsert with the same id sets it again).' }),
    vector: t.floatList({
      description:
        'The vector as written or as the server\'s embedder made it (serverInfo.vectorDimension numbers, kept at 32-bit float precision); [] for a text-only record (see hasVector). Read from storage only when selected.',
      resolve: (r) => recordVector(r) ?? [],
    }),
    hasVector: t.boolean({
      description: 'False for a text-only record: it is found by text search, never by vector search.',
      resolve: (r) => r.norm > 0,
    }),
  }),
});

export const HitRef = builder.objectType('Hit', {
  description: 'One search result: a record and how near it is to the query.',
  fields: (t) => ({
    record: t.field({ type: 'Record', description: 'The record found; its scope and domain say which store it came from.', resolve: (h) => h.record }),
    distance: t.exposeFloat('distance', {
      nullable: true,
      description:
        'Cosine distance between the query vector and the record\'s: 1 − cosine similarity, from 0 (same direction) to 2 (opposite). Null for a hit ranked by text alone: a search without a vector, or a text-only record found by a hybrid search.',
    }),
    score: t.exposeFloat('score', {
      description:
        'Higher is better; what it measures depends on the search (see Fusion). DISTANCE by vector: 1 − distance (−1 to 1). DISTANCE by text: the BM25 score of the query\'s words, doubled when the record\'s text holds the query\'s exact phrase (case and accents aside). DISTANCE hybrid: Σ 1/(60 + rank) over the vector and text rankings, at most 2/61. RRF: 1/(60 + the hit\'s rank in its own store, from 1), at most 1/61.',
    }),
  }),
});

const SearchResultRef = builder.objectRef<{ hits: FusedHit[] }>('SearchResult').implement({
  description: 'The answer of a fused search.',
  fields: (t) => ({ hits: t.field({ type: ['Hit'], description: 'At most k hits, best first (see SearchInput.fusion).', resolve: (r) => r.hits }) }),
});

const VECTOR_QUERY =
  'The query vector: exactly serverInfo.vectorDimension finite numbers, not all zero (BAD_USER_INPUT otherwise). Give this or vectorBase64, never both (BAD_USER_INPUT); with text too, the search is hybrid.';
const VECTOR_BASE64 =
  'The same vector as bytes: serverInfo.vectorDimension little-endian IEEE-754 float32 values (4 bytes each), in padded standard base64 (RFC 4648 §4). Much cheaper to send and parse than a list of numbers. Malformed base64, another byte length or a non-finite value is BAD_USER_INPUT.';
const TEXT_QUERY =
  'Words to find (at most 4096 bytes, not blank; BAD_USER_INPUT otherwise), ranked by BM25 over each store\'s full-text index: case, accents and (per deployment) word endings and stop words aside; a record holding the exact phrase scores double. With a vector too, the search is hybrid (reciprocal-rank fusion of the two rankings). Alone: BM25 only where serverInfo.embedder.provider is "none"; otherwise the server embeds it too and the search is hybrid (EMBEDDER_UNAVAILABLE if that fails; it may burn credits, see serverInfo.embedder). A search needs text, a vector, or both.';
const K = 'How many hits at most: 1 to 1000 (BAD_USER_INPUT otherwise); default 10.';

const RecordInput = builder.inputType('RecordInput', {
  description: 'One record to write.',
  fields: (t) => ({
    id: t.id({
      description:
        'Give one to upsert: a record with this id in the same store is replaced. 1 to 128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit, once per batch (BAD_USER_INPUT otherwise). Default: a new UUID.',
    }),
    kind: t.string({
      required: true,
      description: 'What it is, e.g. "workout": 1 to 64 characters of A-Z a-z 0-9 . _ : / -, starting with a letter or digit (BAD_USER_INPUT otherwise).',
    }),
    text: t.string({
      description:
        'At most 64 KiB of UTF-8 (BAD_USER_INPUT otherwise), stored as it is and found by text search (BM25). Given without a vector: where the server has an embedder (serverInfo.embedder) it is embedded (EMBEDDER_UNAVAILABLE if that fails: nothing written; it may burn credits); otherwise the record is text-only, never found by vector search.',
    }),
    vector: t.floatList({
      description:
        'Exactly serverInfo.vectorDimension finite numbers, not all zero (BAD_USER_INPUT otherwise); search compares its direction. Give this or vectorBase64, never both (BAD_USER_INPUT); a record needs a vector, or text that is not blank, or both.',
    }),
    vectorBase64: t.string({ description: VECTOR_BASE64 }),
    metadata: t.field({ type: 'JSON', description: 'Any JSON value, at most 64 KiB once serialised (BAD_USER_INPUT otherwise).' }),
    occurredAt: t.field({ type: 'DateTime', description: 'When it happened; what search filters compare. Default: now.' }),
  }),
});

const RememberInput = builder.inputType('RememberInput', {
  description: 'Records to write, and the one store they go to.',
  fields: (t) => ({
    scope: t.field({
      type: ScopeEnum,
      defaultValue: 'DOMAIN',
      description: 'The store: DOMAIN (default), SURFACE (the calling surface\'s private store; BAD_USER_INPUT for the owner) or GLOBAL (owner only; FORBIDDEN for a surface).',
    }),
    domain: t.string({
      description:
        'DOMAIN scope only (BAD_USER_INPUT with another). Default: the surface\'s home domain; an owner token must name one (BAD_USER_INPUT). FORBIDDEN unless the surface mounts it READ_WRITE; NOT_FOUND for the owner if it does not exist.',
    }),
    records: t.field({ type: [RecordInput], required: true, description: '1 to 1000 records, all written or none (BAD_USER_INPUT otherwise).' }),
  }),
});

const ForgetInput = builder.inputType('ForgetInput', {
  description: 'Record ids to delete from one store.',
  fields: (t) => ({
    scope: t.field({
      type: ScopeEnum,
      defaultValue: 'DOMAIN',
      description: 'The store, as for remember: DOMAIN (default), SURFACE (surface tokens only; BAD_USER_INPUT for the owner) or GLOBAL (owner only; FORBIDDEN for a surface).',
    }),
    domain: t.string({
      description:
        'As for remember: DOMAIN scope only; default the surface\'s home domain, required for the owner (BAD_USER_INPUT); FORBIDDEN unless mounted READ_WRITE; NOT_FOUND for the owner if it does not exist.',
    }),
    ids: t.idList({ required: true, description: 'At most 1000 record ids (BAD_USER_INPUT for more or a malformed one); ids not in the store are ignored.' }),
  }),
});

const RecordFilter = builder.inputType('RecordFilter', {
  description: 'Narrows a search to the records meeting every condition given.',
  fields: (t) => ({
    kinds: t.stringList({ description: 'Only records of one of these kinds (exact match): at most 100 (BAD_USER_INPUT otherwise); [] matches nothing.' }),
    occurredAfter: t.field({ type: 'DateTime', description: 'Only records with occurredAt at or after this instant (inclusive).' }),
    occurredBefore: t.field({ type: 'DateTime', description: 'Only records with occurredAt before this instant (exclusive).' }),
  }),
});


/** What every search input shares: the query, how many hits, and which records qualify (`where` says in which stores). */
const queryFields = (t: InputFields, where: string) => ({
  vector: t.floatList({ description: VECTOR_QUERY }),
  vectorBase64: t.string({ description: VECTOR_BASE64 }),
  text: t.string({ description: TEXT_QUERY }),
  k: t.int({ defaultValue: 10, description: K }),
  filter: t.field({ type: RecordFilter, description: `Only records matching it are searched${where}. Default: all.` }),
});

const DomainSearchInput = builder.inputType('DomainSearchInput', {
  description: 'A search of one domain\'s store: by vector, by text, or both (hybrid).',
  fields: (t) => queryFields(t, ''),
});

const SearchInput = builder.inputType('SearchInput', {
  description: 'A fused search: one query over several stores, answered as one ranked list.',
  fields: (t) => ({
    ...queryFields(t, ', in every store'),
    domains: t.stringList({
      description:
        'Domain keys to search, at most 64 (repeats ignored; [] searches none). FORBIDDEN for one the token cannot read; NOT_FOUND for the owner if one does not exist. Default: every domain the token can read.',
    }),
    includeSurface: t.boolean({ defaultValue: false, description: 'Also search the calling surface\'s private store. Default false; BAD_USER_INPUT for an owner token.' }),
    includeGlobal: t.boolean({ defaultValue: false, description: 'Also search the tenant\'s global store (every token may). Default false.' }),
    fusion: t.field({ type: FusionEnum, defaultValue: 'DISTANCE', description: 'How the per-store lists are merged and what score means. Default DISTANCE.' }),
  }),
});

async function runSearch(ctx: NexusContext, info: GraphQLResolveInfo, grants: StoreGrant[], input: SearchInputLike, fusion: Fusion) {
  const dimension = ctx.services.config.vectorDimension;
  const withVectors = selectsField(info, 'vector');
  // Validated whole before the embedder is asked anything.
  let plan = toSearchQuery(input, dimension, withVectors);
  const embedding = ctx.loaders.queryEmbedding;
  if (embedding && plan.query.unit === null && plan.query.text !== null) plan = toSearchQuery(input, dimension, withVectors, await embedding.load(plan.query.text));
  return fusedSearch(ctx.loaders.storeSearch, grants, plan.query, plan.k, fusion);
}

/** The grant to read one domain the rules have already let through (the decision is asked again here). */
function domainGrant(ctx: NexusContext, key: string): StoreGrant {
  const [grant] = grantStores(viewerOf(ctx), { op: 'read', domains: [key] }).grants;
  if (!grant) throw new Error('a read of one domain is granted exactly one store');
  return grant;
}

const IndexStateEnum = builder.enumType('IndexState', {
  description: 'Where a store is in its index lifecycle.',
  values: {
    NONE: { description: 'No index: the store is small and searched flat (exact).' },
    BUILDING: { description: 'Past the size threshold, its first index is being built in the background; searched flat (exact) meanwhile.' },
    READY: { description: 'Searched through its ANN index, at the index\'s recall; rows written since are searched flat beside it.' },
    STALE: {
      description: 'Indexed, with enough rows written since (or the table grown enough) that an optimise or rebuild is due; searches still find every row, at the index\'s recall.',
    },
  },
});

const DomainIndexRef = builder.objectRef<IndexStatus>('DomainIndex').implement({
  description:
    'The ANN index of a domain\'s store. A store is searched flat (exact) until it holds NEXUS_INDEX_MIN_ROWS records; then an IVF index is built in the background and searches are at its recall (≥ 0.95 recall@10 on the benchmark\'s data).',
  fields: (t) => ({
    state: t.field({ type: IndexStateEnum, description: 'NONE, BUILDING, READY or STALE.', resolve: (i) => i.state }),
    indexedRows: t.exposeInt('indexedRows', { description: 'Rows the index covers (0 without one).' }),
    unindexedRows: t.exposeInt('unindexedRows', { description: 'Rows searched flat: written since the index was built, or every row without one.' }),
  }),
});

builder.objectFields('Domain', (t) => ({
  index: t.field({
    type: DomainIndexRef,
    description: 'The state of this domain store\'s ANN index. FORBIDDEN unless the token can read the domain.',
    resolve: (domain, _args, ctx) => ctx.services.vectors.indexStatus(domainGrant(ctx, domain.key)),
  }),
  recordCount: t.int({
    description: 'How many records this domain\'s store holds (0 before its first write). FORBIDDEN unless the token can read the domain.',
    resolve: (domain, _args, ctx) => ctx.services.vectors.count(domainGrant(ctx, domain.key)),
  }),
  search: t.field({
    type: ['Hit'],
    description:
      'The k best records of this domain for the query, best first, ranked as a DISTANCE search of this one store (see Fusion): by vector, nearest first (exact while the store is searched flat, at the index\'s recall once indexed; see index); by text, BM25; hybrid, reciprocal-rank fusion of the two. FORBIDDEN unless the token can read the domain.',
    args: { input: t.arg({ type: DomainSearchInput, required: true, description: 'The query (vector, text or both), k and filter.' }) },
    resolve: (domain, { input }, ctx, info) => runSearch(ctx, info, [domainGrant(ctx, domain.key)], input, 'DISTANCE'),
  }),
}));

builder.queryFields((t) => ({
  search: t.field({
    type: SearchResultRef,
    description:
      'One fused query over several stores (every domain the token can read by default; the private and global stores on request), ranked as one list; each hit\'s record says where it came from. FORBIDDEN for a named domain the token cannot read.',
    args: { input: t.arg({ type: SearchInput, required: true, description: 'The query, the stores to search and the fusion.' }) },
    resolve: async (_root, { input }, ctx, info) => {
      const grants = await readGrants(ctx.services, viewerOf(ctx), input);
      return { hits: await runSearch(ctx, info, grants, input, input.fusion ?? 'DISTANCE') };
    },
  }),
}));

const RememberPayload = builder.objectRef<{ records: import('../../vectors/records.js').StoredRecord[] }>('RememberPayload').implement({
  description: 'What remember wrote.',
  fields: (t) => ({ records: t.field({ type: ['Record'], description: 'The records as stored, in input order, with their ids.', resolve: (p) => p.records }) }),
});

const ForgetPayload = builder.objectRef<{ deleted: number }>('ForgetPayload').implement({
  description: 'What forget deleted.',
  fields: (t) => ({ deleted: t.exposeInt('deleted', { description: 'How many of the ids named a record in the store (now deleted).' }) }),
});

builder.mutationFields((t) => ({
  remember: t.field({
    type: RememberPayload,
    description:
      'Writes 1 to 1000 records (upsert by id) to one store, the surface\'s home domain by default; all or nothing. A domain needs a READ_WRITE mount (FORBIDDEN otherwise). Each record written to a domain is a REMEMBERED event.',
    args: { input: t.arg({ type: RememberInput, required: true, description: 'The store and the records.' }) },
    resolve: async (_root, { input }, ctx) => ({ records: await remember(ctx.services, viewerOf(ctx), input, input.records) }),
  }),
  forget: t.field({
    type: ForgetPayload,
    description:
      'Deletes records by id from one store, chosen and allowed as for remember (FORBIDDEN without a READ_WRITE mount); returns how many existed. A deletion in a domain is published as FORGOTTEN events.',
    args: { input: t.arg({ type: ForgetInput, required: true, description: 'The store and the record ids.' }) },
    resolve: async (_root, { input }, ctx) => ({ deleted: await forget(ctx.services, viewerOf(ctx), input, input.ids.map(String)) }),
  }),
}));
