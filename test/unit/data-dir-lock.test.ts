// The PGlite data directory's lock: refused while its holder runs, taken over from a holder that is gone, even when
// its pid now names another live process (pid reuse after a crash) or this very process (a restarted container).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { lockDataDir, processIdentity } from '../../src/db/data-dir-lock.js';

const onLinux = (await processIdentity(process.pid)) !== null;

describe('the data directory lock', () => {
  let dir: string;
  let lock: string;
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'nexus-lock-unit-'));
    lock = path.join(dir, 'nexus.lock');
  });
  afterAll(async () => {
    sleeper.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('is taken, refused to a second taker in the same process, and released', async () => {
    const release = await lockDataDir(dir);
    expect((await readFile(lock, 'utf8')).split(' ')[0]).toBe(String(process.pid));
    await expect(lockDataDir(dir)).rejects.toThrow(/already open in this process/);
    await release();
    await (await lockDataDir(dir))();
  });

  it('is taken over from a pid that no longer runs', async () => {
    await writeFile(lock, '999999999 some-boot:12345');
    await (await lockDataDir(dir))();
    await writeFile(lock, '999999999');
    await (await lockDataDir(dir))();
  });

  it('is refused while the process that wrote it runs, in either format', async () => {
    const pid = sleeper.pid as number;
    const identity = await processIdentity(pid);
    await writeFile(lock, identity ? `${pid} ${identity}` : String(pid));
    await expect(lockDataDir(dir)).rejects.toThrow(new RegExp(`in use by process ${pid};`));
    await writeFile(lock, String(pid));
    await expect(lockDataDir(dir)).rejects.toThrow(new RegExp(`in use by process ${pid};`));
    await rm(lock);
  });

  (onLinux ? it : it.skip)('is taken over when its pid now belongs to another live process, or to this one', async () => {
    const dead = `${(await processIdentity(process.pid))!.split(':')[0]}:1`;
    // The crashed holder's pid reused by an unrelated process.
    await writeFile(lock, `${sleeper.pid} ${dead}`);
    const release = await lockDataDir(dir);
    expect(await readFile(lock, 'utf8')).toBe(`${process.pid} ${await processIdentity(process.pid)}`);
    await release();
    // A restarted container: the gateway is PID 1 (say) again, and so was the one that crashed.
    await writeFile(lock, `${process.pid} ${dead}`);
    await (await lockDataDir(dir))();
  });
});
