#!/usr/bin/env node
// Generates the Prisma client only when prisma/schema.prisma or the prisma version changed, atomically and
// under a lock, so that gateways starting together never race on src/generated (`--force` regenerates anyway).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCHEMA = path.join(ROOT, 'prisma', 'schema.prisma'); // the path prisma.config.ts names
const LOCK_WAIT_MS = 120_000; // a generation takes ~3 s; a holder stuck this long is a fault, not a queue
const STALE_MS = 10_000; // for the two files whose holder may die between creating and filling them
const require = createRequire(path.join(ROOT, 'package.json'));
const force = process.argv.includes('--force');

const read = (file) => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
};
const age = (file) => Date.now() - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
const version = (pkg) => JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')).version;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM'; // exists, someone else's
  }
}

// One non-blocking attempt: true when we hold `lock`. Removes a dead holder's lock for the next attempt.
function tryLock(lock) {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
  }
  const holder = read(lock);
  if (holder === undefined) return false; // released just now
  // Empty is a holder between `wx` and its write, unless it stayed empty long enough to have died there.
  if (holder === '' ? age(lock) < STALE_MS : Number(holder) !== process.pid && alive(Number(holder))) return false;
  // Two waiters may both find it dead; the guard lets one at a time delete, after re-reading, so no one
  // deletes the lock a live process took in between.
  const guard = `${lock}.takeover`;
  try {
    writeFileSync(guard, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
    if (age(guard) > STALE_MS) rmSync(guard, { force: true }); // a taker died mid-way (it takes microseconds)
    return false;
  }
  try {
    if (read(lock) === holder) rmSync(lock, { force: true });
  } finally {
    rmSync(guard, { force: true });
  }
  return false; // the next attempt takes it with `wx` like everyone else
}

async function main() {
  const schemaText = readFileSync(SCHEMA, 'utf8');
  const outputValue = /generator\s+\w+\s*\{[^}]*?\boutput\s*=\s*"([^"]+)"/.exec(schemaText)?.[1];
  if (!outputValue) throw new Error(`no generator output in ${path.relative(ROOT, SCHEMA)}`);
  const out = path.resolve(path.dirname(SCHEMA), outputValue);
  const rel = path.relative(ROOT, out);
  const parent = path.dirname(out);
  // Inside the client directory, so the hash comes and goes with the files it describes: a directory
  // that has it is complete and current, and one swapped in has none until it is written, last.
  const hashFile = path.join(out, '.schema-hash');
  const wanted = createHash('sha256')
    .update(`${schemaText}\0prisma ${version('prisma')}\0@prisma/client ${version('@prisma/client')}`)
    .digest('hex');
  const upToDate = () => !force && read(hashFile) === wanted;

  if (upToDate()) return console.log(`prisma-client: ${rel} is up to date, skipped`);
  mkdirSync(parent, { recursive: true });
  const lock = `${out}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  while (!tryLock(lock)) {
    if (Date.now() > deadline) throw new Error(`gave up after ${LOCK_WAIT_MS / 1000} s waiting for ${path.relative(ROOT, lock)}, held by process ${read(lock)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const tmpRoot = path.join(parent, `.prisma-tmp-${process.pid}`);
  try {
    // The holder before us may just have generated exactly this.
    if (upToDate()) return console.log(`prisma-client: ${rel} is up to date, skipped`);
    const started = Date.now();
    // Only a lock holder makes these, so any there now are debris of a generation that died.
    for (const name of readdirSync(parent)) {
      if (/^\.prisma-(tmp|old)-\d+$/.test(name)) rmSync(path.join(parent, name), { recursive: true, force: true });
    }
    // A mirror of the checkout in a temp dir beside the client: the same schema text at the same relative
    // place sends the same relative output into the mirror, and the client comes out byte-identical.
    const tmpSchema = path.join(tmpRoot, path.relative(ROOT, SCHEMA));
    const tmpOut = path.resolve(path.dirname(tmpSchema), outputValue);
    if (!tmpOut.startsWith(tmpRoot + path.sep)) throw new Error(`generator output "${outputValue}" must be relative to the schema and inside the checkout`);
    mkdirSync(path.dirname(tmpSchema), { recursive: true });
    writeFileSync(tmpSchema, schemaText);
    const result = spawnSync(process.execPath, [require.resolve('prisma/build/index.js'), 'generate', '--schema', tmpSchema], {
      cwd: ROOT, // where prisma.config.ts is found
      // No engine can be downloaded here and generate needs none (STACK.md "Prisma offline").
      env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true', CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
      encoding: 'utf8',
    });
    if (result.status !== 0) {
      // Prisma ends with a version banner; the useful line is its last "error:", pointed at the real schema.
      const lines = `${result.stdout}\n${result.stderr}`.split(path.relative(ROOT, tmpSchema)).join(path.relative(ROOT, SCHEMA)).split('\n').map((l) => l.trim()).filter(Boolean);
      const why = [lines.findLast((l) => /^error\b/i.test(l)) ?? lines.at(-1) ?? 'no output', lines.find((l) => l.startsWith('-->'))].filter(Boolean).join(' ');
      throw new Error(`prisma generate failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`}): ${why}`);
    }
    // Two renames: the old client (with its hash) steps aside whole, the new one steps in whole. Between
    // them there is neither client nor hash, so a start arriving then finds no match and queues on the lock.
    const old = path.join(parent, `.prisma-old-${process.pid}`);
    try {
      renameSync(out, old);
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
    renameSync(tmpOut, out);
    writeFileSync(`${hashFile}.tmp`, wanted);
    renameSync(`${hashFile}.tmp`, hashFile);
    rmSync(old, { recursive: true, force: true });
    console.log(`prisma-client: generated ${rel} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(tmpRoot, { recursive: true, force: true });
    rmSync(lock, { force: true });
  }
}

try {
  await main();
} catch (error) {
  console.error(`prisma-client: ${String(error.message).split('\n')[0]}`); // one line: the stack helps no one here
  process.exitCode = 1;
}
