// Start-up on both backends: migrations are applied once, recorded as Prisma
// records them, idempotent across restarts and safe when gateways start together.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { loadConfig } from '../../src/config/env.js';
import { createDatabase } from '../../src/db/create-database.js';
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { createLogger } from '../../src/log/logger.js';
import { createNexusServer } from '../../src/server/create-nexus-server.js';
import { SignUpDocument, ViewerDocument } from '../generated/graphql.js';
import { PG_ADMIN_URL, postgresAvailable } from '../helpers/nexus.js';
import { startGatewayProcess } from '../helpers/gateway-process.js';
import { print } from 'graphql';
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const migrationNames = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();
const withPostgres = (await postgresAvailable()) ? it : it.skip;

async function post(server: Awaited<ReturnType<typeof createNexusServer>>, query: string, variables: unknown, token?: string) {
  const res = await server.yoga.fetch('http://nexus.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: unknown[] };
}

describe('start-up', () => {
  it.each([
    ['NEXUS_VECTOR_DIM', 'abc'],
    ['PORT', '-1'],
    ['DATABASE_URL', 'nonsense'],
  ])('stops with one line naming %s when it is %p, and a non-zero exit code', (name, value) => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { PATH: process.env.PATH ?? '', [name]: value },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).not.toBe(0);
    expect(result.status).not.toBeNull();
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^nexus: invalid configuration: ${name} `));
    expect(result.stdout).toBe('');
  });

  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('keeps data and applies nothing twice when PGlite restarts on the same data directory', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'nexus-restart-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const config = loadConfig({ NEXUS_DATA_DIR: dir, NEXUS_VECTOR_DIM: '8' });
    const first = await createNexusServer(config, { log: createLogger('silent') });
    expect(first.services.db.migrations.applied).toEqual(migrationNames);
    const signed = await post(first, print(SignUpDocument), { input: { email: `restart-${Date.now()}@example.com` } });
    const token = signed.data.signUp.ownerToken as string;
    await first.close();

    const second = await createNexusServer(config, { log: createLogger('silent') });
    try {
      expect(second.services.db.migrations).toEqual({ applied: [], alreadyApplied: migrationNames.length, modified: [] });
      const viewer = await post(second, print(ViewerDocument), {}, token);
      expect(viewer.data.viewer.tenant.id).toBe(signed.data.signUp.tenant.id);
    } finally {
      await second.close();
    }
  });

  it('refuses a second gateway on the same PGlite data directory, and takes over a dead one\'s lock', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'nexus-lock-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const gateway = await startGatewayProcess({ NEXUS_DATA_DIR: dir });
    try {
      await expect(createDatabase({ dataDir: dir })).rejects.toThrow(/in use by process \d+/);
    } finally {
      await gateway.stop();
    }
    // A clean stop releases the lock.
    const first = await createDatabase({ dataDir: dir });
    await expect(createDatabase({ dataDir: dir })).rejects.toThrow(/already open in this process/);
    await first.close();
    // A crashed gateway leaves its lock behind; a pid that no longer runs does not hold the directory.
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(dir, 'nexus.lock'), '999999999');
    const second = await createDatabase({ dataDir: dir });
    await second.close();
  });

  withPostgres('applies migrations once when four gateways start at once, as Prisma records them', async () => {
    const name = `nexus_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    cleanups.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });
    const url = `postgresql://postgres@127.0.0.1:5432/${name}`;
    const dbs = await Promise.all(Array.from({ length: 4 }, () => createDatabase({ databaseUrl: url, dataDir: '/nonexistent' })));
    try {
      const applied = dbs.map((d) => d.migrations.applied.length);
      expect(applied.reduce((a, b) => a + b, 0)).toBe(migrationNames.length);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const rows = (await client.query('SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name')).rows;
      await client.end();
      expect(rows.map((r) => r.migration_name)).toEqual(migrationNames);
      for (const r of rows) {
        expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
        expect(r.finished_at).not.toBeNull();
        expect(r.applied_steps_count).toBe(1);
      }
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
  });

  withPostgres('refuses to start while a failed migration is unresolved, and records why it failed', async () => {
    const name = `nexus_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const dir = await mkdtemp(path.join(tmpdir(), 'nexus-badmig-'));
    const client = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:5432/${name}` });
    await client.connect();
    cleanups.push(async () => {
      await client.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      await rm(dir, { recursive: true, force: true });
    });
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(path.join(dir, '0001_ok'));
    await writeFile(path.join(dir, '0001_ok', 'migration.sql'), 'CREATE TABLE ok (id int);');
    await mkdir(path.join(dir, '0002_bad'));
    await writeFile(path.join(dir, '0002_bad', 'migration.sql'), 'CREATE TABLE half (id int); SELECT no_such_function();');
    const conn = {
      query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
      exec: async (sql: string) => {
        await client.query(sql);
      },
    };
    await expect(migrate(conn, dir)).rejects.toThrow(/0002_bad failed/);
    // The failed migration left nothing half-made, and start-up stays refused until someone resolves it.
    expect((await client.query(`SELECT to_regclass('half') AS t`)).rows[0].t).toBeNull();
    expect((await client.query(`SELECT to_regclass('ok') AS t`)).rows[0].t).toBe('ok');
    const failed = (await client.query(`SELECT logs FROM "_prisma_migrations" WHERE migration_name = '0002_bad'`)).rows[0];
    expect(failed.logs).toMatch(/no_such_function/);
    await expect(migrate(conn, dir)).rejects.toThrow(/not resolved/);
  });
});
