// Whether this gateway can serve: its database answers, its migrations are all applied, its vector storage is
// reachable and (when configured) Redis answers. Each check is bounded by a timeout, so /ready never hangs.
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { s3ClientFor } from '../vectors/objects.js';
import { Redis } from 'ioredis';
import type { Config } from '../config/env.js';
import type { Database } from '../db/create-database.js';
import { createMigrationStatus } from '../db/migration-status.js';

export interface CheckResult {
  ok: boolean;
  /** How long the check took (at most about the timeout). */
  ms: number;
  /** Why it failed: one short line, with no credentials or paths. */
  error?: string;
}

export interface ReadinessReport {
  status: 'ready' | 'not ready';
  checks: Record<string, CheckResult>;
}

export interface Readiness {
  report(): Promise<ReadinessReport>;
  close(): Promise<void>;
}

/** A check throws (or rejects) to fail; `signal` is aborted when its time is up. */
type Check = (signal: AbortSignal) => Promise<void>;

export const READY_TIMEOUT_MS = 2000;
const STALE_AFTER = 10;

class CheckFailed extends Error {}

/** The first meaningful line of an error, credentials masked, bounded: /ready is public. */
export function describeFailure(error: unknown): string {
  if (error instanceof CheckFailed) return error.message;
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  // Prisma opens with "Invalid `prisma.$queryRaw()` invocation:"; the cause is the last line.
  const lines = message.split('\n').map((l) => l.trim()).filter((l) => l && !/^Invalid `.*` invocation/.test(l));
  const code = (error as { code?: unknown } | null)?.code;
  const line = lines.at(-1) ?? (typeof code === 'string' ? code : name || 'failed');
  return line
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@')
    .replace(/\b(password|passwd|secret|token|key|signature|credential)(\s*[=:]\s*)\S+/gi, '$1$2***')
    .replace(/(?:^|\s)\/[^\s:]*/g, ' <path>')
    .trim()
    .slice(0, 200);
}

/** Local storage: the directory, or the nearest ancestor it would be created in, is there and usable (nothing is created). */
async function localStorageUsable(dir: string): Promise<void> {
  for (let current = dir; ; ) {
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null; // look further up
      throw new CheckFailed(`storage directory cannot be read (${error.code ?? 'error'})`);
    });
    if (info) {
      if (!info.isDirectory()) throw new CheckFailed(current === dir ? 'storage path is not a directory' : 'an ancestor of the storage directory is not a directory');
      const mode = current === dir ? constants.R_OK | constants.W_OK | constants.X_OK : constants.W_OK | constants.X_OK;
      await access(current, mode).catch((error: NodeJS.ErrnoException) => {
        throw new CheckFailed(`storage directory is not usable (${error.code ?? 'error'})`);
      });
      return;
    }
    const parent = path.dirname(current);
    if (parent === current) throw new CheckFailed('storage directory has no existing ancestor');
    current = parent;
  }
}

/** S3: HeadBucket with the same region, endpoint and credentials the vector store uses (see storage-options.ts). */
function s3StorageCheck(config: Pick<Config, 'storageUri' | 's3'>, timeoutMs: number): { check: Check; close(): void } {
  const bucket = new URL(config.storageUri).hostname;
  const client = s3ClientFor(config.s3, {
    // One attempt: the probe asks again soon enough, and must answer within the timeout.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, throwOnRequestTimeout: true },
  });
  return {
    check: async (signal) => {
      await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal }).catch((error: unknown) => {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404) throw new CheckFailed('bucket not found');
        if (status === 403) throw new CheckFailed('access to the bucket denied');
        throw error;
      });
    },
    close: () => client.destroy(),
  };
}

/** Redis: PING on a connection of the check's own (no offline queue: an outage fails at once; it reconnects by itself). */
function redisCheck(url: string, timeoutMs: number): { check: Check; close(): void } {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: timeoutMs });
  client.on('error', () => undefined); // reported by the check that meets it
  client.connect().catch(() => undefined);
  return {
    check: async (signal) => {
      if (client.status !== 'ready') await once(client, 'ready', { signal });
      const answer = await client.ping();
      if (answer !== 'PONG') throw new CheckFailed('unexpected answer to PING');
    },
    close: () => client.disconnect(),
  };
}

export function createReadiness(config: Config, db: Pick<Database, 'prisma'>, options: { timeoutMs?: number } = {}): Readiness {
  const timeoutMs = options.timeoutMs ?? READY_TIMEOUT_MS;
  const migrationStatus = createMigrationStatus(db.prisma);
  const closers: (() => void)[] = [];
  const checks: Record<string, Check> = {
    database: async () => {
      await db.prisma.$queryRaw`SELECT 1`;
    },
    migrations: async () => {
      const { missing, failed } = await migrationStatus();
      if (failed.length) throw new CheckFailed(`failed and not resolved: ${failed.join(', ')}`);
      if (missing.length) throw new CheckFailed(`not applied: ${missing.join(', ')}`);
    },
  };
  if (config.storageUri.startsWith('s3://')) {
    const s3 = s3StorageCheck(config, timeoutMs);
    checks.storage = s3.check;
    closers.push(s3.close);
  } else {
    checks.storage = () => localStorageUsable(config.storageUri);
  }
  if (config.redisUrl) {
    const redis = redisCheck(config.redisUrl, timeoutMs);
    checks.redis = redis.check;
    closers.push(redis.close);
  }

  // A check still running from an earlier probe (a hung connection) is waited for again rather than started twice,
  // so probes cannot pile up connections; one older than STALE_AFTER timeouts is given up (aborted) and started anew.
  const running = new Map<string, { done: Promise<void>; controller: AbortController; since: number }>();
  const start = (name: string, check: Check) => {
    const controller = new AbortController();
    const attempt = { done: Promise.resolve().then(() => check(controller.signal)), controller, since: performance.now() };
    running.set(name, attempt);
    const settle = () => {
      if (running.get(name) === attempt) running.delete(name);
    };
    attempt.done.then(settle, settle);
    return attempt;
  };
  const runOne = async (name: string, check: Check): Promise<CheckResult> => {
    const started = performance.now();
    let attempt = running.get(name);
    if (attempt && started - attempt.since > STALE_AFTER * timeoutMs) {
      attempt.controller.abort();
      attempt = undefined;
    }
    attempt ??= start(name, check);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CheckFailed(`timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([attempt.done, timedOut]);
      return { ok: true, ms: Math.round(performance.now() - started) };
    } catch (error) {
      return { ok: false, ms: Math.round(performance.now() - started), error: describeFailure(error) };
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    async report() {
      const names = Object.keys(checks);
      const results = await Promise.all(names.map((name) => runOne(name, checks[name] as Check)));
      const byName = Object.fromEntries(names.map((name, i) => [name, results[i] as CheckResult]));
      return { status: results.every((r) => r.ok) ? 'ready' : 'not ready', checks: byName };
    },
    async close() {
      for (const close of closers) close();
    },
  };
}
