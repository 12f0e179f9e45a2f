// The OpenAI embedder against a real local /v1/embeddings server: batching and order, the process-wide request
// limit, retries and deadlines, answer checks, cancellation, the start-up probe, and no secret in any message or log.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, type EmbedderSettings } from '../../src/config/env.js';
import { createEmbedder, probeEmbedder, type Embedder } from '../../src/embeddings/embedder.js';
import { EmbedderUnavailableError } from '../../src/errors.js';
import { fakeEmbedding, startEmbeddingsServer, type EmbeddingsServer } from '../helpers/embeddings-server.js';

const DIM = 8;
const KEY = 'sk-test-SECRET42';

const settings = (url: string, overrides: Partial<EmbedderSettings> = {}): EmbedderSettings => ({
  provider: 'openai',
  url,
  model: 'test-model',
  batchSize: 64,
  timeoutMs: 2000,
  retries: 2,
  concurrency: 4,
  creditsPerEmbedding: 0n,
  ...overrides,
});

/** A logger that keeps what it is given. */
const captureLog = () => {
  const lines: { obj: object; msg: string }[] = [];
  return { lines, warn: (obj: object, msg: string) => void lines.push({ obj, msg }) };
};

const make = (url: string, overrides: Partial<EmbedderSettings> = {}, log = captureLog(), dimension = DIM): Embedder => {
  const embedder = createEmbedder(settings(url, overrides), dimension, log);
  if (!embedder) throw new Error('expected an embedder');
  return embedder;
};

/** The error a promise rejects with (the test fails if it resolves). */
const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
};

const expected = (texts: readonly string[], dimension = DIM) => texts.map((t) => Array.from(Float32Array.from(fakeEmbedding(t, dimension))));
const plain = (vectors: Float32Array[]) => vectors.map((v) => Array.from(v));

/** A URL on which nothing listens. */
const closedPortUrl = async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
};

describe('the OpenAI embedder', () => {
  let server: EmbeddingsServer; // answers `data` reversed
  let slow: EmbeddingsServer; // 100 ms per answer; a 429 says Retry-After: 1
  let keyed: EmbeddingsServer; // wants KEY
  let closed: string;
  beforeAll(async () => {
    [server, slow, keyed] = await Promise.all([
      startEmbeddingsServer({ dimension: DIM, shuffle: true }),
      startEmbeddingsServer({ dimension: DIM, delayMs: 100, retryAfterSeconds: 1 }),
      startEmbeddingsServer({ dimension: DIM, apiKey: KEY }),
    ]);
    closed = await closedPortUrl();
  });
  afterEach(() => [server, slow, keyed].forEach((s) => s.reset()));
  afterAll(() => Promise.all([server, slow, keyed].map((s) => s?.close())));

  it('is not made when the provider is none', () => {
    expect(createEmbedder({ ...settings(server.url), provider: 'none' }, DIM)).toBeNull();
  });

  it('answers no texts with no vectors and no request', async () => {
    expect(await make(server.url).embed([])).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it('sends 150 texts as batches of 64, 64 and 22 and returns their vectors in input order, whatever order data comes in', async () => {
    const texts = Array.from({ length: 150 }, (_, i) => `memory number ${i} about topic ${i % 7}`);
    const vectors = await make(server.url).embed(texts);
    expect(server.requests.map((r) => r.inputs.length).sort((a, b) => b - a)).toEqual([64, 64, 22]);
    expect(server.requests.flatMap((r) => r.inputs).sort()).toEqual([...texts].sort());
    expect(server.requests.every((r) => r.model === 'test-model')).toBe(true);
    expect(vectors.every((v) => v instanceof Float32Array && v.length === DIM)).toBe(true);
    expect(plain(vectors)).toEqual(expected(texts));
  });

  it('keeps at most `concurrency` requests in flight across all calls', async () => {
    const embedder = make(slow.url, { concurrency: 3, batchSize: 1 });
    const a = ['a1', 'a2', 'a3', 'a4', 'a5'];
    const b = ['b1', 'b2', 'b3', 'b4', 'b5'];
    const [va, vb] = await Promise.all([embedder.embed(a), embedder.embed(b)]);
    expect(slow.requests).toHaveLength(10);
    expect(slow.maxInFlight).toBe(3);
    expect(plain(va)).toEqual(expected(a));
    expect(plain(vb)).toEqual(expected(b));
  });

  it('sends a bearer token only when a key is set, and URL credentials as Basic otherwise', async () => {
    await make(server.url, { apiKey: KEY }).embed(['one']);
    await make(server.url).embed(['two']);
    const url = new URL(server.url);
    url.username = 'user';
    url.password = 'pa55word';
    await make(url.toString()).embed(['three']);
    expect(server.requests.map((r) => r.authorization)).toEqual([
      `Bearer ${KEY}`,
      undefined,
      `Basic ${Buffer.from('user:pa55word').toString('base64')}`,
    ]);
  });

  it('retries a 500 and succeeds, logging the failed attempt', async () => {
    const log = captureLog();
    server.fail('status500', 1);
    expect(plain(await make(server.url, {}, log).embed(['hello world']))).toEqual(expected(['hello world']));
    expect(server.requests).toHaveLength(2);
    expect(log.lines).toEqual([{ obj: { status: 500, attempt: 1, ms: expect.any(Number) }, msg: 'embedding request failed' }]);
  });

  it('gives up after 1 + retries attempts when the service keeps answering 500', async () => {
    const log = captureLog();
    server.fail('status500');
    const error = await rejection(make(server.url, { retries: 2 }, log).embed(['x']));
    expect(error).toBeInstanceOf(EmbedderUnavailableError);
    expect(error.message).toBe('the embedding service answered 500 (3 attempts)');
    expect(server.requests).toHaveLength(3);
    expect(log.lines.map((l) => (l.obj as { attempt: number }).attempt)).toEqual([1, 2, 3]);
  });

  it('retries a 429 after the Retry-After the service asked for', async () => {
    slow.fail('status429', 1);
    const started = Date.now();
    expect(plain(await make(slow.url).embed(['patience']))).toEqual(expected(['patience']));
    expect(slow.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('does not retry another 4xx', async () => {
    const error = await rejection(make(keyed.url, { apiKey: 'sk-wrong' }).embed(['x']));
    expect(error).toBeInstanceOf(EmbedderUnavailableError);
    expect(error.message).toBe('the embedding service answered 401');
    expect(keyed.requests).toHaveLength(1);
  });

  it('times out a request that never answers, retries it, then fails within the deadlines', async () => {
    server.fail('hang');
    const started = Date.now();
    const error = await rejection(make(server.url, { timeoutMs: 200, retries: 1 }).embed(['x']));
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(EmbedderUnavailableError);
    expect(error.message).toBe('the embedding service timed out after 200 ms (2 attempts)');
    expect(server.requests).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(1500);
  });

  it('rejects vectors of another dimension, without retrying', async () => {
    server.fail('wrongDimension');
    const error = await rejection(make(server.url).embed(['x']));
    expect(error).toBeInstanceOf(EmbedderUnavailableError);
    expect(error.message).toBe(`the embedding service returned ${DIM + 1} numbers per vector; this server needs ${DIM}`);
    expect(server.requests).toHaveLength(1);
  });

  it('rejects an answer that is not JSON', async () => {
    server.fail('malformed');
    const error = await rejection(make(server.url).embed(['x']));
    expect(error).toBeInstanceOf(EmbedderUnavailableError);
    expect(error.message).toBe('the embedding service returned an answer that is not JSON');
  });

  it.each([
    ['null', [null, 0, 0, 0, 0, 0, 0, 0]],
    ['a string', ['1', 0, 0, 0, 0, 0, 0, 0]],
    ['a number too large for 32 bits', [1e39, 0, 0, 0, 0, 0, 0, 0]],
  ])('rejects a vector holding %s', async (_, embedding) => {
    const odd = createServer((req, res) => {
      req.resume().on('end', () => res.end(JSON.stringify({ data: [{ index: 0, embedding }] })));
    });
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
    try {
      const error = await rejection(make(`http://127.0.0.1:${(odd.address() as AddressInfo).port}/v1`).embed(['x']));
      expect(error.message).toBe('the embedding service returned a vector with a value that is not a finite number');
    } finally {
      await new Promise((resolve) => odd.close(resolve));
      odd.closeAllConnections();
    }
  });

  it('fails the whole call when one batch fails, and sends no batch still waiting for its turn', async () => {
    server.fail('wrongDimension', 1);
    const error = await rejection(make(server.url, { batchSize: 2, concurrency: 1 }).embed(['a', 'b', 'c', 'd', 'e']));
    expect(error.message).toMatch(/numbers per vector/);
    expect(server.requests).toHaveLength(1);
  });

  it('says so when the service cannot be reached', async () => {
    const error = await rejection(make(closed, { retries: 1 }).embed(['x']));
    expect(error).toBeInstanceOf(EmbedderUnavailableError);
    expect(error.message).toBe('the embedding service could not be reached (2 attempts)');
  });

  it('stops at once, without retrying, when the caller aborts', async () => {
    server.fail('hang');
    const log = captureLog();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = await rejection(make(server.url, { timeoutMs: 5000, retries: 2 }, log).embed(['x'], { signal: controller.signal }));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(EmbedderUnavailableError);
    expect(error.message).toBe('the embedding request was cancelled');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.requests).toHaveLength(1);
    expect(log.lines).toHaveLength(0);
    // Already aborted: nothing is sent.
    await expect(make(server.url).embed(['y'], { signal: controller.signal })).rejects.toBeInstanceOf(EmbedderUnavailableError);
    expect(server.requests).toHaveLength(1);
  });

  describe('probeEmbedder', () => {
    const configError = async (promise: Promise<unknown>) => {
      const error = await rejection(promise);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).not.toContain('\n');
      return error as ConfigError;
    };

    it('passes a service that answers vectors of the right dimension', async () => {
      await expect(probeEmbedder(make(server.url), DIM)).resolves.toBeUndefined();
      expect(server.requests).toHaveLength(1);
    });

    it('names NEXUS_VECTOR_DIM, with both numbers, when the dimension differs', async () => {
      const error = await configError(probeEmbedder(make(server.url, {}, captureLog(), 4), 4));
      expect(error.variable).toBe('NEXUS_VECTOR_DIM');
      expect(error.message).toMatch(/NEXUS_VECTOR_DIM is 4 .*returns 8 numbers per vector/);
      // Any embedder: the length of what it returns is checked.
      const short: Embedder = { provider: 'openai', model: 'm', embed: async () => [new Float32Array(3)] };
      expect((await configError(probeEmbedder(short, 4))).message).toMatch(/is 4 .*returns 3 numbers/);
    });

    it('names NEXUS_EMBEDDINGS_URL and says what went wrong: unreachable, an HTTP error, a malformed answer', async () => {
      const unreachable = await configError(probeEmbedder(make(closed, { retries: 0 }), DIM));
      expect(unreachable.variable).toBe('NEXUS_EMBEDDINGS_URL');
      expect(unreachable.message).toMatch(/could not be reached/);
      server.fail('status500');
      const failing = await configError(probeEmbedder(make(server.url, { retries: 0 }), DIM));
      expect(failing.variable).toBe('NEXUS_EMBEDDINGS_URL');
      expect(failing.message).toMatch(/answered 500/);
      server.fail('malformed');
      const malformed = await configError(probeEmbedder(make(server.url, { retries: 0 }), DIM));
      expect(malformed.variable).toBe('NEXUS_EMBEDDINGS_URL');
      expect(malformed.message).toMatch(/not JSON/);
    });
  });

  it('never puts the API key or the URL credentials in an error message or a log line', async () => {
    const log = captureLog();
    const withCredentials = (url: string) => {
      const u = new URL(url);
      u.username = 'user';
      u.password = 'pa55word';
      return u.toString().replace(/\/$/, '');
    };
    const fast = { timeoutMs: 200, retries: 1 };
    const messages: string[] = [];
    const collect = async (promise: Promise<unknown>) => messages.push((await rejection(promise)).message);

    await collect(make(keyed.url, { apiKey: `${KEY}-wrong` }, log).embed(['x']));
    for (const mode of ['status500', 'status429', 'hang', 'wrongDimension', 'malformed'] as const) {
      server.fail(mode);
      await collect(make(server.url, { ...fast, apiKey: KEY }, log).embed(['x']));
      await collect(make(withCredentials(server.url), fast, log).embed(['x']));
      await collect(probeEmbedder(make(server.url, { ...fast, apiKey: KEY }, log), DIM));
    }
    await collect(make(closed, { ...fast, apiKey: KEY }, log).embed(['x']));
    await collect(make(withCredentials(closed), fast, log).embed(['x']));
    await collect(probeEmbedder(make(withCredentials(closed), { ...fast, apiKey: KEY }, log), DIM));

    expect(messages).toHaveLength(19);
    expect(log.lines.length).toBeGreaterThan(19);
    const written = JSON.stringify([messages, log.lines]);
    expect(written).not.toContain('SECRET42');
    expect(written).not.toContain('pa55word');
    expect(written).not.toContain('127.0.0.1');
    for (const { obj } of log.lines) expect(Object.keys(obj).sort()).toEqual(['attempt', 'ms', 'status']);
  });
});

describe('fakeEmbedding', () => {
  const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);

  it('is deterministic, of unit length, and puts texts sharing words near each other', () => {
    const pie = fakeEmbedding('Red apple PIE', 64);
    expect(fakeEmbedding('red, apple; pie!', 64)).toEqual(pie);
    expect(Math.hypot(...pie)).toBeCloseTo(1, 10);
    expect(cosine(pie, fakeEmbedding('apple pie', 64))).toBeGreaterThan(0.7);
    expect(cosine(pie, fakeEmbedding('quantum physics lecture', 64))).toBeLessThan(0.5);
    expect(fakeEmbedding('Äpfel und Birnen', 64)).toEqual(fakeEmbedding('äpfel UND birnen', 64));
  });

  it('gives a text without words e₀', () => {
    expect(fakeEmbedding(' ,.!? ', 4)).toEqual([1, 0, 0, 0]);
  });
});
