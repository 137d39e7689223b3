import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  NoSuchKey,
  NotFound,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable, Transform } from 'node:stream';
import { assertValidKey, assertValidPrefix, BlobNotFoundError, StorageUnavailableError, type BlobStore, type ByteRange } from './blob-store.js';

/** S3's smallest part but the last; a stream is cut into parts of this size and each is sent (and retried) whole. */
export const S3_PART_BYTES = 8 * 1024 * 1024;
/** Parts of one upload in flight at once: memory held is about this times S3_PART_BYTES. */
const S3_PARTS_IN_FLIGHT = 4;

export interface S3BlobStoreOptions {
  bucket: string;
  /** Prepended to every key, without a leading slash; empty or ending in "/". */
  prefix: string;
  /** Empty means the SDK's own choice (AWS); set it for MinIO, R2, Ceph or s3rver. */
  endpoint?: string;
  region: string;
  /** Unset, the SDK's default chain finds them. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Time to connect and time for a request to answer, before it counts as failed and is retried. */
  timeoutMs: number;
  /** Attempts per request, with the SDK's exponential backoff and jitter between them. */
  maxAttempts: number;
}

/** The SDK names a missing object NoSuchKey on GET and NotFound on HEAD. */
function isMissing(error: unknown): boolean {
  return error instanceof NoSuchKey || error instanceof NotFound;
}

/**
 * Blobs as objects in one S3-compatible bucket under a key prefix. A put is one PutObject for a
 * small body, or a multipart upload that S3 makes visible only when it completes, so a reader sees
 * the old object or the new one, never a part; a failed stream aborts the upload and leaves nothing.
 * Every SDK failure but a missing key becomes StorageUnavailableError (503 at the API; a job waits).
 */
export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    const config: S3ClientConfig = {
      region: options.region,
      maxAttempts: options.maxAttempts,
      requestHandler: { connectionTimeout: options.timeoutMs, requestTimeout: options.timeoutMs, throwOnRequestTimeout: true },
      // The default CRC32 trailers of newer SDKs are not understood by every S3-compatible server.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(options.endpoint && { endpoint: options.endpoint, forcePathStyle: true }),
      ...(options.credentials && { credentials: options.credentials }),
    };
    this.client = new S3Client(config);
  }

  async put(key: string, body: Readable | Uint8Array): Promise<{ bytes: number }> {
    assertValidKey(key);
    let bytes = 0;
    let sourceError: Error | null = null;
    const counted = body instanceof Uint8Array ? body : body.pipe(new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    }));
    // A failing source must fail the upload: pipe() alone would leave the counter waiting forever.
    if (!(body instanceof Uint8Array)) {
      body.once('error', (error) => {
        sourceError = error;
        (counted as Transform).destroy(error);
      });
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.objectKey(key), Body: counted },
      partSize: S3_PART_BYTES,
      queueSize: S3_PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    try {
      await this.call('put', key, () => upload.done());
    } catch (error) {
      // The body's own failure (a client that went away) is not an S3 outage.
      throw sourceError ?? error;
    }
    return { bytes: body instanceof Uint8Array ? body.length : bytes };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    const output = await this.call('get', key, () => this.client.send(new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ...(range && { Range: `bytes=${range.start}-${range.end - 1}` }),
    })));
    return output.Body as Readable;
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.call('delete', key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) })));
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    return (await this.objectsUnder(prefix)).map(({ key }) => key).sort();
  }

  /**
   * S3 shows an object only once its upload completes, so there are no half-written blobs to find:
   * only the temporary blobs under `prefixes` that a crashed writer left.
   */
  async sweep(prefixes: readonly string[], before: Date): Promise<number> {
    prefixes.forEach(assertValidPrefix);
    let removed = 0;
    for (const prefix of prefixes) {
      for (const { key, written } of await this.objectsUnder(prefix)) {
        if (written >= before) continue;
        await this.delete(key);
        removed++;
      }
    }
    return removed;
  }

  private async objectsUnder(prefix: string): Promise<{ key: string; written: Date }[]> {
    const objects: { key: string; written: Date }[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.call('list', prefix, () => this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: this.objectKey(prefix), ContinuationToken: token,
      })));
      for (const object of page.Contents ?? []) {
        if (object.Key) objects.push({ key: object.Key.slice(this.prefix.length), written: object.LastModified ?? new Date(0) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  private objectKey(key: string): string {
    return this.prefix + key;
  }

  /** One S3 call, its failures in our vocabulary. */
  private async call<T>(operation: string, key: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (isMissing(error)) throw new BlobNotFoundError(key);
      const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new StorageUnavailableError(`S3 ${operation} of "${key}" in bucket ${this.bucket} failed: ${cause}`, { cause: error });
    }
  }
}
