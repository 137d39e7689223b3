import { Piscina } from 'piscina';
import type { Evaluation } from '../core/index.js';
import { AppError } from '../errors.js';
import type { EvaluationThreadInput } from './evaluation-messages.js';

const EVALUATION_THREAD_URL = new URL('./evaluation-thread.js', import.meta.url);
/** What a client that found the pool full is told to wait before trying again. */
const BUSY_RETRY_AFTER_SECONDS = 5;
/** Piscina's errors for a task that finds every thread busy and no room left to wait. */
const POOL_FULL = new Set(['Task queue is at limit', 'No task queue available and all Workers are busy']);

export interface EvaluationPoolOptions {
  threads: number;
  /** Evaluations that may wait for a thread; one more is refused with 503. */
  queueLimit: number;
}

/**
 * A fixed pool of evaluation threads that live as long as the API, each with the fast kernels
 * chosen once (piscina: a kept worker pool with a bounded queue). Evaluations beyond the
 * threads and the queue get 503 with Retry-After; one whose model or data cannot be read gets 422.
 */
export class EvaluationPool {
  private readonly pool: Piscina<EvaluationThreadInput, Evaluation>;

  constructor(options: EvaluationPoolOptions) {
    this.pool = new Piscina({
      filename: EVALUATION_THREAD_URL.href,
      minThreads: 0,
      maxThreads: options.threads,
      maxQueue: options.queueLimit,
      idleTimeout: 60_000,
    });
  }

  async run(input: EvaluationThreadInput): Promise<Evaluation> {
    try {
      return await this.pool.run(input, { transferList: [input.model.buffer as ArrayBuffer, input.dataset.buffer as ArrayBuffer] });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (POOL_FULL.has(message)) throw this.busy();
      throw new AppError('EVALUATION_FAILED', `The evaluation could not read its model or dataset: ${message}`);
    }
  }

  private busy(): AppError {
    return new AppError(
      'EVALUATION_BUSY',
      `${this.pool.options.maxThreads} evaluation thread(s) are busy and ${this.pool.queueSize} evaluations are waiting; try again in ${BUSY_RETRY_AFTER_SECONDS} s`,
      { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS },
    );
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
