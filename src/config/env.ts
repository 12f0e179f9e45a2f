// The only reader of process.env: parses Nexus's configuration once, with zod,
// into a frozen, typed object. A bad value stops start-up with one line naming it.
import path from 'node:path';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly variable: string, detail: string) {
    super(`invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`);

const urlWithScheme = (schemes: string[]) =>
  z.string().refine((value) => {
    try {
      const url = new URL(value);
      return schemes.includes(url.protocol.replace(/:$/, '')) && url.hostname !== '';
    } catch {
      return false;
    }
  }, `must be a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`);

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const variables = z.object({
  PORT: intIn(0, 65535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  NODE_ENV: z.string().default('development'),
  NEXUS_DATA_DIR: z.string().min(1).default('./.nexus'),
  DATABASE_URL: urlWithScheme(['postgres', 'postgresql']).optional(),
  NEXUS_STORAGE_URI: z
    .string()
    .min(1)
    .refine((v) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(v), 'must be a local path or s3://bucket/prefix')
    .optional(),
  NEXUS_VECTOR_DIM: intIn(1, 4096).default(384),
  NEXUS_TABLE_CACHE_SIZE: intIn(1, 100000).default(256),
  NEXUS_GRAPHIQL: flag.optional(),
  REDIS_URL: urlWithScheme(['redis', 'rediss']).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  AWS_SESSION_TOKEN: z.string().optional(),
  AWS_REGION: z.string().default('us-east-1'),
  AWS_ENDPOINT_URL: urlWithScheme(['http', 'https']).optional(),
});

export interface S3Settings {
  readonly region: string;
  readonly endpoint?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly sessionToken?: string;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly production: boolean;
  readonly dataDir: string;
  /** PostgreSQL server URL; undefined means embedded PGlite in dataDir. */
  readonly databaseUrl?: string;
  /** Absolute local directory or s3://bucket/prefix. */
  readonly storageUri: string;
  readonly vectorDimension: number;
  readonly tableCacheSize: number;
  readonly graphiql: boolean;
  readonly redisUrl?: string;
  readonly logLevel: string;
  readonly s3: S3Settings;
  readonly version: string;
}

export const NEXUS_VERSION = '0.1.0';

/** Parses the environment (process.env by default) or throws a ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, as in most twelve-factor tooling.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = variables.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    const got = env[variable];
    throw new ConfigError(variable, `${issue?.message ?? 'is invalid'}${got === undefined ? '' : ` (got ${JSON.stringify(got.slice(0, 80))})`}`);
  }
  const v = parsed.data;
  const dataDir = path.resolve(v.NEXUS_DATA_DIR);
  const storage = v.NEXUS_STORAGE_URI ?? path.join(dataDir, 'vectors');
  const production = v.NODE_ENV === 'production';
  return Object.freeze({
    port: v.PORT,
    host: v.HOST,
    production,
    dataDir,
    databaseUrl: v.DATABASE_URL,
    storageUri: storage.startsWith('s3://') ? storage.replace(/\/+$/, '') : path.resolve(storage),
    vectorDimension: v.NEXUS_VECTOR_DIM,
    tableCacheSize: v.NEXUS_TABLE_CACHE_SIZE,
    graphiql: v.NEXUS_GRAPHIQL ?? !production,
    redisUrl: v.REDIS_URL,
    logLevel: v.LOG_LEVEL,
    s3: Object.freeze({
      region: v.AWS_REGION,
      endpoint: v.AWS_ENDPOINT_URL,
      accessKeyId: v.AWS_ACCESS_KEY_ID,
      secretAccessKey: v.AWS_SECRET_ACCESS_KEY,
      sessionToken: v.AWS_SESSION_TOKEN,
    }),
    version: NEXUS_VERSION,
  });
}
