import type { TrainingOutcome } from '../core/index.js';
import type { JobFailure } from './job-errors.js';
import type { JobSpec, ModelStopReason } from './job-schema.js';
import type { RunEnd } from './thread-host.js';

/** What a run's end means for the job record and for BullMQ. */
export type JobOutcome =
  /** Save the model and end the job completed. */
  | { action: 'complete'; stopReason: ModelStopReason; reason: string }
  /** End the job cancelled; its checkpoint stays for a resume. */
  | { action: 'cancel'; reason: string }
  /** Back to the queue, as the same BullMQ attempt: the worker is shutting down. */
  | { action: 'requeue'; reason: string }
  /** Back to the queue as a new BullMQ attempt, from the last checkpoint. */
  | { action: 'retry'; reason: string; failure: JobFailure }
  /** End the job failed. */
  | { action: 'fail'; failure: JobFailure };

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

/** Why a run that keeps its model ended, in words for the job's last transition. */
function explanation(spec: JobSpec, outcome: TrainingOutcome, stopReason: ModelStopReason): string {
  const kept = spec.config.earlyStopping?.restoreBest && outcome.bestEpoch !== null ? `; the model keeps the weights of epoch ${outcome.bestEpoch}, its best` : '';
  const restarts = outcome.restarts > 0 ? ` after ${plural(outcome.restarts, 'fresh start')}` : '';
  const at = `at epoch ${outcome.epochsCompleted} of ${spec.config.epochs}${restarts}`;
  switch (stopReason) {
    case 'stopped':
      return `stopped on request ${at}${kept}; POST /jobs/${spec.id}/resume trains on from here`;
    case 'max_runtime':
      return `stopped after maxRuntimeSeconds (${spec.maxRuntimeSeconds} s) ${at}${kept}; POST /jobs/${spec.id}/resume trains on from here`;
    case 'early_stopped':
      return `stopped ${at}: the validation loss had stopped improving${kept}`;
    case 'converged':
      return `converged ${at}: the training loss had stopped improving${kept}`;
    case 'completed':
      return `ran all ${plural(spec.config.epochs, 'epoch')}${restarts}${kept}`;
  }
}

/**
 * The one decision of what a run's end means: a pure function of how the thread ended and how
 * many BullMQ attempts are left, so every path is tested without a thread or a queue.
 */
export function decideOutcome(spec: JobSpec, end: RunEnd, attemptsLeft: number): JobOutcome {
  if (end.kind === 'failed') {
    const { failure } = end;
    if (failure.retryable && attemptsLeft > 0) return { action: 'retry', reason: `${failure.message}; retrying from the last checkpoint`, failure };
    return { action: 'fail', failure };
  }
  const { outcome, stopCause } = end;
  switch (stopCause) {
    case 'shutdown':
      return { action: 'requeue', reason: 'the worker shut down; the job resumes from its checkpoint' };
    case 'cancel':
      return { action: 'cancel', reason: `cancelled during epoch ${outcome.epochsCompleted + 1}; its checkpoint is kept, so POST /jobs/${spec.id}/resume can continue it` };
    case 'stop':
    case 'max_runtime': {
      const stopReason = stopCause === 'stop' ? 'stopped' : 'max_runtime';
      return { action: 'complete', stopReason, reason: explanation(spec, outcome, stopReason) };
    }
    case null: {
      const stopReason = outcome.reason === 'stopped' ? 'completed' : outcome.reason;
      return { action: 'complete', stopReason, reason: explanation(spec, outcome, stopReason) };
    }
  }
}
