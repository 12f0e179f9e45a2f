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
