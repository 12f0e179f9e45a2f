// Starts an in-process S3-compatible server (s3rver 3.7.1) for tests, with our fixes for its defects.
// It is a test server, never a production one: it checks no signature and keeps objects in a temp directory.

// The fixes (see the team's STACK.md, "S3-compatible test server"):
//  1. conditional writes: If-None-Match / If-Match on PUT, CopyObject, CompleteMultipartUpload and
//     DELETE, checked under a per-key lock (LanceDB commits manifests with If-None-Match: *);
//  2. delimiter listings: folders holding only sub-folders are returned as CommonPrefixes;
//  3. paging: our own continuation token (base64url of the last entry returned), as s3rver's DES
//     tokens make every truncated ListObjectsV2 fail with HTTP 500 on OpenSSL 3; V1 NextMarker fixed;
//  4. atomic writes: objects are written to a temp file and renamed, so readers never see a partial one.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, type Dirent } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';

export interface S3TestServer {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  accessKeyId: 'S3RVER';
  secretAccessKey: 'S3RVER';
  region: 'us-east-1';
  /** Where the objects live; removed on stop() unless it was given. */
  directory: string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Names of our fixes, so a scratch script can prove a test fails without one. */
export type S3ServerFix = 'conditional-writes' | 'delimiter-listings' | 'continuation-tokens' | 'atomic-writes';

export interface S3ServerOptions {
  /** Keep objects here (kept on stop). Default: a new temp directory, removed on stop. */
  directory?: string;
  /** Buckets to create. Default ['nexus']. */
  buckets?: string[];
  /** Only for proving that tests can fail: start with these fixes switched off. */
  withoutFixes?: readonly S3ServerFix[];
}

// ---------------------------------------------------------------------------------------------
// s3rver has no type declarations: the small part of it we use, typed here.

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  req: IncomingMessage;
  body: unknown;
  get(field: string): string;
}
type Next = () => Promise<void>;
type Middleware = (ctx: KoaContext, next: Next) => unknown;

interface S3rverApp {
  middleware: Middleware[];
  store: unknown;
  context: { store: unknown };
  httpServer?: Server;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverApp;

interface StoredObject {
  bucket: string;
  key: string;
  content: Readable | Buffer | null;
  metadata: Record<string, string>;
}
type ObjectMetadata = Record<string, string | number>;
interface ListResult {
  objects: StoredObject[];
  commonPrefixes: string[];
  isTruncated: boolean;
}
interface ListOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}
interface FilesystemStoreBase {
  rootDirectory: string;
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<ObjectMetadata>;
  listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
  getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<StoredObject | null>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
  copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata: Record<string, string> | null,
  ): Promise<ObjectMetadata>;
  deleteObject(bucket: string, key: string): Promise<void>;
}
type FilesystemStoreCtor = (new (rootDirectory: string) => FilesystemStoreBase) & {
  decodeKeyPath(keyPath: string): string;
};
type S3ErrorCtor = new (code: string, message: string, detail?: Record<string, string>) => Error;

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverCtor;
const FilesystemStore = require('s3rver/lib/stores/filesystem') as FilesystemStoreCtor;
const S3Error = require('s3rver/lib/models/error') as S3ErrorCtor;
const S3Object = require('s3rver/lib/models/object') as {
  new (bucket: string, key: string, content: null, metadata: ObjectMetadata): StoredObject;
  ALLOWED_METADATA: string[];
};
const BUCKET_SUBRESOURCES = (require('s3rver/lib/controllers/bucket') as { METHODS: string[] }).METHODS;
const OBJECT_SUBRESOURCES = (require('s3rver/lib/controllers/object') as { METHODS: string[] }).METHODS;
const ALL_SUBRESOURCES = [...new Set([...BUCKET_SUBRESOURCES, ...OBJECT_SUBRESOURCES])];

// s3rver stores key "a/b" as <bucket>/a/b._S3rver_object (+ .md5, ._S3rver_metadata.json).
const OBJECT_SUFFIX = '._S3rver_object';
// Directories at a bucket's root that hold no objects: s3rver's multipart parts and our temp files.
const UPLOADS_DIR = '._S3rver_uploads';
const TEMP_DIR = '._S3rver_tmp';

// ---------------------------------------------------------------------------------------------

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3TestServer> {
  const off = new Set(options.withoutFixes ?? []);
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(path.join(tmpdir(), 'nexus-s3-')));
  await mkdir(directory, { recursive: true });

  const app = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? ['nexus']).map((name) => ({ name })),
  });
  const store = new FixedFilesystemStore(directory, {
    listings: !off.has('delimiter-listings'),
    atomicWrites: !off.has('atomic-writes'),
  });
  app.store = app.context.store = store;

  // s3rver's last middleware is its router (the S3 API); ours run just before it.
  const router = app.middleware.at(-1);
  if (app.middleware.length < 2 || router?.name !== 'dispatch') {
    throw new Error('s3rver layout changed: expected its router to be the last Koa middleware');
  }
  const ours: Middleware[] = [];
  if (!off.has('continuation-tokens')) ours.push(listingPages);
  if (!off.has('conditional-writes')) ours.push(conditionalWrites(store, new KeyedMutex()));
  app.middleware.splice(app.middleware.length - 1, 0, ...ours);

  let port: number;
  try {
    ({ port } = await app.run());
  } catch (err) {
    if (ownDirectory) await rm(directory, { recursive: true, force: true });
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      const closed = app.close();
      // Clients (LanceDB, the AWS SDK) keep connections alive; don't wait for them to go idle.
      app.httpServer?.closeAllConnections();
      await closed;
      if (ownDirectory) await rm(directory, { recursive: true, force: true });
    })());

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: 'us-east-1',
    directory,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

// ---------------------------------------------------------------------------------------------
// A per-key mutex: run(key, fn) runs fn after every earlier fn for the same key has settled.

class KeyedMutex {
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

const lockKey = (bucket: string, key: string): string => `${bucket}\u0000${key}`;

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

function conditionalWrites(store: FixedFilesystemStore, locks: KeyedMutex): Middleware {
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

interface ListingReport {
  truncated: boolean;
  lastEntry?: string;
}
const listingReport = new AsyncLocalStorage<ListingReport>();

const encodeToken = (entry: string): string => Buffer.from(entry, 'utf8').toString('base64url');

function decodeToken(token: string): string | undefined {
  const entry = Buffer.from(token, 'base64url').toString('utf8');
  return entry !== '' && encodeToken(entry) === token ? entry : undefined;
}

const queryValue = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

async function listingPages(ctx: KoaContext, next: Next): Promise<void> {
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

// ---------------------------------------------------------------------------------------------
// Fixes 2 and 4 live in the store.

/** Orders strings by Unicode code point, as S3 orders keys (by their UTF-8 bytes); JS '<' compares UTF-16 units. */
function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800-0xDFFF) stand for code points above 0xFFFF: move them above 0xE000-0xFFFF.
    x = x >= 0xe000 ? x - 0x800 : x >= 0xd800 ? x + 0x2000 : x;
    y = y >= 0xe000 ? y - 0x800 : y >= 0xd800 ? y + 0x2000 : y;
    return x - y;
  }
  return a.length - b.length;
}

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';

function md5Counter(): { transform: Transform; result(): { size: number; md5: string } } {
  const hash = createHash('md5');
  let size = 0;
  return {
    transform: new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    }),
    result: () => ({ size, md5: hash.digest('hex') }),
  };
}

class FixedFilesystemStore extends (FilesystemStore as FilesystemStoreCtor) {
  readonly #fixes: { listings: boolean; atomicWrites: boolean };
  // Held only to swap an object's files in, or to read a consistent snapshot of them.
  readonly #fileLocks = new KeyedMutex();

  constructor(rootDirectory: string, fixes: { listings: boolean; atomicWrites: boolean }) {
    super(rootDirectory);
    this.#fixes = fixes;
  }

  /** The current object's ETag without quotes, or undefined when there is no object. */
  async currentEtag(bucket: string, key: string): Promise<string | undefined> {
    try {
      const metadata = await this.#fileLocks.run(lockKey(bucket, key), () => this.getMetadata(bucket, key));
      return String(metadata.etag).replace(/"/g, '');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  // Fix 2: list every key under the prefix, sort, then fold into CommonPrefixes. (s3rver walks the
  // directories lazily and never enters a folder below a common prefix, so one that holds only
  // sub-folders is lost.)
  override async listObjects(bucket: string, options: ListOptions): Promise<ListResult> {
    const report = listingReport.getStore();
    if (!this.#fixes.listings) {
      const result = await super.listObjects(bucket, options);
      if (!report) return result;
      report.truncated = result.isTruncated;
      report.lastEntry = result.objects.at(-1)?.key;
      return { ...result, isTruncated: false };
    }

    const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options;
    const keys = (await this.#keysUnder(bucket, prefix)).sort(compareKeys);
    const picked: string[] = [];
    const commonPrefixes: string[] = [];
    let lastEntry: string | undefined;
    let truncated = false;
    for (const key of keys) {
      if (compareKeys(key, startAfter) <= 0) continue;
      const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      const folded = cut === -1 ? undefined : key.slice(0, cut + delimiter.length);
      // Resuming after a common prefix (our token, or a V1 NextMarker) skips everything in it.
      if (folded !== undefined && (folded === startAfter || folded === lastEntry)) continue;
      if (picked.length + commonPrefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (folded === undefined) picked.push(key);
      else commonPrefixes.push(folded);
      lastEntry = folded ?? key;
    }

    const objects: StoredObject[] = [];
    const metadata = await Promise.all(
      picked.map((key) =>
        this.#fileLocks.run(lockKey(bucket, key), () => this.getMetadata(bucket, key)).catch((err: unknown) => {
          if (isMissing(err)) return undefined; // deleted meanwhile
          throw err;
        }),
      ),
    );
    picked.forEach((key, i) => {
      const found = metadata[i];
      if (found) objects.push(new S3Object(bucket, key, null, found));
    });

    if (report) {
      report.truncated = truncated;
      report.lastEntry = lastEntry;
    }
    // With a report slot, our middleware writes the paging fields (s3rver's own would fail).
    return { objects, commonPrefixes, isTruncated: report ? false : truncated };
  }

  /** Every key under the prefix, unsorted. */
  async #keysUnder(bucket: string, prefix: string): Promise<string[]> {
    const bucketPath = this.getBucketPath(bucket);
    const keys: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return; // removed meanwhile
        throw err;
      }
      const nested: Promise<void>[] = [];
      for (const entry of entries) {
        const name = FilesystemStore.decodeKeyPath(entry.name);
        if (entry.isDirectory()) {
          if (keyPrefix === '' && (entry.name === UPLOADS_DIR || entry.name === TEMP_DIR)) continue;
          const folder = `${keyPrefix}${name}/`;
          if (folder.startsWith(prefix) || prefix.startsWith(folder)) {
            nested.push(walk(path.join(dir, entry.name), folder));
          }
        } else if (entry.isFile() && entry.name.endsWith(OBJECT_SUFFIX)) {
          const key = keyPrefix + name.slice(0, -OBJECT_SUFFIX.length);
          if (key.startsWith(prefix)) keys.push(key);
        }
      }
      await Promise.all(nested);
    };
    await walk(bucketPath, '');
    return keys;
  }

  // A consistent read: the metadata and the open file belong to the same version of the object.
  override async getObject(
    bucket: string,
    key: string,
    options?: { start?: number; end?: number },
  ): Promise<StoredObject | null> {
    if (!this.#fixes.atomicWrites) return super.getObject(bucket, key, options);
    return this.#fileLocks.run(lockKey(bucket, key), () => super.getObject(bucket, key, options));
  }

  // Fix 4: write the content and its sidecar files to temp files, then rename them into place.
  override async putObject(object: StoredObject): Promise<{ size: number; md5: string }> {
    if (!this.#fixes.atomicWrites) return super.putObject(object);
    const content = object.content ?? Buffer.alloc(0);
    const source = Buffer.isBuffer(content) ? Readable.from([content]) : content;
    return this.#writeAtomically(object.bucket, object.key, object.metadata, source);
  }

  override async copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata: Record<string, string> | null,
  ): Promise<ObjectMetadata> {
    if (!this.#fixes.atomicWrites) {
      return super.copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata);
    }
    // Open the source and read its metadata together, then copy from the open file.
    const source = await this.#fileLocks
      .run(lockKey(srcBucket, srcKey), async () => {
        const file = await open(this.getResourcePath(srcBucket, srcKey, 'object'), 'r');
        const stored = await readFile(this.getResourcePath(srcBucket, srcKey, 'metadata.json'), 'utf8')
          .then((json) => JSON.parse(json) as Record<string, string>)
          .catch((err: unknown) => {
            if (isMissing(err)) return {};
            throw err;
          });
        return { file, stored };
      })
      .catch((err: unknown) => {
        if (isMissing(err)) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: srcKey });
        throw err;
      });
    try {
      await this.#writeAtomically(destBucket, destKey, replacementMetadata ?? source.stored, source.file.createReadStream());
    } finally {
      await source.file.close().catch(() => undefined);
    }
    return this.getMetadata(destBucket, destKey);
  }

  override async deleteObject(bucket: string, key: string): Promise<void> {
    if (!this.#fixes.atomicWrites) return super.deleteObject(bucket, key);
    const objectPath = this.getResourcePath(bucket, key, 'object');
    await this.#fileLocks.run(lockKey(bucket, key), async () => {
      for (const resource of ['object', 'object.md5', 'metadata.json', 'tagging.xml']) {
        await rm(this.getResourcePath(bucket, key, resource), { force: true });
      }
    });
    // Remove the key's now-empty folders. rmdir refuses a folder another writer has just filled.
    const bucketPath = this.getBucketPath(bucket);
    for (let dir = path.dirname(objectPath); dir.startsWith(bucketPath + path.sep); dir = path.dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  }

  async #writeAtomically(
    bucket: string,
    key: string,
    metadata: Record<string, string>,
    source: Readable,
  ): Promise<{ size: number; md5: string }> {
    const tempDir = path.join(this.getBucketPath(bucket), TEMP_DIR);
    await mkdir(tempDir, { recursive: true });
    const temp = path.join(tempDir, randomUUID());
    const files = { object: `${temp}.object`, md5: `${temp}.md5`, metadata: `${temp}.json` };
    try {
      const counter = md5Counter();
      await pipeline(source, counter.transform, createWriteStream(files.object));
      const { size, md5 } = counter.result();
      const sidecar = Object.fromEntries(
        Object.entries(metadata).filter(
          ([name]) => S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-'),
        ),
      );
      await writeFile(files.md5, md5);
      await writeFile(files.metadata, JSON.stringify(sidecar, null, 2));

      const objectPath = this.getResourcePath(bucket, key, 'object');
      await this.#fileLocks.run(lockKey(bucket, key), async () => {
        // A delete of a sibling key may remove the (empty) folder between mkdir and rename: retry.
        for (let attempt = 1; ; attempt++) {
          await mkdir(path.dirname(objectPath), { recursive: true });
          try {
            await rename(files.object, objectPath);
            break;
          } catch (err) {
            if (!isMissing(err) || attempt >= 10) throw err;
          }
        }
        await rename(files.md5, this.getResourcePath(bucket, key, 'object.md5'));
        await rename(files.metadata, this.getResourcePath(bucket, key, 'metadata.json'));
      });
      return { size, md5 };
    } finally {
      await Promise.all(Object.values(files).map((file) => rm(file, { force: true })));
    }
  }
}
