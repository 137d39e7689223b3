import { BlobNotFoundError, readBlob, type BlobStore } from '../storage/blob-store.js';
import type { CheckpointRecord } from './job-schema.js';
import type { JobStore } from './job-store.js';
import type { CheckpointBytes } from './thread-messages.js';

const EPOCH_DIGITS = 5;
const STEP_DIGITS = 10;

const checkpointKey = (jobId: string, epoch: number, step: number): string =>
  `checkpoints/${jobId}/${String(epoch).padStart(EPOCH_DIGITS, '0')}-${String(step).padStart(STEP_DIGITS, '0')}.ckpt`;

/**
 * A job's checkpoints: the bytes in blob storage, a record of each in the job's history, and
 * only the newest `kept` of them. A blob is written before its record is listed, so a listed
 * checkpoint can always be read, and the newest readable one is where a run resumes.
 */
export class CheckpointStore {
  constructor(private readonly blobs: BlobStore, private readonly jobs: JobStore, private readonly kept: number) {}

  /** Writes the bytes; the caller lists the record once the history up to it is written too. */
  async write(jobId: string, checkpoint: CheckpointBytes): Promise<CheckpointRecord> {
    const key = checkpointKey(jobId, checkpoint.epoch, checkpoint.step);
    await this.blobs.put(key, checkpoint.bytes);
    return { epoch: checkpoint.epoch, step: checkpoint.step, bytes: checkpoint.bytes.length, createdAt: new Date().toISOString(), key };
  }

  /** Writes and lists one in a single call, for a run's last checkpoint. */
  async add(jobId: string, checkpoint: CheckpointBytes): Promise<CheckpointRecord> {
    const record = await this.write(jobId, checkpoint);
    await this.jobs.addCheckpoint(jobId, record);
    await this.prune(jobId);
    return record;
  }

  /** Keeps the newest `kept` checkpoints and deletes the older ones' bytes. */
  async prune(jobId: string): Promise<void> {
    const dropped = await this.jobs.pruneCheckpoints(jobId, this.kept);
    await Promise.all(dropped.map(({ key }) => this.blobs.delete(key)));
  }

  /** The newest checkpoint whose bytes are still there, or null. */
  async latest(jobId: string): Promise<{ record: CheckpointRecord; bytes: Buffer } | null> {
    const records = await this.jobs.checkpoints(jobId);
    for (const record of records.reverse()) {
      try {
        return { record, bytes: await readBlob(this.blobs, record.key) };
      } catch (error) {
        if (!(error instanceof BlobNotFoundError)) throw error;
      }
    }
    return null;
  }
}
