// The load generator of bench/throughput.ts: N closed-loop clients, each one keep-alive socket, POSTing GraphQL
// bodies to one URL for a fixed time and checking every answer. It runs in a child process by default (forked by
// the benchmark with NEXUS_THROUGHPUT_CHILD=1, driven over IPC), so its CPU is not taken from the server's event
// loop; runSlice is also imported directly for --child 0.
import { Agent, request } from 'node:http';

export interface Target {
  /** The path's label, for error messages. */
  name: string;
  url: string;
  headers: Record<string, string>;
  /** Request bodies, used in turn (client i starts at body i). */
  bodies: string[];
  /** The exact answer every request must get, or the number of search hits it must hold. */
  expect: { exact: string } | { hits: number };
}

export interface SliceResult {
  requests: number;
  errors: number;
  firstError?: string;
  /** From the first request sent to the last answer received. */
  elapsedMs: number;
  /** One per request, in ms. */
  latencies: number[];
  /** CPU the load generator's process used during the slice (user + system, ms). */
  clientCpuMs: number;
}

const agents = new Map<number, Agent>();

/** One keep-alive socket per client, reused across slices of the same concurrency. */
function agentFor(clients: number): Agent {
  let agent = agents.get(clients);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients, keepAliveMsecs: 60_000 });
    agents.set(clients, agent);
  }
  return agent;
}

function post(url: URL, agent: Agent, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function check(target: Target, status: number, text: string): string | null {
  if (status !== 200) return `HTTP ${status}: ${text.slice(0, 300)}`;
  if ('exact' in target.expect) return text === target.expect.exact ? null : `unexpected answer: ${text.slice(0, 300)}`;
  const hits = (JSON.parse(text) as { data?: { search?: { hits?: unknown[] } } }).data?.search?.hits;
  return hits?.length === target.expect.hits ? null : `expected ${target.expect.hits} hits: ${text.slice(0, 300)}`;
}

/** `clients` loops, each sending its next request as soon as the previous answer is read, until `ms` have passed. */
export async function runSlice(target: Target, clients: number, ms: number): Promise<SliceResult> {
  const url = new URL(target.url);
  const agent = agentFor(clients);
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + ms;
  const client = async (i: number) => {
    for (let n = i; performance.now() < deadline; n += clients) {
      const body = target.bodies[n % target.bodies.length] as string;
      const t0 = performance.now();
      try {
        const { status, text } = await post(url, agent, target.headers, body);
        latencies.push(performance.now() - t0);
        const problem = check(target, status, text);
        if (problem) {
          errors += 1;
          firstError ??= `${target.name}: ${problem}`;
        }
      } catch (error) {
        errors += 1;
        firstError ??= `${target.name}: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  return { requests: latencies.length, errors, firstError, elapsedMs, latencies, clientCpuMs: (cpu.user + cpu.system) / 1000 };
}

export type ChildRequest = { type: 'run'; id: number; target: Target; clients: number; ms: number } | { type: 'exit' };
export type ChildReply = { type: 'ready' } | { type: 'done'; id: number; result: SliceResult } | { type: 'failed'; id: number; error: string };

if (process.env.NEXUS_THROUGHPUT_CHILD === '1' && process.send) {
  const send = (m: ChildReply) => process.send?.(m);
  // The benchmark gone (finished or crashed): so is its load generator, whatever sockets are still open.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ChildRequest) => {
    if (m.type === 'exit') {
      for (const agent of agents.values()) agent.destroy();
      process.exit(0);
    }
    runSlice(m.target, m.clients, m.ms).then(
      (result) => send({ type: 'done', id: m.id, result }),
      (error: unknown) => send({ type: 'failed', id: m.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
  send({ type: 'ready' });
}
