// Koa middleware that runs just before s3rver's router: fix 1 (conditional writes under a per-key lock)
// and fix 3 (list paging with our own continuation tokens), plus the lock and report slot the store shares.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { finished } from 'node:stream/promises';
import type { FixedFilesystemStore } from './s3rver-filesystem-store.js';

// ---------------------------------------------------------------------------------------------
// s3rver has no type declarations: the small part of its app and models we use, typed here.

export interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  req: IncomingMessage;
  body: unknown;
  get(field: string): string;
}
export type Next = () => Promise<void>;
export type Middleware = (ctx: KoaContext, next: Next) => unknown;

type S3ErrorCtor = new (code: string, message: string, detail?: Record<string, string>) => Error;

const require = createRequire(import.meta.url);
export const S3Error = require('s3rver/lib/models/error') as S3ErrorCtor;
const BUCKET_SUBRESOURCES = (require('s3rver/lib/controllers/bucket') as { METHODS: string[] }).METHODS;
const OBJECT_SUBRESOURCES = (require('s3rver/lib/controllers/object') as { METHODS: string[] }).METHODS;
const ALL_SUBRESOURCES = [...new Set([...BUCKET_SUBRESOURCES, ...OBJECT_SUBRESOURCES])];

// ---------------------------------------------------------------------------------------------
// A per-key mutex: run(key, fn) runs fn after every earlier fn for the same key has settled.

export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

export const lockKey = (bucket: string, key: string): string => `${bucket}\u0000${key}`;

/** The object an API request addresses, from a path-style URL: /bucket/key… (key '' for the bucket). */
function target(ctx: KoaContext): { bucket: string; key: string } | undefined {
  const match = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path);
  if (!match?.[1]) return undefined;
  try {
    return { bucket: decodeURIComponent(match[1]), key: decodeURIComponent(match[2] ?? '') };
  } catch {
    return undefined; // malformed escapes: let s3rver answer
  }
}

const hasSubresource = (ctx: KoaContext): boolean => ALL_SUBRESOURCES.some((name) => name in ctx.query);

// ---------------------------------------------------------------------------------------------
// Fix 1: conditional writes.

/** Which writes replace or remove a key: PutObject, CopyObject (its target), CompleteMultipartUpload, DeleteObject. */
function writtenKey(ctx: KoaContext): { bucket: string; key: string } | undefined {
  const t = target(ctx);
  if (!t || t.key === '') return undefined;
  const method = ctx.method.toUpperCase();
  if ((method === 'PUT' || method === 'DELETE') && !hasSubresource(ctx)) return t;
  if (method === 'POST' && 'uploadId' in ctx.query) return t;
  return undefined;
}

/** ETags from an If-Match / If-None-Match header, quotes and weak markers removed ('*' kept). */
function etagList(header: string): string[] {
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1'))
    .filter(Boolean);
}

function preconditionFailed(condition: string): Error {
  return new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
    Condition: condition,
  });
}

/** The error to answer with, or undefined when the write may go ahead. Checks If-Match first (RFC 9110). */
async function failedCondition(
  store: FixedFilesystemStore,
  bucket: string,
  key: string,
  ifMatch: string,
  ifNoneMatch: string,
): Promise<Error | undefined> {
  if (!ifMatch && !ifNoneMatch) return undefined;
  const current = await store.currentEtag(bucket, key);
  if (ifMatch) {
    // Like S3: If-Match on a missing key is 404 NoSuchKey, not 412.
    if (current === undefined) return new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
    const tags = etagList(ifMatch);
    if (!tags.includes('*') && !tags.includes(current)) return preconditionFailed('If-Match');
  }
  if (ifNoneMatch && current !== undefined) {
    const tags = etagList(ifNoneMatch);
    if (tags.includes('*') || tags.includes(current)) return preconditionFailed('If-None-Match');
  }
  return undefined;
}

export function conditionalWrites(store: FixedFilesystemStore, locks: KeyedMutex): Middleware {
  return async function conditionalWrites(ctx, next) {
    const t = writtenKey(ctx);
    if (!t) return next();
    // The lock covers the check and the write, so two writers of one key can't both pass the check.
    await locks.run(lockKey(t.bucket, t.key), async () => {
      const error = await failedCondition(store, t.bucket, t.key, ctx.get('if-match'), ctx.get('if-none-match'));
      if (error) {
        // Read the unused body, so the client gets our answer rather than a reset connection.
        ctx.req.resume();
        await finished(ctx.req).catch(() => undefined);
        throw error;
      }
      await next();
    });
  };
}

// ---------------------------------------------------------------------------------------------
// Fix 3: list paging. A ListObjects request runs s3rver's handler with a report slot; our store
// fills it with the real truncation and last entry and tells s3rver "not truncated" (its handler
// would make a DES token: HTTP 500), and this middleware writes the paging fields into the answer.

export interface ListingReport {
  truncated: boolean;
  lastEntry?: string;
}
export const listingReport = new AsyncLocalStorage<ListingReport>();

const encodeToken = (entry: string): string => Buffer.from(entry, 'utf8').toString('base64url');

function decodeToken(token: string): string | undefined {
  const entry = Buffer.from(token, 'base64url').toString('utf8');
  return entry !== '' && encodeToken(entry) === token ? entry : undefined;
}

const queryValue = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

export async function listingPages(ctx: KoaContext, next: Next): Promise<void> {
  const t = target(ctx);
  const method = ctx.method.toUpperCase();
  if (!t || t.key !== '' || (method !== 'GET' && method !== 'HEAD') || hasSubresource(ctx)) return next();

  const v2 = queryValue(ctx.query['list-type']) === '2';
  const token = v2 ? queryValue(ctx.query['continuation-token']) : undefined;
  const startAfter = v2 ? queryValue(ctx.query['start-after']) : undefined;
  if (token !== undefined) {
    const resumeAfter = decodeToken(token);
    if (resumeAfter === undefined) {
      throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
        ArgumentName: 'continuation-token',
      });
    }
    // Hand s3rver a plain start-after instead of its own (DES) token.
    const query = { ...ctx.query };
    delete query['continuation-token'];
    query['start-after'] = resumeAfter;
    ctx.query = query;
  }

  const report: ListingReport = { truncated: false };
  await listingReport.run(report, next);

  const result = (ctx.body as { ListBucketResult?: Record<string, unknown> } | undefined)?.ListBucketResult;
  if (!result) return;
  const contents = (result.Contents as unknown[] | undefined) ?? [];
  const prefixes = (result.CommonPrefixes as unknown[] | undefined) ?? [];
  result.IsTruncated = report.truncated;
  if (v2) {
    result.StartAfter = token === undefined ? startAfter : undefined;
    result.ContinuationToken = token;
    result.NextContinuationToken =
      report.truncated && report.lastEntry !== undefined ? encodeToken(report.lastEntry) : undefined;
    result.KeyCount = contents.length + prefixes.length;
  } else {
    // S3 returns NextMarker only with a delimiter; without one, clients resume after the last key.
    const delimited = Boolean(queryValue(ctx.query['delimiter']));
    result.NextMarker = report.truncated && delimited ? report.lastEntry : undefined;
  }
}
