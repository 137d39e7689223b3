import { z } from 'zod';

const MEGABYTE = 1024 * 1024;
/** `file://` and a path, or `s3://` and a bucket name (S3's rules), optionally `/prefix`. */
const STORAGE_URL_PATTERN = /^(file:\/\/\/.+|s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[a-zA-Z0-9_.\/-]*)?)$/;
/** The most kernel threads a job may ask for when TRAINING_THREADS does not set the cap. */
export const MAX_TRAINING_THREADS = 64;

/** `"true"`/`"false"` from the environment; z.coerce.boolean() would read "false" as true. */
const envBoolean = z.enum(['true', 'false']).transform((value) => value === 'true');

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
  /** When set, every route except health, readiness, metrics and docs needs `Authorization: Bearer <key>`. */
  API_KEY: z.string().min(16).optional(),

  MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(256 * MEGABYTE),
  MAX_DECOMPRESSED_BYTES: z.coerce.number().int().positive().default(512 * MEGABYTE),
  MAX_JSON_BODY_BYTES: z.coerce.number().int().positive().default(4 * MEGABYTE),

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
}).transform((config) => ({
  ...config,
  DEFAULT_RUNTIME_SECONDS: Math.min(config.DEFAULT_RUNTIME_SECONDS, config.MAX_RUNTIME_SECONDS),
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
