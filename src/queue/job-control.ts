import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisKeys } from '../storage/redis.js';
import type { JobStore } from './job-store.js';
import { requestStop, type RequestedStop } from './stop-cause.js';

interface StopMessage {
  jobId: string;
  cause: RequestedStop;
}

/**
 * How a cancel or stop reaches the training thread, in one hop: the API records the request on
 * the job (so a worker that misses the message still sees it when the job starts) and publishes
 * it; the worker that runs the job writes the cause into that job's stop flag, a shared Int32 the
 * trainer reads before every batch. A shutdown writes the same flag for every running job.
 */
export async function sendStop(redis: Redis, keys: RedisKeys, jobs: JobStore, jobId: string, cause: RequestedStop): Promise<void> {
  await jobs.requestStop(jobId, cause);
  const message: StopMessage = { jobId, cause };
  await redis.publish(keys.stopChannel, JSON.stringify(message));
}

/** The worker's side: the stop flags of the jobs it runs, and the subscription that sets them. */
export class JobControl {
  private readonly flags = new Map<string, Int32Array>();

  constructor(private readonly subscriber: Redis, private readonly keys: RedisKeys, private readonly log: Logger) {
    subscriber.on('message', (_channel: string, text: string) => {
      const { jobId, cause } = JSON.parse(text) as StopMessage;
      const flag = this.flags.get(jobId);
      if (!flag) return;
      requestStop(flag, cause);
      log.info({ jobId, cause }, 'stop requested');
    });
  }

  async listen(): Promise<void> {
    await this.subscriber.subscribe(this.keys.stopChannel);
  }

  running(jobId: string, flag: Int32Array): void {
    this.flags.set(jobId, flag);
  }

  ended(jobId: string): void {
    this.flags.delete(jobId);
  }

  /** Every running job stops at its next batch, checkpoints, and goes back to the queue. */
  shutdownAll(): void {
    for (const [jobId, flag] of this.flags) {
      requestStop(flag, 'shutdown');
      this.log.info({ jobId }, 'stopping for shutdown');
    }
  }
}
