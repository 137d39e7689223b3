import { createRequire } from 'node:module';
import { z } from 'zod';

const KILOBYTE = 1024;
const MEGABYTE = 1024 * KILOBYTE;
const GIGABYTE = 1024 * MEGABYTE;

/** The service's version, as package.json gives it, for clients that ask the server what it is. */
export const SERVICE_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
/** `file://` and a path, or `s3://` and a bucket name (S3's rules), optionally `/prefix`. */
const STORAGE_URL_PATTERN = /^(file:\/\/\/.+|s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[a-zA-Z0-9_.\/-]*)?)$/;
/** The most kernel threads a job may ask for when TRAINING_THREADS does not set the cap. */
export const MAX_TRAINING_THREADS = 64;

/** `"true"`/`"false"` from the environment; z.coerce.boolean() would read "false" as true. */
const envBoolean = z.enum(['true', 'false']).transform((value) => value === 'true');

const API_KEY_MIN_LENGTH = 16;
/** Characters of base64, base64url and hex keys; none of them is a separator in API_KEYS. */
const API_KEY_PATTERN = /^[A-Za-z0-9._~+/=-]+$/;
const KEY_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const API_KEY_SCOPES = ['read', 'train', 'predict', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Messages never quote a key: they end up in terminals and logs. */
const apiKeySchema = z.string().min(API_KEY_MIN_LENGTH, `must be at least ${API_KEY_MIN_LENGTH} characters (try: openssl rand -hex 32)`);
const listedKeySchema = apiKeySchema.regex(API_KEY_PATTERN, 'may hold only letters, digits and . _ ~ + / = - (base64 or hex)');

export interface ApiKeyConfig {
  /** Names the key in messages; the key itself is never shown. */
  name: string;
  key: string;
  scopes: ApiKeyScope[];
}

const apiKeysSchema = z.string().transform((text, context) => {
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const keys: ApiKeyConfig[] = [];
  entries.forEach((entry, index) => {
    const problem = (message: string) => context.addIssue({ code: 'custom', message: `entry ${index + 1}: ${message}` });
    const [name, key, scopeText, ...rest] = entry.split(':');
    if (scopeText === undefined || rest.length > 0) return problem('write name:key:scope+scope, e.g. ci:<key>:read+train');
    if (!KEY_NAME_PATTERN.test(name)) return problem(`the name "${name.slice(0, 64)}" must be 1 to 64 letters, digits, _ or -`);
    const keyCheck = listedKeySchema.safeParse(key);
    if (!keyCheck.success) return problem(`the key of "${name}" ${keyCheck.error.issues[0].message}`);
    const scopes = scopeText.split('+');
    const unknown = scopes.find((scope) => !(API_KEY_SCOPES as readonly string[]).includes(scope));
    if (unknown !== undefined) return problem(`"${name}" has the unknown scope "${unknown.slice(0, 32)}"; scopes are ${API_KEY_SCOPES.join(', ')}`);
    if (keys.some((other) => other.name === name)) return problem(`the name "${name}" is used twice`);
    if (keys.some((other) => other.key === key)) return problem(`"${name}" repeats another entry's key`);
    keys.push({ name, key, scopes: scopes as ApiKeyScope[] });
  });
  return keys;
});

/**
 * Every setting the service reads from the environment, parsed once at start-up.
 * Names carry their units; defaults suit one machine with a local Redis.
 */
const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Unset means redis://127.0.0.1:6379 (and `npm start` may launch a private redis-server). */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Every Redis key and BullMQ queue of this deployment starts with this prefix. */
  REDIS_PREFIX: z.string().regex(/^[a-zA-Z0-9_-]+$/).default('mlp'),
  QUEUE_NAME: z.string().regex(/^[a-zA-Z0-9_-]+$/).default('training'),
  DATA_DIR: z.string().min(1).default('./data'),
  /**
   * At start-up, upload temp files and half-written blobs last written longer ago than this are
   * removed; younger ones may belong to another process sharing DATA_DIR that is still writing.
   */
  ORPHAN_AGE_MS: z.coerce.number().int().min(0).default(15 * 60_000),
  /** Where datasets, checkpoints and models live: unset is DATA_DIR; `s3://bucket/prefix` any S3-compatible store. */
  STORAGE_URL: z.string().regex(STORAGE_URL_PATTERN, 'must be file:///a/folder or s3://bucket or s3://bucket/prefix').optional(),
  /** Read by the AWS SDK too; an endpoint (MinIO, R2, Ceph, s3rver) switches to path-style bucket addressing. */
  AWS_ENDPOINT_URL: z.url({ protocol: /^https?$/ }).optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** Unset, the SDK looks further: its shared config files, SSO, an instance or task role. */
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Per S3 request: time to connect and to answer, and attempts with exponential backoff before the store counts as unavailable. */
  STORAGE_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  STORAGE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(4),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** One key with every scope: the single-key setup from before API_KEYS. */
  API_KEY: apiKeySchema.optional(),
  /** `name:key:scope+scope` entries separated by commas; scopes are read, train, predict, admin (admin implies all). */
  API_KEYS: apiKeysSchema.optional(),
  /** false: /metrics needs a key with the read scope, like the rest of the API. */
  PUBLIC_METRICS: envBoolean.default(true),

  MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(256 * MEGABYTE),
  MAX_DECOMPRESSED_BYTES: z.coerce.number().int().positive().default(512 * MEGABYTE),
  MAX_JSON_BODY_BYTES: z.coerce.number().int().positive().default(4 * MEGABYTE),
  /**
   * Memory one upload may use while it is parsed and encoded (typed arrays, JSON text), and all
   * uploads together: a 512 MiB IDX needs about 1.25 GiB at its peak (growing body, then its stored form).
   */
  MAX_UPLOAD_MEMORY_BYTES: z.coerce.number().int().positive().default(1.5 * GIGABYTE),
  MAX_UPLOADS_MEMORY_BYTES: z.coerce.number().int().positive().default(3 * GIGABYTE),
  /** Uploads received or parsed at once; more are answered 503 with Retry-After. */
  MAX_CONCURRENT_UPLOADS: z.coerce.number().int().min(1).default(4),
  /** The request line and headers together (Node's maxHeaderSize): beyond it, 431, or 414 for the request line alone. */
  MAX_HEADER_BYTES: z.coerce.number().int().min(KILOBYTE).default(16 * KILOBYTE),
  MAX_URL_BYTES: z.coerce.number().int().min(256).default(8 * KILOBYTE),

  /** The whole request, headers and body, must arrive within this (a 256 MiB upload at 1 MB/s takes about 270 s). */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).default(300_000),
  /** The request line and headers must arrive within this. */
  HEADERS_TIMEOUT_MS: z.coerce.number().int().min(500).default(10_000),
  /** A request body that sends nothing for this long is answered 408 and its connection closed. */
  BODY_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** An idle keep-alive connection is closed after this. */
  KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),

  MAX_PARAMETERS: z.coerce.number().int().positive().default(20_000_000),
  /** Work cap per job: epochs x training samples (100,000 XOR epochs are 400,000; 100 epochs of 60,000 digits are 6M). */
  MAX_TRAINING_SAMPLES: z.coerce.number().int().positive().default(100_000_000),
  MAX_RUNTIME_SECONDS: z.coerce.number().int().positive().default(24 * 60 * 60),
  /** A job's maxRuntimeSeconds when it gives none (never above MAX_RUNTIME_SECONDS). */
  DEFAULT_RUNTIME_SECONDS: z.coerce.number().int().positive().default(60 * 60),

  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /** Kernel threads per job (default and cap); unset, each worker splits its own cores evenly between its concurrent jobs. */
  TRAINING_THREADS: z.coerce.number().int().min(1).max(MAX_TRAINING_THREADS).optional(),
  /** BullMQ lock and stalled-job check: a killed worker's job is picked up again within about both. */
  JOB_LOCK_DURATION_MS: z.coerce.number().int().min(1000).default(30_000),
  JOB_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).default(30_000),
  JOB_MAX_STALLED_COUNT: z.coerce.number().int().min(1).default(5),
  /** A loss record is written to the job history every this many steps. */
  STEP_REPORT_EVERY: z.coerce.number().int().min(1).default(20),
  /**
   * Epoch records are written at most this often, and a checkpoint at most every
   * CHECKPOINT_INTERVAL_MS: a run on 4 samples ends an epoch every few microseconds. 0 records every epoch.
   */
  PROGRESS_INTERVAL_MS: z.coerce.number().int().min(0).default(250),
  CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(0).default(5_000),
  CHECKPOINTS_KEPT: z.coerce.number().int().min(1).default(2),
  MODEL_CACHE_SIZE: z.coerce.number().int().min(1).default(16),
  /** Evaluation threads in the API process, and evaluations that may wait for one before the next gets 503. */
  EVALUATION_THREADS: z.coerce.number().int().min(1).max(16).default(1),
  EVALUATION_QUEUE_LIMIT: z.coerce.number().int().min(0).default(4),
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().positive().default(24 * 60 * 60),
  SSE_HEARTBEAT_MS: z.coerce.number().int().positive().default(15_000),
  /** Serve the Swagger UI at /docs and the queue dashboard at /queues. */
  ENABLE_DASHBOARDS: envBoolean.default(true),
}).refine((config) => config.MAX_UPLOAD_MEMORY_BYTES <= config.MAX_UPLOADS_MEMORY_BYTES, {
  path: ['MAX_UPLOAD_MEMORY_BYTES'],
  message: 'must not be above MAX_UPLOADS_MEMORY_BYTES, the budget of all uploads together',
}).refine((config) => config.HEADERS_TIMEOUT_MS <= config.REQUEST_TIMEOUT_MS, {
  path: ['HEADERS_TIMEOUT_MS'],
  message: 'must not be above REQUEST_TIMEOUT_MS',
}).transform((config) => ({
  ...config,
  DEFAULT_RUNTIME_SECONDS: Math.min(config.DEFAULT_RUNTIME_SECONDS, config.MAX_RUNTIME_SECONDS),
  API_KEYS: [
    ...(config.API_KEY === undefined ? [] : [{ name: 'API_KEY', key: config.API_KEY, scopes: ['admin'] } satisfies ApiKeyConfig]),
    ...(config.API_KEYS ?? []),
  ],
}));

export type AppConfig = z.infer<typeof configSchema>;

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; a bad value stops start-up with every offending variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid environment:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/**
 * For entry points: the config, or null after the problems went to stderr as plain lines
 * (a stack trace says nothing an operator can act on). The caller exits.
 */
export function loadConfigOrReport(env: NodeJS.ProcessEnv = process.env): AppConfig | null {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return null;
  }
}

export function redisUrl(config: AppConfig): string {
  return config.REDIS_URL ?? DEFAULT_REDIS_URL;
}

export type StorageLocation = { kind: 'file'; root: string } | { kind: 's3'; bucket: string; prefix: string };

/** Where blobs live, from STORAGE_URL (whose form the schema has checked) or DATA_DIR. */
export function storageLocation(config: AppConfig): StorageLocation {
  const url = config.STORAGE_URL;
  if (!url) return { kind: 'file', root: config.DATA_DIR };
  if (url.startsWith('file://')) return { kind: 'file', root: url.slice('file://'.length) };
  const [bucket = '', ...path] = url.slice('s3://'.length).split('/');
  const prefix = path.filter(Boolean).join('/');
  return { kind: 's3', bucket, prefix: prefix && `${prefix}/` };
}
