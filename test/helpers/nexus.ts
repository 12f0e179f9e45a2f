// Test fixture: a real Nexus server (in-process Yoga, no port) on a fresh data
// directory, with embedded PGlite or its own new database on the PostgreSQL server.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { print, type DocumentNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/env.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { createNexusServer, type NexusServer } from '../../src/server/create-nexus-server.js';

export type Backend = 'pglite' | 'postgresql';

export const PG_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * Whether a local service answers its probe. Under CI=true it must (the run fails otherwise); elsewhere the
 * suites that need it are skipped with a printed notice.
 */
export async function serviceAvailable(name: string, probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error(`CI=true but ${name} does not answer`);
    console.warn(`NOTICE: ${name} does not answer and CI is unset: the tests that need it are skipped.`);
    return false;
  }
}

let pgAvailable: Promise<boolean> | undefined;

/** Whether the PostgreSQL server at 127.0.0.1:5432 answers. */
/** Whether the shared Redis at 127.0.0.1:6379 answers (outside CI, suites that need it are skipped when it does not). */
export function redisAvailable(): Promise<boolean> {
  return serviceAvailable('Redis at 127.0.0.1:6379', async () => {
    const probe = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await probe.connect();
      await probe.ping();
    } finally {
      probe.disconnect();
    }
  });
}

export function postgresAvailable(): Promise<boolean> {
  pgAvailable ??= serviceAvailable('the PostgreSQL server at 127.0.0.1:5432', async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
    await client.connect();
    await client.end();
  });
  return pgAvailable;
}

/** Backends to run the API suites on: both, or PGlite alone when PostgreSQL is absent outside CI. */
export async function backends(): Promise<Backend[]> {
  return (await postgresAvailable()) ? ['pglite', 'postgresql'] : ['pglite'];
}

/** A fresh, empty database on the PostgreSQL server; drop() removes it (connections and all). */
export async function createTestDatabase(prefix = 'nexus_test'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  return { url: `postgresql://postgres@127.0.0.1:5432/${name}`, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export interface GqlResult<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[];
}

export interface TestNexus {
  readonly server: NexusServer;
  readonly backend: Backend;
  readonly dataDir: string;
  gql<T = Record<string, any>, V = Record<string, unknown>>(
    query: string | TypedDocumentNode<T, V> | DocumentNode,
    variables?: V,
    token?: string,
    headers?: Record<string, string>,
  ): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

export interface StartOptions {
  backend?: Backend;
  env?: Record<string, string>;
  /** The server's logger (default: silent, or LOG_LEVEL from env). */
  log?: Logger;
}

export async function startNexus(options: StartOptions = {}): Promise<TestNexus> {
  const backend = options.backend ?? 'pglite';
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-test-'));
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  const env: Record<string, string> = {
    NEXUS_DATA_DIR: dataDir,
    NEXUS_VECTOR_DIM: '8',
    LOG_LEVEL: 'silent',
    // Suites sign up many tenants from one in-process "address" in seconds; the rate-limit tests turn these back on.
    NEXUS_RATE_LIMIT_PER_MINUTE: '0',
    NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '0',
    NEXUS_SIGNUP_RATE_LIMIT_PER_HOUR: '0',
    // An in-process fetch's stream learns that its reader cancelled only at its next write: a heartbeat each second.
    NEXUS_EVENT_HEARTBEAT: '1',
    ...options.env,
  };
  if (backend === 'postgresql') {
    database = await createTestDatabase();
    env.DATABASE_URL = database.url;
  }
  let server: NexusServer;
  try {
    server = await createNexusServer(loadConfig(env), { log: options.log ?? createLogger(env.LOG_LEVEL ?? 'silent') });
  } catch (error) {
    // A server that does not start leaves nothing behind: no data directory, no database.
    await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
    throw error;
  }
  return {
    server,
    backend,
    dataDir,
    async gql(query, variables, token, headers = {}) {
      const res = await server.yoga.fetch('http://nexus.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        body: JSON.stringify({ query: typeof query === 'string' ? query : print(query), variables }),
      });
      const body = (await res.json()) as GqlResult<any>;
      return { ...body, status: res.status };
    },
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
      await database?.drop();
    },
  };
}

/** The error codes of a result, in order. */
export function codes(result: GqlResult): (string | undefined)[] {
  return (result.errors ?? []).map((e) => e.extensions?.code);
}

let counter = 0;
/** A unique email for a test tenant. */
export function uniqueEmail(label = 'user'): string {
  counter += 1;
  return `${label}-${Date.now().toString(36)}-${counter}-${randomBytes(3).toString('hex')}@example.com`;
}
