// The files under a storage prefix, as objects: listed with their sizes and removed wholesale. On S3 through
// @aws-sdk/client-s3 (paged ListObjectsV2, DeleteObjects in batches of 1,000); locally through the filesystem.
// Erasure and usage reach storage only through this; prefixes come from layout.ts, never from user strings.
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3Settings } from '../config/env.js';

export interface StoredObject {
  /** Path relative to the storage root, with / separators. */
  key: string;
  size: number;
}

export interface ObjectStorage {
  /** Every object under the prefix (segments from layout.ts), in pages. */
  list(segments: readonly string[]): AsyncIterable<StoredObject[]>;
  /** Removes every object under the prefix; answers how many there were. Removing nothing is no error. */
  removeAll(segments: readonly string[], onProgress?: (removed: number) => void): Promise<number>;
  close(): void;
}

const DELETE_BATCH = 1000;

// The AWS SDK prints a multi-line warning on Node 20 (the Node these machines run, STACK.md) on its first client:
// it would break the CLI's one-line errors and the gateway's JSON log. Set before any client exists.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * An S3 client on the deployment's settings (region, endpoint with path-style addressing, credentials), the one way
 * Nexus's own S3 calls are made; `extra` adds what one caller needs (timeouts, checksum modes).
 */
export function s3ClientFor(settings: S3Settings, extra: S3ClientConfig = {}): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: Boolean(settings.endpoint),
    credentials: settings.accessKeyId && settings.secretAccessKey ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey, sessionToken: settings.sessionToken } : undefined,
    ...extra,
  });
}

/**
 * Object storage for a storage root: a local directory or s3://bucket/prefix. On S3 each request (a page of a
 * listing, a batch of deletes) is bounded by timeoutMs and tried twice, so a bucket that is down or hangs fails
 * usage and erasure within seconds (erasure is resumed later) instead of holding them.
 */
export function createObjectStorage(root: string, s3: S3Settings, options: { timeoutMs?: number } = {}): ObjectStorage {
  return root.startsWith('s3://') ? s3Storage(root, s3, options.timeoutMs ?? 5_000) : localStorage(root);
}

function localStorage(root: string): ObjectStorage {
  const dir = (segments: readonly string[]) => path.join(root, ...segments);
  return {
    async *list(segments) {
      const base = dir(segments);
      let entries;
      try {
        entries = await readdir(base, { recursive: true, withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      const files = entries.filter((e) => e.isFile());
      for (let i = 0; i < files.length; i += DELETE_BATCH) {
        const page = await Promise.all(
          files.slice(i, i + DELETE_BATCH).map(async (e) => {
            const full = path.join(e.parentPath, e.name);
            const size = await stat(full).then((s) => s.size, () => 0);
            return { key: path.relative(root, full).split(path.sep).join('/'), size };
          }),
        );
        yield page;
      }
    },
    async removeAll(segments, onProgress) {
      let count = 0;
      for await (const page of this.list(segments)) count += page.length;
      await rm(dir(segments), { recursive: true, force: true });
      onProgress?.(count);
      return count;
    },
    close: () => undefined,
  };
}

function s3Storage(root: string, settings: S3Settings, timeoutMs: number): ObjectStorage {
  const url = new URL(root);
  const bucket = url.hostname;
  const rootPrefix = url.pathname.replace(/^\/+|\/+$/g, '');
  const client = s3ClientFor(settings, {
    maxAttempts: 2,
    requestHandler: { connectionTimeout: Math.min(timeoutMs, 2000), requestTimeout: timeoutMs, throwOnRequestTimeout: true },
  });
  // A trailing slash: the prefix of tenant "ab" must not match tenant "abc".
  const prefixOf = (segments: readonly string[]) => `${[rootPrefix, ...segments].filter(Boolean).join('/')}/`;
  const relative = (key: string) => (rootPrefix ? key.slice(rootPrefix.length + 1) : key);
  return {
    async *list(segments) {
      const Prefix = prefixOf(segments);
      let ContinuationToken: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix, ContinuationToken, MaxKeys: DELETE_BATCH }));
        const objects = (page.Contents ?? []).filter((o) => o.Key).map((o) => ({ key: relative(o.Key as string), size: o.Size ?? 0 }));
        if (objects.length > 0) yield objects;
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    },
    async removeAll(segments, onProgress) {
      let removed = 0;
      // Listed again until empty: a write that raced the erasure's first pass is caught by the next.
      for (let pass = 0; pass < 5; pass++) {
        let found = 0;
        for await (const page of this.list(segments)) {
          found += page.length;
          const Objects = page.map((o) => ({ Key: `${rootPrefix ? `${rootPrefix}/` : ''}${o.key}` }));
          const answer = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects, Quiet: true } }));
          if (answer.Errors && answer.Errors.length > 0) {
            const first = answer.Errors[0];
            throw new Error(`S3 refused to delete ${answer.Errors.length} objects (first: ${first?.Key}: ${first?.Code})`);
          }
          removed += page.length;
          onProgress?.(removed);
        }
        if (found === 0) break;
      }
      return removed;
    },
    close: () => client.destroy(),
  };
}
