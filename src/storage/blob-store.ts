import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';

/** Half-open byte range [start, end) of a blob. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where datasets, checkpoints and model snapshots live. Kept this small so an
 * S3-compatible store can implement it for workers on several machines.
 */
export interface BlobStore {
  /** Writes the whole body atomically: readers see the old blob or the new one, never a part. */
  put(key: string, body: Readable | Uint8Array): Promise<{ bytes: number }>;
  /** Throws BlobNotFoundError when the key does not exist. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Keys that start with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * Removes what crashed writers left, last written before `before`: half-written blobs of any
   * key, and whole blobs under `prefixes` (temporary by nature). Answers how many went.
   */
  sweep(prefixes: readonly string[], before: Date): Promise<number>;
}

export class BlobNotFoundError extends Error {
  override readonly name = 'BlobNotFoundError';
  constructor(readonly key: string) {
    super(`No blob has the key "${key}"`);
  }
}

/** The store did not answer, or refused for a reason other than a missing key: the API answers 503 and a job waits for it. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
}

export class InvalidBlobKeyError extends Error {
  override readonly name = 'InvalidBlobKeyError';
}

const MAX_KEY_LENGTH = 256;
/** Segments start with a letter or digit, so "." and ".." can never appear. */
const KEY_PATTERN = /^[a-z0-9][a-z0-9_.-]*(\/[a-z0-9][a-z0-9_.-]*)*$/i;
const PREFIX_PATTERN = /^([a-z0-9][a-z0-9_.-]*\/?)*$/i;

/** Keys are built by our code from generated ids; anything else is refused before it nears a path. */
export function assertValidKey(key: string): void {
  if (key.length > MAX_KEY_LENGTH || !KEY_PATTERN.test(key) || key.endsWith('.tmp')) {
    throw new InvalidBlobKeyError(`Invalid blob key "${key}"`);
  }
}

export function assertValidPrefix(prefix: string): void {
  if (prefix.length > MAX_KEY_LENGTH || !PREFIX_PATTERN.test(prefix)) {
    throw new InvalidBlobKeyError(`Invalid blob key prefix "${prefix}"`);
  }
}

export async function readBlob(store: BlobStore, key: string, range?: ByteRange): Promise<Buffer> {
  return buffer(await store.get(key, range));
}
