// The S3 test server (test/helpers/s3-server.ts) fixes s3rver's defects; each test here proves one
// fix through a real client: @aws-sdk/client-s3, raw HTTP, or LanceDB (in-process and in child processes).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsCommand,
  type ListObjectsCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type ListObjectsV2CommandOutput,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Schema, Utf8 } from 'apache-arrow';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

const BUCKET = 'nexus';

function clientFor(server: S3TestServer): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    forcePathStyle: true,
    region: server.region,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
}

/** Runs fn over items with at most `limit` calls in flight. */
async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** An unsigned path-style PUT (s3rver accepts anonymous requests): seeds many keys faster than the SDK. */
function rawPut(server: S3TestServer, agent: Agent, key: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const path = `/${BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`;
    const req = request({ agent, host: '127.0.0.1', port: server.port, method: 'PUT', path }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${key}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The error a rejected promise carries, as S3 client errors look. */
async function rejection(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the request to be rejected, but it succeeded');
}

describe('S3 test server', () => {
  let server: S3TestServer;
  let s3: S3Client;
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const put = (Key: string, Body: string, extra: Partial<PutObjectCommandInput> = {}) =>
    s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body, ...extra }));
  const read = async (Key: string): Promise<string> => {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
    return (await got.Body?.transformToString()) ?? '';
  };

  beforeAll(async () => {
    server = await startS3Server();
    s3 = clientFor(server);
  });
  afterAll(async () => {
    s3?.destroy();
    agent.destroy();
    await server?.stop();
  });

  it('listens on 127.0.0.1 with the S3RVER credentials and removes its temp directory on stop', async () => {
    const other = await startS3Server({ buckets: ['first', 'second'] });
    expect(other.endpoint).toBe(`http://127.0.0.1:${other.port}`);
    expect(other.port).toBeGreaterThan(0);
    expect(other).toMatchObject({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' });
    const client = clientFor(other);
    await client.send(new PutObjectCommand({ Bucket: 'second', Key: 'k', Body: 'v' }));
    expect(existsSync(other.directory)).toBe(true);
    client.destroy();
    await other.stop();
    expect(existsSync(other.directory)).toBe(false);
  });

  describe('conditional writes', () => {
    it('answers 412 when If-None-Match: * meets an existing key, and keeps the object', async () => {
      await put('cond/existing.txt', 'first');
      expect(await rejection(put('cond/existing.txt', 'second', { IfNoneMatch: '*' }))).toEqual({
        name: 'PreconditionFailed',
        status: 412,
      });
      expect(await read('cond/existing.txt')).toBe('first');
    });

    it('writes the key when If-None-Match: * meets no key', async () => {
      await put('cond/absent.txt', 'created', { IfNoneMatch: '*' });
      expect(await read('cond/absent.txt')).toBe('created');
    });

    it('lets exactly one of many concurrent If-None-Match: * writers create a key', async () => {
      const writers = Array.from({ length: 20 }, (_, i) => put('cond/race.txt', `writer ${i}`, { IfNoneMatch: '*' }));
      const outcomes = await Promise.allSettled(writers);
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect((o.reason as Error).name).toBe('PreconditionFailed');
      }
      expect(await read('cond/race.txt')).toBe(`writer ${won[0]}`);
    });

    it('answers 412 when If-Match names another etag, and writes when it names the current one, quoted or not', async () => {
      const { ETag } = await put('cond/match.txt', 'v1');
      expect(ETag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(await rejection(put('cond/match.txt', 'v2', { IfMatch: '"0123456789abcdef0123456789abcdef"' }))).toEqual({
        name: 'PreconditionFailed',
        status: 412,
      });
      expect(await read('cond/match.txt')).toBe('v1');

      const second = await put('cond/match.txt', 'v2', { IfMatch: ETag });
      expect(await read('cond/match.txt')).toBe('v2');
      await put('cond/match.txt', 'v3', { IfMatch: second.ETag?.replace(/"/g, '') });
      expect(await read('cond/match.txt')).toBe('v3');
    });

    it('answers 404 NoSuchKey when If-Match names a key that does not exist, as S3 does', async () => {
      expect(await rejection(put('cond/never.txt', 'x', { IfMatch: '"0123456789abcdef0123456789abcdef"' }))).toEqual({
        name: 'NoSuchKey',
        status: 404,
      });
    });

    it('answers 412 when CompleteMultipartUpload with If-None-Match: * meets an existing key', async () => {
      await put('cond/multipart.bin', 'original');
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'cond/multipart.bin' }));
      const part = await s3.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: 'cond/multipart.bin', UploadId, PartNumber: 1, Body: 'replacement' }),
      );
      const complete = s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'cond/multipart.bin',
          UploadId,
          IfNoneMatch: '*',
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
      expect(await rejection(complete)).toEqual({ name: 'PreconditionFailed', status: 412 });
      expect(await read('cond/multipart.bin')).toBe('original');
    });
  });

  describe('delimiter listings', () => {
    beforeAll(async () => {
      // 'tree/deep/' holds only sub-folders; s3rver alone never reports it.
      for (const key of ['tree/top.txt', 'tree/deep/a/1.txt', 'tree/deep/b/2.txt', 'tree/flat/3.txt', 'tree/flat/4.txt']) {
        await put(key, key);
      }
    });

    it('returns a folder that holds only sub-folders as a CommonPrefix', async () => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'tree/', Delimiter: '/' }));
      expect(listed.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['tree/deep/', 'tree/flat/']);
      expect(listed.Contents?.map((o) => o.Key)).toEqual(['tree/top.txt']);
      expect(listed.KeyCount).toBe(3);
    });

    it('folds keys under a prefix that ends mid-name', async () => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'tree/d', Delimiter: '/' }));
      expect(listed.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['tree/deep/']);
      expect(listed.Contents).toBeUndefined();
    });

    it('lists every key under the prefix, in order, without a delimiter', async () => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'tree/' }));
      expect(listed.Contents?.map((o) => o.Key)).toEqual([
        'tree/deep/a/1.txt',
        'tree/deep/b/2.txt',
        'tree/flat/3.txt',
        'tree/flat/4.txt',
        'tree/top.txt',
      ]);
      expect(listed.CommonPrefixes).toBeUndefined();
    });
  });

  describe('paging', () => {
    const keys = Array.from({ length: 250 }, (_, i) => `paged/item-${String(i).padStart(4, '0')}`);
    // 12 folders, each holding a key and a sub-folder, beside one loose key.
    const folders = Array.from({ length: 12 }, (_, i) => `pfx/f${String(i).padStart(2, '0')}/`);
    beforeAll(async () => {
      await inBatches(keys, 32, (key) => put(key, key));
      await inBatches(folders, 12, (folder) => Promise.all([put(`${folder}a`, 'a'), put(`${folder}b/c`, 'c')]));
      await put('pfx/loose.txt', 'loose');
    });

    async function allPagesV2(input: { Prefix: string; MaxKeys?: number; Delimiter?: string }) {
      const pages: ListObjectsV2CommandOutput[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ...input, ContinuationToken: token }));
        pages.push(page);
        token = page.NextContinuationToken;
        if (page.IsTruncated) expect(token).toBeTruthy();
      } while (token && pages.length < 100);
      return pages;
    }

    async function allPagesV1(input: { Prefix: string; MaxKeys: number; Delimiter?: string }) {
      const pages: ListObjectsCommandOutput[] = [];
      let marker: string | undefined;
      do {
        const page: ListObjectsCommandOutput = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, ...input, Marker: marker }));
        pages.push(page);
        // S3 gives NextMarker only with a delimiter; otherwise the client resumes after the last key.
        marker = page.IsTruncated ? (page.NextMarker ?? page.Contents?.at(-1)?.Key) : undefined;
        if (page.IsTruncated) expect(marker).toBeTruthy();
      } while (marker && pages.length < 100);
      return pages;
    }

    it('pages through 250 keys 100 at a time with ListObjectsV2 continuation tokens', async () => {
      const pages = await allPagesV2({ Prefix: 'paged/', MaxKeys: 100 });
      expect(pages.map((p) => p.KeyCount)).toEqual([100, 100, 50]);
      expect(pages.map((p) => p.IsTruncated)).toEqual([true, true, false]);
      expect(pages.flatMap((p) => p.Contents?.map((o) => o.Key) ?? [])).toEqual(keys);
    });

    it('pages CommonPrefixes with a delimiter, repeating and skipping none', async () => {
      const pages = await allPagesV2({ Prefix: 'pfx/', Delimiter: '/', MaxKeys: 5 });
      expect(pages.map((p) => p.KeyCount)).toEqual([5, 5, 3]);
      expect(pages.flatMap((p) => p.CommonPrefixes?.map((c) => c.Prefix) ?? [])).toEqual(folders);
      expect(pages.flatMap((p) => p.Contents?.map((o) => o.Key) ?? [])).toEqual(['pfx/loose.txt']);
    });

    it('pages with ListObjects (V1) markers, with and without a delimiter', async () => {
      const plain = await allPagesV1({ Prefix: 'paged/', MaxKeys: 100 });
      expect(plain.map((p) => p.Contents?.length)).toEqual([100, 100, 50]);
      expect(plain.flatMap((p) => p.Contents?.map((o) => o.Key) ?? [])).toEqual(keys);

      const folded = await allPagesV1({ Prefix: 'pfx/', Delimiter: '/', MaxKeys: 4 });
      expect(folded.map((p) => (p.CommonPrefixes?.length ?? 0) + (p.Contents?.length ?? 0))).toEqual([4, 4, 4, 1]);
      expect(folded.flatMap((p) => p.CommonPrefixes?.map((c) => c.Prefix) ?? [])).toEqual(folders);
      expect(folded.flatMap((p) => p.Contents?.map((o) => o.Key) ?? [])).toEqual(['pfx/loose.txt']);
    });

    it('lists more than 1,000 keys in pages of the default size', async () => {
      const many = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      await inBatches(many, 16, (key) => rawPut(server, agent, key, 'x'));
      const pages = await allPagesV2({ Prefix: 'many/' });
      expect(pages.map((p) => p.KeyCount)).toEqual([1000, 5]);
      expect(pages.flatMap((p) => p.Contents?.map((o) => o.Key) ?? [])).toEqual(many);
    });

    it('rejects a continuation token it did not issue', async () => {
      const bad = s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'paged/', ContinuationToken: 'not a token!' }));
      expect(await rejection(bad)).toEqual({ name: 'InvalidArgument', status: 400 });
    });
  });

  describe('atomic writes', () => {
    it('serves the previous version of an object while a replacement is still uploading', async () => {
      await put('atomic/object.bin', 'old version');
      const half = Buffer.alloc(256 * 1024, 'n');
      // A raw, unsigned PUT (s3rver accepts anonymous requests) whose body we send in two halves.
      const upload = request({
        host: '127.0.0.1',
        port: server.port,
        method: 'PUT',
        path: `/${BUCKET}/atomic/object.bin`,
        headers: { 'content-length': String(half.length * 2), 'content-type': 'application/octet-stream' },
      });
      const status = new Promise<number | undefined>((resolve, reject) => {
        upload.on('error', reject);
        upload.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        });
      });
      upload.write(half);

      const seen: string[] = [];
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 40));
        const body = await read('atomic/object.bin');
        seen.push(`${body.length} bytes: ${body.slice(0, 12)}`);
      }
      upload.end(half);
      expect(await status).toBe(200);

      expect(seen).toEqual(Array(5).fill('11 bytes: old version'));
      expect(await read('atomic/object.bin')).toBe('n'.repeat(half.length * 2));
    });
  });
});

describe('LanceDB on the S3 test server', () => {
  const URI = 's3://nexus/t1/domains/health';
  const DIM = 8;
  const schema = new Schema([
    new Field('id', new Utf8(), false),
    new Field('vector', new FixedSizeList(DIM, new Field('item', new Float32(), true)), false),
  ]);
  let server: S3TestServer;
  let storageOptions: Record<string, string>;
  const connections: lancedb.Connection[] = [];
  const connect = async (): Promise<lancedb.Connection> => {
    const db = await lancedb.connect(URI, { storageOptions });
    connections.push(db);
    return db;
  };
  const rows = (writer: string, add: number, count: number) =>
    Array.from({ length: count }, (_, row) => ({
      id: `${writer}-a${add}-r${row}`,
      vector: Array.from({ length: DIM }, (_, i) => (add + row + i) / 10),
    }));

  /** Every id in the table, read through a fresh connection. */
  async function idsIn(table: string): Promise<string[]> {
    const opened = await (await connect()).openTable(table);
    const found = await opened.query().select(['id']).toArray();
    return found.map((row) => String((row as { id: string }).id));
  }

  beforeAll(async () => {
    server = await startS3Server();
    storageOptions = {
      endpoint: server.endpoint,
      allow_http: 'true',
      aws_access_key_id: server.accessKeyId,
      aws_secret_access_key: server.secretAccessKey,
      region: server.region,
    };
  });
  afterAll(async () => {
    for (const db of connections) db.close();
    await server?.stop();
  });

  it('creates a table under a nested prefix and lists it with tableNames()', async () => {
    const db = await connect();
    await db.createEmptyTable('vectors', schema);
    expect(await db.tableNames()).toEqual(['vectors']);
    expect(await (await connect()).tableNames()).toEqual(['vectors']);
  });

  it('keeps every row when four connections append to one table at once', async () => {
    // The table from the test above; created here too when this test runs alone.
    await (await connect()).createEmptyTable('vectors', schema, { existOk: true });
    const writers = ['c0', 'c1', 'c2', 'c3'];
    await Promise.all(
      writers.map(async (writer) => {
        const table = await (await connect()).openTable('vectors');
        for (let add = 0; add < 10; add++) await table.add(rows(writer, add, 5));
      }),
    );
    const table = await (await connect()).openTable('vectors');
    expect(await table.countRows()).toBe(200);
    const ids = await idsIn('vectors');
    expect(new Set(ids).size).toBe(200);
  });

  it('keeps every row when four processes append to one table at once', async () => {
    const db = await connect();
    await db.createEmptyTable('from_processes', schema);
    const script = fileURLToPath(new URL('../helpers/lancedb-writer.mjs', import.meta.url));
    const runWriter = (writer: number) =>
      new Promise<void>((resolve, reject) => {
        const options = { endpoint: server.endpoint, uri: URI, table: 'from_processes', writer, adds: 10, rowsPerAdd: 5, dim: DIM };
        const child = spawn(process.execPath, [script, JSON.stringify(options)], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${writer} exited ${code}: ${stderr}`))));
      });
    await Promise.all([0, 1, 2, 3].map(runWriter));

    const table = await (await connect()).openTable('from_processes');
    expect(await table.countRows()).toBe(200);
    expect(new Set(await idsIn('from_processes')).size).toBe(200);
  });
});
