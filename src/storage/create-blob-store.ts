import { storageLocation, type AppConfig } from '../config.js';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';

/** The one place the API and the workers get their store from: files under DATA_DIR, or S3 from STORAGE_URL. */
export function createBlobStore(config: AppConfig): BlobStore {
  const location = storageLocation(config);
  if (location.kind === 'file') return new FsBlobStore(location.root);
  return new S3BlobStore({
    bucket: location.bucket,
    prefix: location.prefix,
    region: config.AWS_REGION,
    ...(config.AWS_ENDPOINT_URL && { endpoint: config.AWS_ENDPOINT_URL }),
    ...(config.AWS_ACCESS_KEY_ID && config.AWS_SECRET_ACCESS_KEY && {
      credentials: { accessKeyId: config.AWS_ACCESS_KEY_ID, secretAccessKey: config.AWS_SECRET_ACCESS_KEY },
    }),
    timeoutMs: config.STORAGE_TIMEOUT_MS,
    maxAttempts: config.STORAGE_MAX_ATTEMPTS,
  });
}
