import { Worker as Thread } from 'node:worker_threads';
import type { TrainingOutcome } from '../core/index.js';
import { jobFailure, type JobFailure } from './job-errors.js';
import { requestStop, type StopCause } from './stop-cause.js';
import type { CheckpointBytes, ProgressMessage, TrainingThreadInput, TrainingThreadMessage } from './thread-messages.js';

const THREAD_ENTRY_URL = new URL('./thread-entry.js', import.meta.url);

/** How a run in the training thread ended, once every message before it has been handled. */
export type RunEnd =
  | { kind: 'finished'; outcome: TrainingOutcome; stopCause: StopCause | null; model: Uint8Array; checkpoint: CheckpointBytes | null }
  | { kind: 'failed'; failure: JobFailure };

/**
 * Starts the training thread and hands its progress messages to `onProgress` one at a time, in
 * the order they were posted. Resolves with exactly one RunEnd once the thread has exited and
 * every message before its end is handled. A handler that throws (Redis or storage gone) stops
 * the thread at its next batch as a shutdown, and the run ends as a retryable crash.
 */
export function hostTrainingThread(input: TrainingThreadInput, onProgress: (message: ProgressMessage) => Promise<void>): Promise<RunEnd> {
  const transfer = [input.train, input.validation, input.checkpoint, input.warmStart].flatMap((bytes) => (bytes ? [bytes.buffer as ArrayBuffer] : []));
  const thread = new Thread(THREAD_ENTRY_URL, { workerData: input, transferList: transfer });
  const stopFlag = new Int32Array(input.stopFlag);
  let handled: Promise<void> = Promise.resolve();
  let end: RunEnd | null = null;
  let progressLost = false;
  const crashed = (message: string) => {
    end ??= { kind: 'failed', failure: jobFailure('TRAINING_CRASHED', message) };
  };

  thread.on('message', (message: TrainingThreadMessage) => {
    handled = handled.then(async () => {
      if (message.type === 'finished') {
        const { type: _finished, ...run } = message;
        end ??= { kind: 'finished', ...run };
      } else if (message.type === 'failed') end ??= { kind: 'failed', failure: message.failure };
      else if (!progressLost) await onProgress(message);
    }).catch((error: unknown) => {
      progressLost = true;
      requestStop(stopFlag, 'shutdown');
      crashed(`Progress could not be saved: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  thread.on('error', (error) => crashed(`The training thread crashed: ${error.message}`));
  return new Promise((resolve) => {
    thread.on('exit', (code) => {
      void handled.then(() => {
        crashed(`The training thread exited with code ${code} before finishing`);
        resolve(end!);
      });
    });
  });
}
