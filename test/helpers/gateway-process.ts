// A real gateway process (`node --import tsx src/server/main.ts`) on an
// ephemeral port, for tests that need several processes sharing storage.
import { spawn, type ChildProcess } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface GatewayProcess {
  readonly url: string;
  gql(query: string, variables?: unknown, token?: string): Promise<{ data?: any; errors?: { extensions?: { code?: string } }[] }>;
  stop(): Promise<void>;
  /** Everything the process has printed so far (its log). */
  output(): string;
  /** Kills it with the signal (SIGKILL: no clean-up at all) and waits for it to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
  readonly pid: number;
  readonly port: number;
  /** Sends the signal and returns at once (see exited()). */
  signal(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited, with its exit code, or the signal that ended it. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in 90 s:\n${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"port":(\d+)[^\n]*nexus listening/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${output}`));
    });
  });
  const url = `http://127.0.0.1:${port}/graphql`;
  return {
    url,
    async gql(query, variables, token) {
      const body = JSON.stringify({ query, variables });
      const started = Date.now();
      try {
        const res = await fetch(url, {
          method: 'POST',
          // A connection of its own (`connection: close`), never one kept alive from an earlier request. Reusing an idle
          // connection races the server closing it (keepAliveTimeout): fetch waits 2 s less than the server announces,
          // but only if its event loop gets to that timer in time, so a busy test process (CI: 2 cores, several Jest
          // workers) sent remembers on connections the gateway had already closed: `fetch failed`, `write EPIPE`. A POST
          // is not retried, so it must not be sent on a connection that may already be closed.
          headers: { 'content-type': 'application/json', connection: 'close', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body,
        });
        return (await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
      } catch (error) {
        throw await requestFailed(error, { child, output: () => output, url, bytes: Buffer.byteLength(body), ms: Date.now() - started });
      }
    },
    output: () => output,
    pid: child.pid as number,
    port,
    signal: (signal) => void child.kill(signal),
    exited: () => exit,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The error a failed request to a gateway process becomes: the fetch error (kept as `cause`) with what tells a
 * crash from a network fault — whether the process has exited (its code or signal) and the end of its output.
 */
async function requestFailed(
  error: unknown,
  at: { child: ChildProcess; output: () => string; url: string; bytes: number; ms: number },
): Promise<Error> {
  const { child } = at;
  // A process that died mid-request is often reported a moment after the socket error: give it that moment.
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 500);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  // fetch's errors come from Node's realm, not the test's (under Jest `instanceof Error` is false): read them by shape.
  const chain: string[] = [];
  for (let e: any = error, depth = 0; e != null && depth < 4; e = e.cause, depth++) {
    chain.push(typeof e === 'object' && 'message' in e ? String(e.message) : String(e));
  }
  const detail = chain.join(': ');
  const state =
    child.exitCode !== null || child.signalCode !== null
      ? `the gateway process (pid ${child.pid}) has exited (code ${child.exitCode}, signal ${child.signalCode})`
      : `the gateway process (pid ${child.pid}) is still running`;
  const origin = new URL(at.url).origin;
  const connection = failedOn.get(origin);
  failedOn.delete(origin);
  const tail = at.output().slice(-2048);
  return new Error(
    `POST ${at.url} (${at.bytes} bytes) failed after ${at.ms} ms${connection ? ` ${connection}` : ''}: ${detail}; ${state}. Its last output:\n${tail}`,
    { cause: error },
  );
}

// Which connection a failed request went on, from undici's diagnostics channels (fetch publishes them): a new one, or
// one kept alive since its last response — and for how long, the thing to compare with the server's keepAliveTimeout.
const lastAnswered = new WeakMap<object, number>();
const sentOn = new WeakMap<object, { socket: object; idleMs: number | null }>();
const failedOn = new Map<string, string>();
diagnostics.subscribe('undici:client:sendHeaders', (message: any) => {
  const answered = lastAnswered.get(message.socket);
  sentOn.set(message.request, { socket: message.socket, idleMs: answered === undefined ? null : Date.now() - answered });
});
diagnostics.subscribe('undici:request:trailers', (message: any) => {
  const sent = sentOn.get(message.request);
  if (sent) lastAnswered.set(sent.socket, Date.now());
});
diagnostics.subscribe('undici:request:error', (message: any) => {
  const sent = sentOn.get(message.request);
  const how = !sent ? 'before it was sent' : sent.idleMs === null ? 'on a new connection' : `on a kept-alive connection idle for ${sent.idleMs} ms`;
  failedOn.set(String(message.request.origin), how);
});
