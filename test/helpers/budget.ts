import { UploadCapacity, type MemoryBudget } from '../../src/data/upload-capacity.js';

const GIGABYTE = 1024 ** 3;

/** A memory budget for parser tests: `maxBytes` for the one upload, the same for the process. */
export function uploadBudget(maxBytes = GIGABYTE): MemoryBudget & { release(): void } {
  return new UploadCapacity({ maxConcurrent: 1, maxUploadBytes: maxBytes, maxTotalBytes: maxBytes }).admit();
}
