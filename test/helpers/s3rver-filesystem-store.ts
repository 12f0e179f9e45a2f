// s3rver's filesystem store with fixes 2 and 4: listings that walk every key, so folders holding only
// sub-folders show, and atomic writes; it fills the report slot fix 3's middleware opens.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, type Dirent } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KeyedMutex, listingReport, lockKey, S3Error } from './s3rver-middleware.js';

// ---------------------------------------------------------------------------------------------
// s3rver has no type declarations: the small part of its store we use, typed here.

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
  encodeKeyPath(key: string): string;
};

const require = createRequire(import.meta.url);
const FilesystemStore = require('s3rver/lib/stores/filesystem') as FilesystemStoreCtor;
const S3Object = require('s3rver/lib/models/object') as {
  new (bucket: string, key: string, content: null, metadata: ObjectMetadata): StoredObject;
  ALLOWED_METADATA: string[];
};

// s3rver stores key "a/b" as <bucket>/a/b._S3rver_object (+ .md5, ._S3rver_metadata.json).
const OBJECT_SUFFIX = '._S3rver_object';
// Directories at a bucket's root that hold no objects: s3rver's multipart parts and our temp files.
const UPLOADS_DIR = '._S3rver_uploads';
const TEMP_DIR = '._S3rver_tmp';

// ---------------------------------------------------------------------------------------------
// Fixes 2 and 4: helpers, then the store.

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

export class FixedFilesystemStore extends (FilesystemStore as FilesystemStoreCtor) {
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
          if (dir === bucketPath && (entry.name === UPLOADS_DIR || entry.name === TEMP_DIR)) continue;
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
    // Start at the deepest folder the prefix names whole: a listing of one table's versions need not read every
    // tenant's directory on the way down (real S3 does not pay for the keys outside a prefix either).
    const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const start = folder ? path.join(bucketPath, ...folder.slice(0, -1).split('/').map((part) => FilesystemStore.encodeKeyPath(part))) : bucketPath;
    await walk(start, folder);
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
