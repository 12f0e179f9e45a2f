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

/** Languages the full-text index stems and removes stop words for (Lance's tantivy analysers). */
export const TEXT_LANGUAGES = [
  'Arabic', 'Danish', 'Dutch', 'English', 'Finnish', 'French', 'German', 'Greek', 'Hungarian', 'Italian',
  'Norwegian', 'Portuguese', 'Romanian', 'Russian', 'Spanish', 'Swedish', 'Tamil', 'Turkish',
] as const;

/** A duration: a whole number of seconds, or with s, m, h or d (e.g. 24h, 90m, 0); in milliseconds. */
const duration = () =>
  z
    .string()
    .regex(/^\d{1,9}(s|m|h|d)?$/, 'must be a duration: a whole number of seconds, or with s, m, h or d (e.g. 24h, 90m, 0)')
    .transform((v) => {
      const unit = { s: 1, m: 60, h: 3600, d: 86400 }[v.slice(-1)] ?? 1;
      return (/\d$/.test(v) ? Number(v) : Number(v.slice(0, -1)) * unit) * 1000;
    });

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
  NEXUS_TOKEN_CACHE_SECONDS: intIn(0, 3600).default(60),
  NEXUS_INDEX_MIN_ROWS: intIn(0, 1_000_000_000).default(10_000),
  NEXUS_INDEX_OPTIMIZE_ROWS: intIn(1, 1_000_000_000).default(5_000),
  NEXUS_INDEX_NPROBES: intIn(1, 4096).default(20),
  // Forgotten records: how long they may stay in old versions and data files.
  NEXUS_CLEANUP_WINDOW: duration().default(24 * 3600 * 1000),
  // Live events: how long and how many a tenant's events are kept for replay, each stream's queue, the heartbeat.
  NEXUS_EVENT_RETENTION: duration().default(24 * 3600 * 1000),
  NEXUS_EVENT_RETENTION_EVENTS: intIn(1, 10_000_000).default(10_000),
  NEXUS_EVENT_QUEUE: intIn(1, 1_000_000).default(5_000),
  NEXUS_EVENT_HEARTBEAT: duration()
    .refine((ms) => ms >= 1000 && ms <= 3600_000, 'must be from 1s to 1h')
    .default(15_000),
  // Full-text search (every store's BM25 index) and the server-side embedder.
  NEXUS_TEXT_OPTIMIZE_ROWS: intIn(1, 1_000_000_000).default(1_000),
  NEXUS_TEXT_LANGUAGE: z.enum(TEXT_LANGUAGES).default('English'),
  NEXUS_TEXT_STEM: flag.default(true),
  NEXUS_TEXT_STOP_WORDS: flag.default(true),
  NEXUS_TEXT_TOKENIZER: z.enum(['simple', 'whitespace', 'ngram']).default('simple'),
  NEXUS_EMBEDDER: z.enum(['none', 'openai']).default('none'),
  NEXUS_EMBEDDINGS_URL: urlWithScheme(['http', 'https']).optional(),
  NEXUS_EMBEDDINGS_MODEL: z.string().min(1).max(200).optional(),
  NEXUS_EMBEDDINGS_API_KEY: z.string().optional(),
  NEXUS_EMBEDDINGS_BATCH: intIn(1, 2048).default(64),
  NEXUS_EMBEDDINGS_TIMEOUT_MS: intIn(100, 600_000).default(10_000),
  NEXUS_EMBEDDINGS_RETRIES: intIn(0, 10).default(2),
  NEXUS_EMBEDDINGS_CONCURRENCY: intIn(1, 256).default(4),
  NEXUS_EMBEDDING_CREDITS: intIn(0, 1_000_000_000_000).default(0),
  NEXUS_GRAPHIQL: flag.optional(),
  REDIS_URL: urlWithScheme(['redis', 'rediss']).optional(),
  // Outages: how long a request waits for PostgreSQL, the bucket or Redis before it is given up (SERVICE_UNAVAILABLE).
  NEXUS_DATABASE_TIMEOUT_MS: intIn(100, 600_000).default(5_000),
  NEXUS_STORAGE_TIMEOUT_MS: intIn(100, 600_000).default(5_000),
  NEXUS_REDIS_TIMEOUT_MS: intIn(100, 600_000).default(1_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Query limits (graphql-armor), the request body, rate limits, sign-up and production switches.
  NEXUS_MAX_TOKENS: intIn(1, 1_000_000).default(5000),
  NEXUS_MAX_DEPTH: intIn(1, 1000).default(15),
  NEXUS_MAX_ALIASES: intIn(0, 10_000).default(20),
  NEXUS_MAX_DIRECTIVES: intIn(0, 10_000).default(20),
  NEXUS_MAX_COST: intIn(1, 100_000_000).default(20_000),
  NEXUS_MAX_BODY_BYTES: intIn(1024, 1024 * 1024 * 1024).default(16 * 1024 * 1024),
  NEXUS_RATE_LIMIT_PER_MINUTE: intIn(0, 100_000_000).default(1200),
  NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE: intIn(0, 100_000_000).default(120),
  NEXUS_SIGNUP_RATE_LIMIT_PER_HOUR: intIn(0, 100_000_000).default(20),
  NEXUS_TRUST_PROXY: flag.optional(),
  NEXUS_SIGNUP: z.enum(['open', 'invite', 'closed']).optional(),
  NEXUS_INTROSPECTION: flag.optional(),
  NEXUS_CORS_ORIGINS: z
    .string()
    .refine((v) => v.split(',').every((o) => o.trim() === '*' || /^https?:\/\/[^/\s]+$/.test(o.trim())), 'must be * or a comma-separated list of origins such as https://app.example.com')
    .optional(),
  // Operations: Prometheus /metrics behind a bearer secret on the main port, and/or on a port of its own (main.ts).
  NEXUS_METRICS_TOKEN: z.string().regex(/^[\x21-\x7e]{16,512}$/, 'must be 16 to 512 printable ASCII characters without spaces').optional(),
  NEXUS_METRICS_PORT: intIn(0, 65535).optional(),
  // Shutdown (main.ts): how long in-flight requests may take to finish after SIGTERM or SIGINT.
  NEXUS_SHUTDOWN_TIMEOUT: duration()
    .refine((ms) => ms <= 3600_000, 'must be at most 1h')
    .default(10_000),
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

/** Bounds on one GraphQL document, enforced before it runs (graphql-armor). */
export interface QueryLimits {
  readonly maxTokens: number;
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxDirectives: number;
  readonly maxCost: number;
}

/** Requests a minute per token, per client address without a valid token, and sign-ups an hour per address; 0 is off. */
export interface RateLimits {
  readonly perTokenPerMinute: number;
  readonly anonymousPerMinute: number;
  readonly signUpsPerHour: number;
}

/** How every store's full-text (BM25) index splits and normalises text; accents are always folded, case always lowered. */
export interface TextSettings {
  readonly language: (typeof TEXT_LANGUAGES)[number];
  readonly stem: boolean;
  readonly removeStopWords: boolean;
  /** simple: split on anything not a letter or digit; whitespace: on spaces only; ngram: 3-grams (for scripts without spaces). */
  readonly tokenizer: 'simple' | 'whitespace' | 'ngram';
}

/** The server-side embedder: none (text is found by BM25 only) or a server speaking OpenAI's /v1/embeddings. */
export interface EmbedderSettings {
  readonly provider: 'none' | 'openai';
  /** Base URL: requests go to `${url}/embeddings`. Set when provider is openai. */
  readonly url?: string;
  readonly model?: string;
  /** Sent as a bearer token; never logged. */
  readonly apiKey?: string;
  /** Texts per request at most. */
  readonly batchSize: number;
  /** One request's deadline, in milliseconds. */
  readonly timeoutMs: number;
  /** Further attempts after a timeout, a network error, a 429 or a 5xx. */
  readonly retries: number;
  /** Requests in flight at most, for the whole process. */
  readonly concurrency: number;
  /** Credits burnt from the tenant's wallet per text the server embeds; 0: free. */
  readonly creditsPerEmbedding: bigint;
}

export type SignUpMode = 'open' | 'invite' | 'closed';

/** Bounds (ms) on waiting for PostgreSQL, the bucket and Redis: past them a request is answered SERVICE_UNAVAILABLE. */
export interface ServiceTimeouts {
  readonly databaseMs: number;
  readonly storageMs: number;
  readonly redisMs: number;
}

/** Prometheus metrics: off (nothing is collected) unless a token or a port of their own is set. */
export interface MetricsSettings {
  /** Bearer secret for GET /metrics on the main port (401 without it); undefined: /metrics is 404 there. Never logged. */
  readonly token?: string;
  /** A port of their own, served by main.ts without a token (bind it where only the scraper reaches); undefined: none. */
  readonly port?: number;
}

// Their values are never echoed in a configuration error.
const SECRET_VARIABLES = new Set(['NEXUS_METRICS_TOKEN', 'NEXUS_EMBEDDINGS_API_KEY', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);

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
  /** How long a gateway may remember who a token is (changes drop it at once on every gateway); 0: never. */
  readonly tokenCacheSeconds: number;
  /**
   * When a store gets an ANN index (minRows 0: never), when it is optimised (rows outside the vector or the full-text
   * index), and how many partitions a query probes.
   */
  readonly index: { readonly minRows: number; readonly optimizeRows: number; readonly textOptimizeRows: number; readonly nprobes: number };
  /** How long forgotten records may stay in old versions and data files before a purge removes them (ms; 0: at once). */
  readonly cleanupWindowMs: number;
  /**
   * Live events: a tenant's events are kept for replay (Last-Event-ID, since) for retentionMs or the last
   * retentionEvents, whichever is less; a stream's queue holds at most queue events (TOO_SLOW past it); a heartbeat
   * comment goes down every idle stream each heartbeatMs.
   */
  readonly events: { readonly retentionMs: number; readonly retentionEvents: number; readonly queue: number; readonly heartbeatMs: number };
  readonly text: TextSettings;
  readonly embedder: EmbedderSettings;
  readonly graphiql: boolean;
  readonly redisUrl?: string;
  /**
   * How long a request waits for each service before it is answered SERVICE_UNAVAILABLE (ms): a connection to
   * PostgreSQL and each statement; the bucket (a request's reads or its write); a Redis command (rate limits).
   */
  readonly timeouts: ServiceTimeouts;
  readonly logLevel: string;
  readonly s3: S3Settings;
  readonly version: string;
  readonly queryLimits: QueryLimits;
  /** Largest request body read, in bytes. */
  readonly maxBodyBytes: number;
  readonly rateLimits: RateLimits;
  /** Take the client address from X-Forwarded-For (behind a proxy you run); otherwise the socket's. */
  readonly trustProxy: boolean;
  readonly signUp: SignUpMode;
  readonly introspection: boolean;
  /** Origins allowed cross-origin ('*' for any, never with credentials); empty: none. */
  readonly corsOrigins: readonly string[];
  readonly metrics: MetricsSettings;
  /** After SIGTERM or SIGINT, how long in-flight requests may take before their connections are cut (ms; 0: at once). */
  readonly shutdownTimeoutMs: number;
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
    throw new ConfigError(variable, `${issue?.message ?? 'is invalid'}${got === undefined || SECRET_VARIABLES.has(variable) ? '' : ` (got ${JSON.stringify(got.slice(0, 80))})`}`);
  }
  const v = parsed.data;
  if (v.NEXUS_EMBEDDER === 'openai') {
    for (const name of ['NEXUS_EMBEDDINGS_URL', 'NEXUS_EMBEDDINGS_MODEL'] as const) {
      if (v[name] === undefined) throw new ConfigError(name, 'is required when NEXUS_EMBEDDER is openai');
    }
  }
  if (v.NEXUS_METRICS_PORT !== undefined && v.NEXUS_METRICS_PORT !== 0 && v.NEXUS_METRICS_PORT === v.PORT) {
    throw new ConfigError('NEXUS_METRICS_PORT', `must differ from PORT (got "${v.NEXUS_METRICS_PORT}")`);
  }
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
    tokenCacheSeconds: v.NEXUS_TOKEN_CACHE_SECONDS,
    index: Object.freeze({
      minRows: v.NEXUS_INDEX_MIN_ROWS === 0 ? Number.POSITIVE_INFINITY : v.NEXUS_INDEX_MIN_ROWS,
      optimizeRows: v.NEXUS_INDEX_OPTIMIZE_ROWS,
      textOptimizeRows: v.NEXUS_TEXT_OPTIMIZE_ROWS,
      nprobes: v.NEXUS_INDEX_NPROBES,
    }),
    cleanupWindowMs: v.NEXUS_CLEANUP_WINDOW,
    events: Object.freeze({
      retentionMs: v.NEXUS_EVENT_RETENTION,
      retentionEvents: v.NEXUS_EVENT_RETENTION_EVENTS,
      queue: v.NEXUS_EVENT_QUEUE,
      heartbeatMs: v.NEXUS_EVENT_HEARTBEAT,
    }),
    text: Object.freeze({
      language: v.NEXUS_TEXT_LANGUAGE,
      stem: v.NEXUS_TEXT_STEM,
      removeStopWords: v.NEXUS_TEXT_STOP_WORDS,
      tokenizer: v.NEXUS_TEXT_TOKENIZER,
    }),
    embedder: Object.freeze({
      provider: v.NEXUS_EMBEDDER,
      url: v.NEXUS_EMBEDDINGS_URL?.replace(/\/+$/, ''),
      model: v.NEXUS_EMBEDDINGS_MODEL,
      apiKey: v.NEXUS_EMBEDDINGS_API_KEY,
      batchSize: v.NEXUS_EMBEDDINGS_BATCH,
      timeoutMs: v.NEXUS_EMBEDDINGS_TIMEOUT_MS,
      retries: v.NEXUS_EMBEDDINGS_RETRIES,
      concurrency: v.NEXUS_EMBEDDINGS_CONCURRENCY,
      creditsPerEmbedding: BigInt(v.NEXUS_EMBEDDING_CREDITS),
    }),
    graphiql: v.NEXUS_GRAPHIQL ?? !production,
    redisUrl: v.REDIS_URL,
    timeouts: Object.freeze({ databaseMs: v.NEXUS_DATABASE_TIMEOUT_MS, storageMs: v.NEXUS_STORAGE_TIMEOUT_MS, redisMs: v.NEXUS_REDIS_TIMEOUT_MS }),
    logLevel: v.LOG_LEVEL,
    s3: Object.freeze({
      region: v.AWS_REGION,
      endpoint: v.AWS_ENDPOINT_URL,
      accessKeyId: v.AWS_ACCESS_KEY_ID,
      secretAccessKey: v.AWS_SECRET_ACCESS_KEY,
      sessionToken: v.AWS_SESSION_TOKEN,
    }),
    version: NEXUS_VERSION,
    queryLimits: Object.freeze({
      maxTokens: v.NEXUS_MAX_TOKENS,
      maxDepth: v.NEXUS_MAX_DEPTH,
      maxAliases: v.NEXUS_MAX_ALIASES,
      maxDirectives: v.NEXUS_MAX_DIRECTIVES,
      maxCost: v.NEXUS_MAX_COST,
    }),
    maxBodyBytes: v.NEXUS_MAX_BODY_BYTES,
    rateLimits: Object.freeze({
      perTokenPerMinute: v.NEXUS_RATE_LIMIT_PER_MINUTE,
      anonymousPerMinute: v.NEXUS_ANONYMOUS_RATE_LIMIT_PER_MINUTE,
      signUpsPerHour: v.NEXUS_SIGNUP_RATE_LIMIT_PER_HOUR,
    }),
    trustProxy: v.NEXUS_TRUST_PROXY ?? false,
    // Production is closed by default: sign-up by invitation, no introspection, no cross-origin callers.
    signUp: v.NEXUS_SIGNUP ?? (production ? 'invite' : 'open'),
    introspection: v.NEXUS_INTROSPECTION ?? !production,
    corsOrigins: Object.freeze(v.NEXUS_CORS_ORIGINS ? v.NEXUS_CORS_ORIGINS.split(',').map((o) => o.trim()) : production ? [] : ['*']),
    metrics: Object.freeze({ token: v.NEXUS_METRICS_TOKEN, port: v.NEXUS_METRICS_PORT }),
    shutdownTimeoutMs: v.NEXUS_SHUTDOWN_TIMEOUT,
  });
}
