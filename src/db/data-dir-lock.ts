// PGlite is one process's database: a lock file in the data directory keeps a
// second gateway from opening (and corrupting) it. A lock left by a dead process is taken over.
import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Which process a pid is, beyond its number (Linux: the boot and the process's start time): after a crash the pid
 * in a lock may be taken by another process, and in a container a restarted gateway often gets the very same pid.
 * Null where /proc cannot tell.
 */
export async function processIdentity(pid: number): Promise<string | null> {
  try {
    const [stat, boot] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile('/proc/sys/kernel/random/boot_id', 'utf8')]);
    // Field 22, counted after the command name, which is in parentheses and may itself hold spaces or parentheses.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start ? `${boot.trim()}:${start}` : null;
  } catch {
    return null;
  }
}

/** Whether the process that wrote a lock (pid, and its identity when the lock recorded one) still runs. */
async function holderRuns(pid: number, recorded: string | undefined): Promise<boolean> {
  if (!alive(pid)) return false;
  if (!recorded) return true;
  const now = await processIdentity(pid);
  return now === null || now === recorded;
}

/** Takes the lock or throws DataDirInUseError; returns the function that releases it. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, 'nexus.lock');
  const self = await processIdentity(process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      // "pid identity": the first word stays the pid, as operators (and older versions) read it.
      await handle.writeFile(self ? `${process.pid} ${self}` : String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [first, recorded] = (await readFile(file, 'utf8').catch(() => '')).trim().split(/\s+/);
      const pid = Number(first);
      if (Number.isInteger(pid) && pid > 0 && (await holderRuns(pid, recorded))) {
        if (pid === process.pid) throw new DataDirInUseError(`the embedded database in ${dir} is already open in this process`);
        throw new DataDirInUseError(`the embedded database in ${dir} is in use by process ${pid}; stop it, or give this one its own NEXUS_DATA_DIR or a DATABASE_URL`);
      }
      await rm(file, { force: true });
    }
  }
  throw new DataDirInUseError(`could not take the lock on ${dir}`);
}
