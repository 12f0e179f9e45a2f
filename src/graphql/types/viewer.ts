// Viewer (who the token is) and ServerInfo (public facts about this deployment).
import type { Config } from '../../config/env.js';
import { builder } from '../builder.js';
import { viewerOf } from '../context.js';
import { NotFoundError } from '../../errors.js';

export const RoleEnum = builder.enumType('Role', {
  description: 'What kind of token is calling.',
  values: {
    OWNER: { description: 'The person: the owner token from signUp, which may do everything in its tenant.' },
    SURFACE: { description: 'One of their surfaces: a token from issueSurfaceToken, limited to the domains that surface mounts.' },
  },
});

const ViewerRef = builder.objectRef<{ role: 'OWNER' | 'SURFACE'; tenantId: string; surfaceId: string | null }>('Viewer').implement({
  description: 'Who the bearer token is: the person (OWNER) or one of their surfaces.',
  fields: (t) => ({
    role: t.field({ type: RoleEnum, description: 'OWNER for an owner token, SURFACE for a surface token.', resolve: (v) => v.role }),
    tenant: t.field({
      type: 'Tenant',
      description: 'The tenant the token belongs to.',
      resolve: async (v, _args, ctx) => {
        const tenant = await ctx.services.db.prisma.tenant.findUnique({ where: { id: v.tenantId } });
        if (!tenant) throw new NotFoundError('tenant', v.tenantId);
        return tenant;
      },
    }),
    surface: t.field({
      type: 'Surface',
      nullable: true,
      description: 'The surface a surface token acts as; null for the owner.',
      resolve: (v, _args, ctx) => (v.surfaceId ? ctx.loaders.surfaceById.load(v.surfaceId) : null),
    }),
  }),
});

const EmbedderInfoRef = builder.objectRef<Config['embedder']>('EmbedderInfo').implement({
  description: 'The server-side embedder (NEXUS_EMBEDDER): what turns text given without a vector into one.',
  fields: (t) => ({
    provider: t.string({
      description:
        '"none": text is not embedded; records with text and no vector are text-only (found by text search, never by vector search) and text is searched by BM25 alone. "openai": a server speaking OpenAI\'s /v1/embeddings embeds such records and search texts, and a text search is hybrid.',
      resolve: (e) => e.provider,
    }),
    model: t.string({ nullable: true, description: 'The embedding model asked for; null with provider "none".', resolve: (e) => (e.provider === 'none' ? null : (e.model ?? null)) }),
    creditsPerEmbedding: t.field({
      type: 'BigInt',
      description: 'Credits burnt from the tenant\'s wallet for each record or search text the server embeds, in the same request (INSUFFICIENT_CREDITS: nothing written); 0: free.',
      resolve: (e) => (e.provider === 'none' ? 0n : e.creditsPerEmbedding),
    }),
  }),
});

const TextSearchInfoRef = builder.objectRef<Config['text']>('TextSearchInfo').implement({
  description: 'How this deployment\'s full-text (BM25) indexes read text. Case and accents are always ignored.',
  fields: (t) => ({
    language: t.exposeString('language', { description: 'The language of stemming and stop words (NEXUS_TEXT_LANGUAGE), e.g. "English".' }),
    stemming: t.boolean({ description: 'Whether word endings are ignored ("runs" finds "running"; NEXUS_TEXT_STEM).', resolve: (s) => s.stem }),
    stopWords: t.boolean({ description: 'Whether the language\'s stop words ("the", "at") are left out of the index and queries (NEXUS_TEXT_STOP_WORDS).', resolve: (s) => s.removeStopWords }),
    tokenizer: t.exposeString('tokenizer', {
      description: '"simple": words are split at anything not a letter or digit; "whitespace": at spaces only; "ngram": 2- and 3-character pieces, for scripts written without spaces (NEXUS_TEXT_TOKENIZER).',
    }),
  }),
});

const ServerInfoRef = builder.objectRef<{ vectorDimension: number; version: string; embedder: Config['embedder']; textSearch: Config['text'] }>('ServerInfo').implement({
  description: 'Public facts about this deployment.',
  fields: (t) => ({
    embedder: t.field({ type: EmbedderInfoRef, description: 'Whether and how the server embeds text, and what it costs.', resolve: (i) => i.embedder }),
    textSearch: t.field({ type: TextSearchInfoRef, description: 'How text is indexed and searched.', resolve: (i) => i.textSearch }),
    vectorDimension: t.exposeInt('vectorDimension', {
      description: 'Every vector written or searched has exactly this many finite numbers (one value per deployment, 1 to 4096; default 384).',
    }),
    version: t.exposeString('version', { description: 'The Nexus server version, e.g. "0.1.0".' }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    description: 'Who the token is: its role, its tenant and, for a surface token, its surface. UNAUTHENTICATED without a token.',
    resolve: (_root, _args, ctx) => {
      const v = viewerOf(ctx);
      return { role: v.role, tenantId: v.tenantId, surfaceId: v.surface?.id ?? null };
    },
  }),
  serverInfo: t.field({
    type: ServerInfoRef,
    description: 'Public (no token needed): the vector dimension, the server version, the embedder and text search settings.',
    resolve: (_root, _args, ctx) => {
      const { config } = ctx.services;
      return { vectorDimension: config.vectorDimension, version: config.version, embedder: config.embedder, textSearch: config.text };
    },
  }),
}));
