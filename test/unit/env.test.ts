// Configuration is parsed once; a bad value names its variable in one line.
import { describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/env.js';

describe('loadConfig', () => {
  it('defaults to the embedded setup of DESIGN.md §4', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 4000, databaseUrl: undefined, vectorDimension: 384, redisUrl: undefined, graphiql: true });
    expect(c.dataDir).toBe(path.resolve('.nexus'));
    expect(c.storageUri).toBe(path.resolve('.nexus', 'vectors'));
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads NEXUS_SHUTDOWN_TIMEOUT as a duration, 10 s by default', () => {
    expect(loadConfig({}).shutdownTimeoutMs).toBe(10_000);
    expect(loadConfig({ NEXUS_SHUTDOWN_TIMEOUT: '30' }).shutdownTimeoutMs).toBe(30_000);
    expect(loadConfig({ NEXUS_SHUTDOWN_TIMEOUT: '2m' }).shutdownTimeoutMs).toBe(120_000);
    expect(loadConfig({ NEXUS_SHUTDOWN_TIMEOUT: '0' }).shutdownTimeoutMs).toBe(0);
    expect(loadConfig({ NEXUS_SHUTDOWN_TIMEOUT: '1h' }).shutdownTimeoutMs).toBe(3_600_000);
  });

  it('reads the outage bounds NEXUS_DATABASE_TIMEOUT_MS, NEXUS_STORAGE_TIMEOUT_MS and NEXUS_REDIS_TIMEOUT_MS', () => {
    expect(loadConfig({}).timeouts).toEqual({ databaseMs: 5000, storageMs: 5000, redisMs: 1000 });
    expect(loadConfig({ NEXUS_DATABASE_TIMEOUT_MS: '2500', NEXUS_STORAGE_TIMEOUT_MS: '30000', NEXUS_REDIS_TIMEOUT_MS: '100' }).timeouts).toEqual({
      databaseMs: 2500,
      storageMs: 30000,
      redisMs: 100,
    });
  });

  it.each([
    ['NEXUS_DATABASE_TIMEOUT_MS', '0'],
    ['NEXUS_STORAGE_TIMEOUT_MS', '5s'],
    ['NEXUS_REDIS_TIMEOUT_MS', '600001'],
  ])('rejects the outage bound %s=%p, naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^invalid configuration: ${name} must be a whole number from 100 to 600000`));
  });

  it('reads every variable', () => {
    const c = loadConfig({
      PORT: '8080',
      NEXUS_DATA_DIR: '/tmp/nx',
      DATABASE_URL: 'postgresql://u@db:5432/nexus',
      NEXUS_STORAGE_URI: 's3://bucket/prefix/',
      NEXUS_VECTOR_DIM: '768',
      REDIS_URL: 'redis://127.0.0.1:6379',
      NODE_ENV: 'production',
    });
    expect(c).toMatchObject({ port: 8080, dataDir: '/tmp/nx', storageUri: 's3://bucket/prefix', vectorDimension: 768, graphiql: false });
  });

  it.each([
    ['NEXUS_VECTOR_DIM', 'abc'],
    ['NEXUS_VECTOR_DIM', '0'],
    ['NEXUS_VECTOR_DIM', '12.5'],
    ['PORT', '-1'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'nonsense'],
    ['DATABASE_URL', 'mysql://x/y'],
    ['REDIS_URL', 'http://x'],
    ['NEXUS_STORAGE_URI', 'gs://bucket'],
    ['NEXUS_STORAGE_URI', 's3://'],
    ['LOG_LEVEL', 'loud'],
    ['NEXUS_SHUTDOWN_TIMEOUT', '10 s'],
    ['NEXUS_SHUTDOWN_TIMEOUT', '-1'],
    ['NEXUS_SHUTDOWN_TIMEOUT', '2h'],
  ])('rejects %s=%p with an error naming the variable', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(name);
    expect((error as Error).message).toMatch(new RegExp(`^invalid configuration: ${name} `));
    expect((error as Error).message).not.toContain('\n');
  });
});
