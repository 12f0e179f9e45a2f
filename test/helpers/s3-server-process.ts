// The S3 test server (s3-server.ts) in a child process of its own: a benchmark's RSS and event loop are then the
// gateway's alone, as against a remote S3, and a test can freeze the server (SIGSTOP to its pid) mid-request. The child stops when told to, or when this
// process goes away (its stdin closes); stop() then removes the objects' directory (which can take a while: 10,000
// tenants leave ~450,000 files).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { S3TestServer } from './s3-server.js';

/** The test server's own handle (test/helpers/s3-server.ts), plus the child's process id (to read its RSS, say). */
export type S3ServerProcess = Omit<S3TestServer, typeof Symbol.asyncDispose> & { pid: number };

const CHILD = fileURLToPath(new URL('./s3-server-child.ts', import.meta.url));

export interface S3ServerProcessOptions {
  /** Keep the objects here, and keep them on stop() (to start the server again on them). Default: a new temp directory, removed on stop. */
  directory?: string;
  /** Listen on this port (to restart a stopped server where its clients expect it). Default: a free one. */
  port?: number;
}

export async function startS3ServerProcess(options: S3ServerProcessOptions = {}): Promise<S3ServerProcess> {
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(path.join(tmpdir(), 'nexus-s3-')));
  const args = ['--import', 'tsx', CHILD, directory, ...(options.port === undefined ? [] : [String(options.port)])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      lines.close();
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`the S3 test server process exited (code ${code}) before it was ready`)));
    child.once('error', reject);
  }).catch(async (error: unknown) => {
    child.kill();
    if (ownDirectory) await rm(directory, { recursive: true, force: true });
    throw error;
  });
  const info = JSON.parse(first) as { endpoint: string; port: number };
  let stopping: Promise<void> | undefined;
  return {
    ...info,
    directory,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: 'us-east-1',
    pid: child.pid as number,
    stop: () =>
      (stopping ??= (async () => {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
        if (ownDirectory) await rm(directory, { recursive: true, force: true });
      })()),
  };
}
