// An OpenAI-compatible /v1/embeddings server for tests (node:http on 127.0.0.1): deterministic bag-of-words vectors,
// failures on demand (500, 429, hang, wrong dimension, malformed), and a record of what it was sent.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type EmbeddingsFailure = 'status500' | 'status429' | 'hang' | 'wrongDimension' | 'malformed';

export interface EmbeddingsServer {
  /** Base URL, e.g. http://127.0.0.1:PORT/v1 (requests go to `${url}/embeddings`). */
  readonly url: string;
  /** Requests received so far, failed ones included, in arrival order. */
  readonly requests: { inputs: string[]; authorization?: string; model: string }[];
  /** The most requests ever being answered at once (since start or reset). */
  readonly maxInFlight: number;
  /** The next n requests (default: all until reset) fail this way. */
  fail(mode: EmbeddingsFailure, times?: number): void;
  /** Forgets requests, failures and maxInFlight. */
  reset(): void;
  /** Stops listening and destroys every open connection, hanging ones included. */
  close(): Promise<void>;
}

export interface EmbeddingsServerOptions {
  dimension: number;
  /** Wait this long before each answer. */
  delayMs?: number;
  /** Answer `data` in reverse order, as a server may: clients must order by `index`. */
  shuffle?: boolean;
  /** When set, a request without `Bearer <apiKey>` is answered 401. */
  apiKey?: string;
  /** Retry-After (seconds) sent with a 429. */
  retryAfterSeconds?: number;
}

/** Starts the server on a free port. */
export async function startEmbeddingsServer(options: EmbeddingsServerOptions): Promise<EmbeddingsServer> {
  const requests: { inputs: string[]; authorization?: string; model: string }[] = [];
  let failure: { mode: EmbeddingsFailure; remaining: number } | undefined;
  let inFlight = 0;
  let maxInFlight = 0;
  const basePath = '/v1';

  const answer = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (options.delayMs) setTimeout(send, options.delayMs);
    else send();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => (inFlight -= 1));
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: { model?: unknown; input?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return answer(res, 400, { error: { message: 'body is not JSON' } });
    }
    const inputs = (typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) ? body.input : []).map(String);
    const authorization = req.headers.authorization;
    requests.push({ inputs, ...(authorization === undefined ? {} : { authorization }), model: String(body.model) });

    if (req.method !== 'POST' || req.url !== `${basePath}/embeddings`) return answer(res, 404, { error: { message: 'not found' } });
    if (options.apiKey !== undefined && authorization !== `Bearer ${options.apiKey}`) {
      return answer(res, 401, { error: { message: 'invalid api key' } });
    }
    const mode = failure && failure.remaining > 0 ? failure.mode : undefined;
    if (failure && mode) failure.remaining -= 1;
    if (mode === 'hang') return;
    if (mode === 'status500') return answer(res, 500, { error: { message: 'internal error' } });
    if (mode === 'status429') {
      const headers: Record<string, string> = options.retryAfterSeconds === undefined ? {} : { 'retry-after': String(options.retryAfterSeconds) };
      return answer(res, 429, { error: { message: 'rate limited' } }, headers);
    }
    if (mode === 'malformed') return answer(res, 200, '{"object":"list","data":[{"index":0,"embe');
    const dimension = mode === 'wrongDimension' ? options.dimension + 1 : options.dimension;
    const data = inputs.map((text, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(text, dimension) }));
    if (options.shuffle) data.reverse();
    return answer(res, 200, { object: 'list', data, model: body.model, usage: { prompt_tokens: 0, total_tokens: 0 } });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${basePath}`,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    fail(mode, times) {
      failure = { mode, remaining: times ?? Number.POSITIVE_INFINITY };
    },
    reset() {
      requests.length = 0;
      failure = undefined;
      maxInFlight = inFlight;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

/**
 * The deterministic embedding the server gives a text: a bag of words (lowercased, split on anything not a letter
 * or digit), each word a pseudo-random unit vector seeded by its hash, summed and normalised. Texts sharing words
 * are near each other; a text without words is e₀.
 */
export function fakeEmbedding(text: string, dimension: number): number[] {
  const sum = new Array<number>(dimension).fill(0);
  const words = text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((word) => word !== '');
  for (const word of words) {
    const vector = wordVector(word, dimension);
    for (let i = 0; i < dimension; i += 1) sum[i] = (sum[i] ?? 0) + (vector[i] ?? 0);
  }
  const norm = Math.hypot(...sum);
  if (norm === 0) return sum.map((_, i) => (i === 0 ? 1 : 0));
  return sum.map((x) => x / norm);
}

/** A unit vector drawn from a PRNG (mulberry32) seeded with the word's SHA-1. */
function wordVector(word: string, dimension: number): number[] {
  let seed = createHash('sha1').update(word).digest().readUInt32LE(0);
  const next = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const vector = Array.from({ length: dimension }, () => next() * 2 - 1);
  const norm = Math.hypot(...vector) || 1;
  return vector.map((x) => x / norm);
}
