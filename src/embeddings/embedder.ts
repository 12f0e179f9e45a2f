// The server-side embedder: turns text into vectors by asking a server that speaks OpenAI's /v1/embeddings, in
// batches, a bounded number of requests at a time process-wide, each with a deadline and retries; and its start-up probe.
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, type EmbedderSettings } from '../config/env.js';
import { EmbedderUnavailableError } from '../errors.js';

/** Turns texts into vectors of the server's dimension. */
export interface Embedder {
  readonly provider: 'openai';
  readonly model: string;
  /**
   * One vector per text, in input order, each exactly `dimension` finite numbers (as the server sent them, not
   * normalised). Throws EmbedderUnavailableError on any failure.
   */
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<Float32Array[]>;
}

/** Where failed attempts are reported (the server's logger fits). */
export interface EmbedderLog {
  warn(obj: object, msg: string): void;
}

const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 2_000;
const RETRY_AFTER_CAP_MS = 5_000;

/** One attempt's failure: what to tell the client, what to log, and whether another attempt may help. */
class AttemptFailure extends Error {
  constructor(
    message: string,
    readonly status: number | 'timeout' | 'unreachable' | 'broken',
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The service answered vectors of another length than asked for: the probe turns this into a NEXUS_VECTOR_DIM error. */
class DimensionMismatchError extends EmbedderUnavailableError {
  constructor(readonly got: number, readonly want: number) {
    super(`the embedding service returned ${got} numbers per vector; this server needs ${want}`);
  }
}

const cancelled = () => new EmbedderUnavailableError('the embedding request was cancelled');

/** The embedder the settings describe, or null when the server has none (provider 'none'). */
export function createEmbedder(settings: EmbedderSettings, dimension: number, log?: EmbedderLog): Embedder | null {
  if (settings.provider === 'none') return null;
  const { url, model } = settings;
  if (url === undefined) throw new ConfigError('NEXUS_EMBEDDINGS_URL', 'is required when NEXUS_EMBEDDER is openai');
  if (model === undefined) throw new ConfigError('NEXUS_EMBEDDINGS_MODEL', 'is required when NEXUS_EMBEDDER is openai');

  // fetch refuses URLs with credentials: they move to a Basic header, unless an API key (bearer) is set.
  const endpoint = new URL(`${url}/embeddings`);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
  else if (endpoint.username || endpoint.password) {
    const userinfo = `${decodeURIComponent(endpoint.username)}:${decodeURIComponent(endpoint.password)}`;
    headers.authorization = `Basic ${Buffer.from(userinfo).toString('base64')}`;
  }
  endpoint.username = '';
  endpoint.password = '';

  const slots = createSemaphore(settings.concurrency);

  /** One HTTP request for one batch, under its own deadline; the caller's signal aborts it too. */
  const post = async (batch: readonly string[], signal: AbortSignal): Promise<Float32Array[]> => {
    const request = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      request.abort();
    }, settings.timeoutMs);
    const forward = () => request.abort();
    signal.addEventListener('abort', forward, { once: true });
    const failure = (connected: boolean) => {
      if (signal.aborted) return cancelled();
      if (timedOut) return new AttemptFailure(`the embedding service timed out after ${settings.timeoutMs} ms`, 'timeout');
      return connected
        ? new AttemptFailure('the embedding service broke off its answer', 'broken')
        : new AttemptFailure('the embedding service could not be reached', 'unreachable');
    };
    try {
      const body = JSON.stringify({ model, input: batch, encoding_format: 'float' });
      const response = await fetch(endpoint, { method: 'POST', headers, body, signal: request.signal }).catch(() => {
        throw failure(false);
      });
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw new AttemptFailure(`the embedding service answered ${response.status}`, response.status, retryAfterMs(response.headers.get('retry-after')));
      }
      const text = await response.text().catch(() => {
        throw failure(true);
      });
      return readVectors(text, batch.length, dimension);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', forward);
    }
  };

  /** Sends one batch, retrying what may pass on a second try; each failed attempt is logged. */
  const embedBatch = async (batch: readonly string[], signal: AbortSignal): Promise<Float32Array[]> => {
    for (let attempt = 1; ; attempt += 1) {
      let error: unknown;
      try {
        return await slots.run(async () => {
          const started = performance.now();
          try {
            return await post(batch, signal);
          } catch (e) {
            if (!signal.aborted) {
              const status = e instanceof AttemptFailure ? e.status : 'invalid';
              log?.warn({ status, attempt, ms: Math.round(performance.now() - started) }, 'embedding request failed');
            }
            throw e;
          }
        }, signal);
      } catch (e) {
        error = e;
      }
      if (signal.aborted) throw cancelled();
      if (!(error instanceof AttemptFailure)) throw error;
      const retryable = typeof error.status !== 'number' || error.status === 429 || error.status >= 500;
      if (!retryable || attempt > settings.retries) {
        throw new EmbedderUnavailableError(attempt > 1 ? `${error.message} (${attempt} attempts)` : error.message);
      }
      // Full jitter: a random wait up to an exponentially growing ceiling, unless the service said how long.
      const wait = error.retryAfterMs ?? Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
      await sleep(wait, undefined, { signal }).catch(() => {
        throw cancelled();
      });
    }
  };

  return {
    provider: 'openai',
    model,
    async embed(texts, options) {
      const caller = options?.signal;
      if (caller?.aborted) throw cancelled();
      if (texts.length === 0) return [];
      // One signal for the whole call: the caller's abort, or the first failed batch, stops every other batch.
      const call = new AbortController();
      const forward = () => call.abort();
      caller?.addEventListener('abort', forward, { once: true });
      try {
        const batches: string[][] = [];
        for (let i = 0; i < texts.length; i += settings.batchSize) batches.push(texts.slice(i, i + settings.batchSize));
        let first: unknown;
        const results = await Promise.all(
          batches.map((batch) =>
            embedBatch(batch, call.signal).catch((error: unknown) => {
              first ??= error;
              call.abort();
              return [];
            }),
          ),
        );
        if (first !== undefined) throw first;
        return results.flat();
      } finally {
        caller?.removeEventListener('abort', forward);
      }
    },
  };
}

/**
 * The start-up check: one probe request. Resolves, or throws a ConfigError naming NEXUS_VECTOR_DIM (another
 * dimension: both numbers are said) or NEXUS_EMBEDDINGS_URL (unreachable, an HTTP error, a malformed answer: which
 * one is said), in one line and never with the API key.
 */
export async function probeEmbedder(embedder: Embedder, dimension: number): Promise<void> {
  const mismatch = (got: number) =>
    new ConfigError('NEXUS_VECTOR_DIM', `is ${dimension} but the embedding service (model ${JSON.stringify(embedder.model)}) returns ${got} numbers per vector`);
  let vectors: Float32Array[];
  try {
    vectors = await embedder.embed(['Nexus start-up probe']);
  } catch (error) {
    if (error instanceof DimensionMismatchError) throw mismatch(error.got);
    const reason = error instanceof EmbedderUnavailableError ? error.message : 'the embedding service failed';
    throw new ConfigError('NEXUS_EMBEDDINGS_URL', `failed the start-up probe: ${reason}`);
  }
  const got = vectors[0]?.length ?? 0;
  if (got !== dimension) throw mismatch(got);
}

/** Checks an answer body and returns its vectors in input order (by `index`, not by array order). */
function readVectors(text: string, count: number, dimension: number): Float32Array[] {
  const invalid = (what: string) => new EmbedderUnavailableError(`the embedding service returned ${what}`);
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw invalid('an answer that is not JSON');
  }
  const data = typeof answer === 'object' && answer !== null ? (answer as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) throw invalid('an answer without a data list');
  if (data.length !== count) throw invalid(`${data.length} vectors for ${count} texts`);
  const vectors: Float32Array[] = new Array<Float32Array>(count);
  for (const item of data as unknown[]) {
    const { index, embedding } = (typeof item === 'object' && item !== null ? item : {}) as { index?: unknown; embedding?: unknown };
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count || vectors[index] !== undefined) {
      throw invalid('vectors with missing or repeated indexes');
    }
    if (!Array.isArray(embedding)) throw invalid('a vector that is not a list of numbers');
    if (embedding.length !== dimension) throw new DimensionMismatchError(embedding.length, dimension);
    const vector = new Float32Array(dimension);
    for (let i = 0; i < dimension; i += 1) {
      const value: unknown = embedding[i];
      vector[i] = typeof value === 'number' ? value : Number.NaN;
      // Checked after narrowing to 32 bits: a finite double may still overflow to Infinity.
      if (!Number.isFinite(vector[i])) throw invalid('a vector with a value that is not a finite number');
    }
    vectors[index] = vector;
  }
  return vectors;
}

/** A Retry-After header in seconds, as milliseconds capped at RETRY_AFTER_CAP_MS; undefined when absent or a date. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\s*\d+(\.\d+)?\s*$/.test(header)) return undefined;
  return Math.min(Number(header) * 1000, RETRY_AFTER_CAP_MS);
}

/** A FIFO counting semaphore: at most `limit` tasks run at once; a waiter whose signal aborts leaves the queue. */
function createSemaphore(limit: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  const acquire = (signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      if (active < limit) {
        active += 1;
        return resolve();
      }
      const start = () => {
        signal.removeEventListener('abort', leave);
        resolve();
      };
      const leave = () => {
        queue.splice(queue.indexOf(start), 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', leave, { once: true });
      queue.push(start);
    });
  // A finished task hands its slot straight to the longest waiter, so the count never dips and no one jumps the queue.
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else active -= 1;
  };
  return {
    async run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T> {
      await acquire(signal);
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
