// Graceful shutdown of a gateway process on SIGTERM and SIGINT: no new connection is accepted, idle keep-alive
// connections close at once, requests in flight finish with their data (and close their connections), the process
// exits 0 within NEXUS_SHUTDOWN_TIMEOUT and frees the PGlite directory for the next gateway; a request that outlives
// the deadline is cut, and the process still exits.
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { startEmbeddingsServer, type EmbeddingsServer } from '../helpers/embeddings-server.js';
import { readSse } from '../helpers/sse.js';

const DIM = 8;
const BIG = 1000;
const EMBED_DELAY_MS = 1000;
const REMEMBER = `mutation($r: [RecordInput!]!) { remember(input: { domain: "health", records: $r }) { records { id } } }`;
const COUNT = `{ domain(key: "health") { recordCount } }`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: { data?: any; errors?: unknown[] };
}

/** A POST to /graphql on a keep-alive connection of its own; with `slowBody`, its body is sent only when asked (see send). */
function post(port: number, token: string, query: string, variables: unknown, slowBody = false) {
  const body = Buffer.from(JSON.stringify({ query, variables }));
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    path: '/graphql',
    method: 'POST',
    // Keep-alive, as clients and proxies do: whether the connection stays open is then the server's choice.
    agent: new Agent({ keepAlive: true }),
    headers: {
      'content-type': 'application/json',
      'content-length': body.length,
      authorization: `Bearer ${token}`,
      // The server answers 100 Continue once it has read the headers: the request is then surely in its hands.
      ...(slowBody ? { expect: '100-continue' } : {}),
    },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
  });
  answer.catch(() => undefined);
  if (!slowBody) req.end(body);
  else req.flushHeaders();
  const continued = slowBody ? new Promise<void>((resolve) => req.once('continue', resolve)) : Promise.resolve();
  return {
    answer,
    continued,
    /** Sends the body in `parts` pieces, `gapMs` apart (slowBody only). */
    async send(parts: number, gapMs: number) {
      const size = Math.ceil(body.length / parts);
      for (let at = 0; at < body.length; at += size) {
        req.write(body.subarray(at, at + size));
        await sleep(gapMs);
      }
      req.end();
    },
  };
}

/** Whether a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

const records = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, kind: 'note', vector: Array.from({ length: DIM }, (_, d) => ((i * 7 + d) % 13) + 1) }));

/** Waits until `done()` holds, for at most `ms` (then fails, saying what it waited for). */
async function until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await sleep(2);
  }
}

const logged = (gw: GatewayProcess, text: string) => until(`"${text}" in the log`, () => gw.output().includes(text));

describe('graceful shutdown', () => {
  let dir: string;
  let embeddings: EmbeddingsServer;
  let owner = '';
  let stored = 0;
  const gateways: GatewayProcess[] = [];
  const env = () => ({
    NEXUS_DATA_DIR: dir,
    NEXUS_VECTOR_DIM: String(DIM),
    NEXUS_EMBEDDER: 'openai',
    NEXUS_EMBEDDINGS_URL: embeddings.url,
    NEXUS_EMBEDDINGS_MODEL: 'test',
    NEXUS_RATE_LIMIT_PER_MINUTE: '0',
    NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '0',
    NEXUS_SIGNUP_RATE_LIMIT_PER_HOUR: '0',
  });
  const deadlines = new Map<GatewayProcess, string>();
  const exited = new Set<GatewayProcess>();
  const start = async (timeout = '10s') => {
    const gw = await startGatewayProcess({ ...env(), NEXUS_SHUTDOWN_TIMEOUT: timeout });
    gateways.push(gw);
    deadlines.set(gw, timeout);
    void gw.exited().then(() => exited.add(gw));
    return gw;
  };
  // Each case's gateway is the one the previous case started on the data directory its gateway left (its lock must
  // have been released); a case that failed before starting it leaves the next one to start its own.
  let gw: GatewayProcess;
  const live = async (timeout: string) => {
    if (exited.has(gw) || deadlines.get(gw) !== timeout) {
      await gw.kill('SIGKILL');
      gw = await start(timeout);
    }
    return gw;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'nexus-shutdown-'));
    // The embedder answers slowly: a remember of text is a request in flight for that long, on the server's side.
    embeddings = await startEmbeddingsServer({ dimension: DIM, delayMs: EMBED_DELAY_MS });
    gw = await start();
    const signUp = await gw.gql('mutation { signUp(input: { email: "shutdown@example.com", domains: ["health"] }) { ownerToken } }');
    owner = signUp.data.signUp.ownerToken as string;
  }, 180_000);
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.kill('SIGKILL')));
    await embeddings?.close();
    await rm(dir, { recursive: true, force: true });
  });

  // The gateway started after SIGINT has a deadline of 1 s: it serves the next case.
  it.each([
    { signal: 'SIGTERM' as const, next: '10s' },
    { signal: 'SIGINT' as const, next: '1' },
  ])('on $signal: finishes the requests in flight, refuses new connections, exits 0 and frees the data directory', async ({ signal, next }) => {
    gw = await live('10s');
    // An idle keep-alive connection: it should be closed at once.
    const agent = new Agent({ keepAlive: true });
    const idle = await new Promise<{ closed: Promise<number> }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: gw.port, path: '/health', agent }, (res) => {
        const socket = res.socket;
        res.resume();
        res.once('end', () => resolve({ closed: new Promise((closed) => socket.once('close', () => closed(Date.now()))) }));
      });
      req.once('error', reject);
      req.end();
    });

    // In flight at the signal: a remember waiting on the embedder, and a big batch whose body is still being sent.
    const asked = embeddings.requests.length;
    const slow = post(gw.port, owner, 'mutation { remember(input: { domain: "health", records: [{ kind: "note", text: "tempo run" }] }) { records { id text } } }', {});
    const big = post(gw.port, owner, REMEMBER, { r: records(signal, BIG) }, true);
    await big.continued;
    await until('the remember to reach the embedder', () => embeddings.requests.length > asked);

    const signalled = Date.now();
    gw.signal(signal);
    await logged(gw, 'shutting down');
    expect(gw.output()).toMatch(new RegExp(`"signal":"${signal}","timeoutMs":10000,"inFlight":2,`));
    expect(await refused(gw.port)).toBe(true);
    expect((await idle.closed) - signalled).toBeLessThan(EMBED_DELAY_MS);
    // The rest of the big batch arrives after the signal, and still counts.
    await big.send(4, 50);

    const [slowAnswer, bigAnswer] = await Promise.all([slow.answer, big.answer]);
    expect(slowAnswer.status).toBe(200);
    expect(slowAnswer.body.errors).toBeUndefined();
    expect(slowAnswer.body.data.remember.records).toHaveLength(1);
    expect(bigAnswer.status).toBe(200);
    expect(bigAnswer.body.errors).toBeUndefined();
    expect(bigAnswer.body.data.remember.records).toHaveLength(BIG);
    // Each busy connection closes as soon as its response is done.
    expect([slowAnswer.headers.connection, bigAnswer.headers.connection]).toEqual(['close', 'close']);
    stored += 1 + BIG;

    const exit = await gw.exited();
    const ms = Date.now() - signalled;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(10_000);
    expect(gw.output()).toContain('in-flight requests finished');
    expect(gw.output()).not.toContain('deadline passed');
    expect(gw.output()).toContain('shut down: tables, database and metrics closed');
    console.log(`${signal}: exited 0 ${ms} ms after the signal (the slow request needed ~${EMBED_DELAY_MS} ms)`);

    // The next gateway opens the same PGlite directory at once and sees everything written.
    const began = Date.now();
    gw = await start(next);
    console.log(`${signal}: the next gateway was listening ${Date.now() - began} ms later`);
    expect((await gw.gql(COUNT, {}, owner)).data.domain.recordCount).toBe(stored);
  }, 120_000);

  it('cuts a request that outlives NEXUS_SHUTDOWN_TIMEOUT, closes open streams, and still exits 0', async () => {
    gw = await live('1');
    // A live stream, and a remember whose embedding never comes.
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${owner}` },
      body: JSON.stringify({ query: 'subscription { nexusEvents { type } }' }),
    });
    const stream = readSse(res);
    const streamEnded = (async () => {
      for (;;) await stream.next(60_000);
    })().then(
      () => Date.now(),
      () => Date.now(),
    );
    embeddings.fail('hang', 1);
    const asked = embeddings.requests.length;
    const stuck = post(gw.port, owner, 'mutation { remember(input: { domain: "health", records: [{ kind: "note", text: "never embedded" }] }) { records { id } } }', {});
    await until('the remember to reach the embedder', () => embeddings.requests.length > asked);

    const signalled = Date.now();
    gw.signal('SIGTERM');
    await logged(gw, 'shutting down');
    expect(gw.output()).toMatch(/"signal":"SIGTERM","timeoutMs":1000,"inFlight":2,/);
    await expect(stuck.answer).rejects.toThrow(/socket hang up|ECONNRESET/);
    const exit = await gw.exited();
    const ms = Date.now() - signalled;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect(ms).toBeLessThan(5000);
    // The live stream was ended first (NexusServer.endStreams), well before the deadline: only the stuck request is cut.
    expect(await Promise.race([streamEnded.then(() => 'ended'), sleep(1000).then(() => 'still open')])).toBe('ended');
    expect((await streamEnded) - signalled).toBeLessThan(1000);
    expect(gw.output()).toMatch(/"cut":1,"ms":\d+,"msg":"shutdown deadline passed/);
    console.log(`cut: exited 0 ${ms} ms after the signal, with NEXUS_SHUTDOWN_TIMEOUT=1`);

    // Nothing of the cut request was written, and the directory is free again.
    gw = await start();
    expect((await gw.gql(COUNT, {}, owner)).data.domain.recordCount).toBe(stored);
  }, 120_000);

  it('exits at once on a second signal, saying so', async () => {
    gw = await live('10s');
    embeddings.fail('hang', 1);
    const asked = embeddings.requests.length;
    const stuck = post(gw.port, owner, 'mutation { remember(input: { domain: "health", records: [{ kind: "note", text: "never embedded" }] }) { records { id } } }', {});
    await until('the remember to reach the embedder', () => embeddings.requests.length > asked);
    const signalled = Date.now();
    gw.signal('SIGTERM');
    await logged(gw, 'shutting down');
    gw.signal('SIGINT');
    const exit = await gw.exited();
    expect(exit).toEqual({ code: 1, signal: null });
    expect(Date.now() - signalled).toBeLessThan(2000);
    expect(gw.output()).toMatch(/"signal":"SIGINT","msg":"second signal during shutdown: exiting now, without closing"/);
    await expect(stuck.answer).rejects.toThrow(/socket hang up|ECONNRESET/);
  }, 120_000);
});
