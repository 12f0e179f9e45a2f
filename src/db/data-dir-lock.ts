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

/** Takes the lock or throws DataDirInUseError; returns the function that releases it. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, 'nexus.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new DataDirInUseError(`the embedded database in ${dir} is in use by process ${pid}; stop it, or give this one its own NEXUS_DATA_DIR or a DATABASE_URL`);
      }
      if (pid === process.pid) throw new DataDirInUseError(`the embedded database in ${dir} is already open in this process`);
      await rm(file, { force: true });
    }
  }
  throw new DataDirInUseError(`could not take the lock on ${dir}`);
}
