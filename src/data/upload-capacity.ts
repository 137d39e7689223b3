import { AppError } from '../errors.js';

/** What a parser calls before it allocates, and after it lets a buffer go. */
export interface MemoryBudget {
  /** Throws UPLOAD_MEMORY_LIMIT (413) or SERVER_BUSY (503) when the bytes do not fit. */
  reserve(bytes: number, what: string): void;
  free(bytes: number): void;
}

export interface UploadCapacityOptions {
  maxConcurrent: number;
  /** What one upload may hold in memory at once while it is parsed and encoded. */
  maxUploadBytes: number;
  /** What all uploads together may hold. */
  maxTotalBytes: number;
}

/** How long a refused upload is told to wait: an upload of MNIST's size takes a few seconds. */
export const UPLOAD_RETRY_AFTER_SECONDS = 5;

const MEGABYTE = 1024 * 1024;
const megabytes = (bytes: number): string => `${Math.ceil(bytes / MEGABYTE)} MiB`;

function busy(message: string): AppError {
  return new AppError('SERVER_BUSY', `${message}; retry in ${UPLOAD_RETRY_AFTER_SECONDS} s`, { retryAfterSeconds: UPLOAD_RETRY_AFTER_SECONDS });
}

/**
 * Admits uploads up to a count, and gives each a memory budget drawn from one shared pool, so
 * the process's upload memory has a ceiling whatever arrives at once. Reservations are exact
 * byte counts made before each allocation, not sampled usage, so a burst cannot slip past.
 */
export class UploadCapacity {
  private active = 0;
  private reservedBytes = 0;

  constructor(private readonly options: UploadCapacityOptions) {}

  /** A budget for one more upload, or SERVER_BUSY when MAX_CONCURRENT_UPLOADS are running. Release it when done. */
  admit(): MemoryBudget & { release(): void } {
    const { maxConcurrent, maxUploadBytes, maxTotalBytes } = this.options;
    if (this.active >= maxConcurrent) throw busy(`${maxConcurrent} uploads are already being received or parsed`);
    this.active++;
    let held = 0;
    return {
      reserve: (bytes, what) => {
        if (held + bytes > maxUploadBytes) {
          throw new AppError(
            'UPLOAD_MEMORY_LIMIT',
            `${what} would take this upload to ${megabytes(held + bytes)} of memory; one upload may use ${megabytes(maxUploadBytes)}`,
            { maxUploadMemoryBytes: maxUploadBytes },
          );
        }
        if (this.reservedBytes + bytes > maxTotalBytes) throw busy(`the uploads in progress hold the memory this one needs for ${what}`);
        held += bytes;
        this.reservedBytes += bytes;
      },
      free: (bytes) => {
        const freed = Math.min(bytes, held);
        held -= freed;
        this.reservedBytes -= freed;
      },
      release: () => {
        this.reservedBytes -= held;
        held = 0;
        this.active--;
      },
    };
  }
}
