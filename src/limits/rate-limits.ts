// Rate limits: requests a minute per token, requests a minute per client address without a valid token, and
// sign-ups an hour per address. Counted in Redis when REDIS_URL is set (one count for every gateway), in-process otherwise.
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimits as Settings } from '../config/env.js';
import { RateLimitedError } from '../errors.js';
import type { Logger } from '../log/logger.js';

export type Bucket = 'token' | 'anonymous' | 'signUp';

export interface RateLimits {
  /** Counts one against the bucket for key; throws RATE_LIMITED (with the wait) when the bucket is empty. */
  consume(bucket: Bucket, key: string): Promise<void>;
  close(): Promise<void>;
}

const WINDOWS: Record<Bucket, { setting: keyof Settings; seconds: number }> = {
  token: { setting: 'perTokenPerMinute', seconds: 60 },
  anonymous: { setting: 'anonymousPerMinute', seconds: 60 },
  signUp: { setting: 'signUpsPerHour', seconds: 3600 },
};

/**
 * Redis is never a request's reason to fail or wait: with it down (or hanging) each count fails within timeoutMs
 * (NEXUS_REDIS_TIMEOUT_MS; at once while disconnected) and the gateway's own in-process count decides instead.
 * That is fail-open towards the shared count, never towards the limit: every gateway still enforces it alone.
 */
export function createRateLimits(settings: Settings, redisUrl: string | undefined, log: Logger, options: { timeoutMs?: number } = {}): RateLimits {
  const timeoutMs = options.timeoutMs ?? 1_000;
  let lastReport = 0;
  // An outage must not stop requests: the in-process insurance counts meanwhile (per gateway), and it is logged.
  const report = (error: unknown) => {
    if (Date.now() - lastReport < 10_000) return;
    lastReport = Date.now();
    log.warn({ err: error instanceof Error ? error.message : String(error) }, 'redis unavailable: rate limits are counted per gateway until it is back');
  };
  // No offline queue: while Redis is away a count fails at once and the insurance takes it; a command a hung Redis
  // does not answer fails at commandTimeout. ioredis reconnects by itself (every 2 s at most), and counts go back to it.
  const redis = redisUrl
    ? new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false, commandTimeout: timeoutMs, connectTimeout: Math.max(timeoutMs, 1000) })
    : undefined;
  redis?.on('error', report);

  const limiters = new Map<Bucket, RateLimiterAbstract>();
  for (const [bucket, { setting, seconds }] of Object.entries(WINDOWS) as [Bucket, (typeof WINDOWS)[Bucket]][]) {
    const points = settings[setting];
    if (points === 0) continue; // 0 turns the limit off
    const memory = new RateLimiterMemory({ keyPrefix: `nexus-rl-${bucket}`, points, duration: seconds });
    limiters.set(
      bucket,
      redis
        ? new RateLimiterRedis({ storeClient: redis, keyPrefix: `nexus-rl-${bucket}`, points, duration: seconds, insuranceLimiter: memory, rejectIfRedisNotReady: true })
        : memory,
    );
  }

  return {
    async consume(bucket, key) {
      const limiter = limiters.get(bucket);
      if (!limiter) return;
      try {
        await limiter.consume(key);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        // A store failure without an answer from the insurance: let the request through rather than fail it.
        report(rejection);
      }
    },
    async close() {
      await redis?.quit().catch(() => redis.disconnect());
    },
  };
}
