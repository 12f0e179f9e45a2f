// A PostgreSQL cluster of a test's own (Debian's initdb and pg_ctl, a temp directory, a free port, trust auth), for
// tests that stop and start the server: the shared one at 127.0.0.1:5432 is never touched.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostgresCluster {
  readonly port: number;
  /** postgresql://postgres@127.0.0.1:PORT/<database> */
  url(database?: string): string;
  /** pg_ctl stop: `fast` (sessions ended cleanly) or `immediate` (as if the server crashed). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP to the server and its backends: it hangs (connections are accepted, nothing answers) until resume(). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Stops it if running and removes its directory. */
  close(): Promise<void>;
}

/** Debian's binaries of the newest installed PostgreSQL, or null. */
export function postgresBinaries(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : null;
}

/** A TCP port free on 127.0.0.1 just now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = postgresBinaries();
  if (!bin) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql');
  const dir = await mkdtemp(path.join(tmpdir(), 'nexus-pg-'));
  const data = path.join(dir, 'data');
  // initdb refuses to run as root: the cluster belongs to the postgres user then.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pg = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]) : run(path.join(bin, tool), args);
  const port = await freePort();
  let running = false;
  await pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--no-locale']);
  const start = async () => {
    await pg('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`, 'start']);
    running = true;
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pg('pg_ctl', ['-D', data, '-w', '-t', '30', '-m', mode, 'stop']);
    running = false;
  };
  // The postmaster (first line of postmaster.pid) and its children: this cluster's processes only.
  const pids = async (): Promise<number[]> => {
    const postmaster = Number((await readFile(path.join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    const children = await readFile(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').catch(() => '');
    return [postmaster, ...children.split(/\s+/).filter(Boolean).map(Number)];
  };
  const signal = async (name: NodeJS.Signals) => {
    for (const pid of await pids()) process.kill(pid, name);
  };
  try {
    await start();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url: (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    stop,
    start,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async close() {
      if (running) {
        await signal('SIGCONT').catch(() => undefined);
        await stop('immediate').catch(() => undefined);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
