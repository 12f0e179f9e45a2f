// Starts an in-process S3-compatible server (s3rver 3.7.1) for tests, with our fixes for its defects.
// It is a test server, never a production one: it checks no signature and keeps objects in a temp directory.

// The fixes (see the team's STACK.md, "S3-compatible test server"):
//  1. conditional writes: If-None-Match / If-Match on PUT, CopyObject, CompleteMultipartUpload and
//     DELETE, checked under a per-key lock (LanceDB commits manifests with If-None-Match: *);
//  2. delimiter listings: folders holding only sub-folders are returned as CommonPrefixes;
//  3. paging: our own continuation token (base64url of the last entry returned), as s3rver's DES
//     tokens make every truncated ListObjectsV2 fail with HTTP 500 on OpenSSL 3; V1 NextMarker fixed;
//  4. atomic writes: objects are written to a temp file and renamed, so readers never see a partial one.
// Fixes 1 and 3 are Koa middleware (s3rver-middleware.ts); 2 and 4 live in its store (s3rver-filesystem-store.ts).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FixedFilesystemStore } from './s3rver-filesystem-store.js';
import { conditionalWrites, KeyedMutex, listingPages, type Middleware } from './s3rver-middleware.js';

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
  /** Listen on this port (to restart a stopped server where its clients expect it, with the same directory). Default: a free one. */
  port?: number;
  /** Buckets to create. Default ['nexus']. */
  buckets?: string[];
  /** Only for proving that tests can fail: start with these fixes switched off. */
  withoutFixes?: readonly S3ServerFix[];
}

// ---------------------------------------------------------------------------------------------
// s3rver has no type declarations: the small part of its app we use, typed here.

interface S3rverApp {
  middleware: Middleware[];
  store: unknown;
  context: { store: unknown };
  httpServer?: Server;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverApp;

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverCtor;

// ---------------------------------------------------------------------------------------------

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3TestServer> {
  const off = new Set(options.withoutFixes ?? []);
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(path.join(tmpdir(), 'nexus-s3-')));
  await mkdir(directory, { recursive: true });

  const app = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
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
