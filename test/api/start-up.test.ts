// `npm start` twice at once from one checkout with no Prisma client yet: the client is generated once,
// under the lock, and both gateways answer; a later start finds it current and leaves it untouched.
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, stat, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WAIT_MS = 90_000;

interface Started {
  child: ChildProcess;
  output: () => string;
}

const temps: string[] = [];
const started: Started[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Its own process group, so the kill reaches npm, its shell and the gateway beneath them.
async function npmStart(checkout: string): Promise<Started & { port: number }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-start-up-data-'));
  temps.push(dataDir);
  const port = await freePort();
  const child = spawn('npm', ['start'], {
    cwd: checkout,
    detached: true,
    env: {
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? tmpdir(),
      NEXUS_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const s = { child, output: () => output, port };
  started.push(s);
  return s;
}

async function serverVersion(s: Started & { port: number }): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (s.child.exitCode !== null) throw new Error(`npm start exited with ${s.child.exitCode}:\n${s.output()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${s.port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ serverInfo { version } }' }),
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await res.json()) as { data?: { serverInfo: { version: string } } };
      if (body.data) return body.data.serverInfo.version;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no answer on port ${s.port} in ${WAIT_MS / 1000} s:\n${s.output()}`);
}

const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function stopGroup(pid: number): Promise<void> {
  for (const [signal, ms] of [['SIGTERM', 15_000], ['SIGKILL', 5_000]] as const) {
    if (!groupAlive(pid)) return;
    process.kill(-pid, signal);
    const deadline = Date.now() + ms;
    while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }
}

async function mtimes(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(e.parentPath, e.name);
    out[path.relative(dir, file)] = (await stat(file)).mtimeMs;
  }
  return out;
}

describe('npm start', () => {
  afterAll(async () => {
    await Promise.all(started.map((s) => (s.child.pid ? stopGroup(s.child.pid) : undefined)));
    await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
  });

  it('generates the Prisma client once when two gateways start together, and not again on the next start', async () => {
    // A copy of the checkout without a generated client; the real src/generated is in use by other tests.
    const checkout = await mkdtemp(path.join(tmpdir(), 'nexus-start-up-'));
    temps.push(checkout);
    for (const entry of ['package.json', 'prisma', 'prisma.config.ts', 'scripts', 'src', 'tsconfig.json']) {
      await cp(path.join(ROOT, entry), path.join(checkout, entry), {
        recursive: true,
        filter: (from) => path.relative(path.join(ROOT, 'src', 'generated'), from).startsWith('..'),
      });
    }
    await symlink(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'), 'dir');
    const client = path.join(checkout, 'src', 'generated', 'prisma');
    await expect(stat(client)).rejects.toThrow(/ENOENT/);
    const { version } = JSON.parse(await readFile(path.join(checkout, 'package.json'), 'utf8')) as { version: string };

    const pair = await Promise.all([npmStart(checkout), npmStart(checkout)]);
    expect(await Promise.all(pair.map(serverVersion))).toEqual([version, version]);
    // One generated under the lock; the other waited, found the hash now matching, and skipped.
    const said = pair.map((s) => (/prisma-client: generated /.test(s.output()) ? 'generated' : /prisma-client: .* skipped/.test(s.output()) ? 'skipped' : s.output()));
    said.sort();
    expect(said).toEqual(['generated', 'skipped']);
    expect(await readFile(path.join(client, '.schema-hash'), 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(path.join(client, 'client.ts'))).isFile()).toBe(true);
    // Nothing left of the temporary directory, the old client or the lock.
    expect((await readdir(path.dirname(client))).sort()).toEqual(['prisma']);

    const before = await mtimes(client);
    const third = await npmStart(checkout);
    expect(await serverVersion(third)).toBe(version);
    expect(third.output()).toMatch(/prisma-client: src\/generated\/prisma is up to date, skipped/);
    expect(await mtimes(client)).toEqual(before);
  }, 4 * WAIT_MS);
});
