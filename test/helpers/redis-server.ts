// A Redis server of a test's own (Debian's redis-server, no persistence, a temp directory, a free port), for tests
// that stop, restart or freeze Redis: the shared one at 127.0.0.1:6379 is never touched.
//
//   const redis = await startRedisServer();   // redis.url: redis://127.0.0.1:PORT
//   await redis.stop();                       // as an outage: the port refuses connections
//   await redis.start();                      // the same port again, empty (nothing is persisted)
//   await redis.pause(); await redis.resume(); // SIGSTOP/SIGCONT: connections stay open and nothing answers
//   await redis.close();                      // stops it if running and removes its directory
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './postgres-cluster.js';

export const REDIS_SERVER_BINARY = '/usr/bin/redis-server';

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  /** Whether the server process is running now (paused counts as running). */
  running(): boolean;
  /** Ends the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. Stopping a stopped server is a no-op. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty, and waits until it answers PING. Starting a running server is a no-op. */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
  /** SIGSTOP: it hangs (connections are accepted, nothing answers) until resume(). */
  pause(): void;
  resume(): void;
  /** Stops it if running and removes its directory. */
  close(): Promise<void>;
}

/** Whether Debian's redis-server is installed. */
export function redisServerAvailable(): boolean {
  return existsSync(REDIS_SERVER_BINARY);
}

/** Resolves once something on the port answers PING with PONG; rejects after timeoutMs. */
async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      socket.setTimeout(500, () => socket.destroy());
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (chunk) => {
        data += chunk.toString();
        if (data.includes('\r\n')) {
          socket.end();
          resolve(data.startsWith('+PONG'));
        }
      });
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(false));
    });
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function startRedisServer(): Promise<RedisServer> {
  if (!redisServerAvailable()) throw new Error(`no ${REDIS_SERVER_BINARY}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'nexus-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  let output = '';

  const start = async () => {
    if (child) return;
    const next = spawn(REDIS_SERVER_BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    next.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4096)));
    next.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4096)));
    next.once('exit', () => {
      if (child === next) child = null;
    });
    child = next;
    try {
      await waitForPong(port, 10_000);
    } catch (error) {
      next.kill('SIGKILL');
      throw new Error(`${(error as Error).message}; its output:\n${output}`);
    }
  };

  const stop = async () => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill('SIGCONT'); // a paused server cannot act on SIGTERM
    current.kill('SIGTERM');
    const timer = setTimeout(() => current.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    child = null;
  };

  await start().catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    running: () => child !== null,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
