import { InvalidConfigError, SnapshotFormatError, Trainer, TrainingDivergedError, type Dataset, type EpochReport } from '../core/index.js';
import { chooseKernels, type ChosenKernels } from '../kernels/choose-kernels.js';
import { DatasetFileError, decodeDataset } from '../data/dataset-file.js';
import { splitDataset } from '../data/split.js';
import { STOP_FLAG, type StopCause, type ThreadFailure, type TrainingThreadInput, type TrainingThreadMessage } from './thread-messages.js';

export type PostMessage = (message: TrainingThreadMessage, transfer?: ArrayBuffer[]) => void;

/** Steps are posted up to this many times as often as epochs: the loss curve moves between epochs. */
const STEPS_PER_EPOCH_POST = 5;

function datasetsOf(input: TrainingThreadInput): { train: Dataset; validation: Dataset | null } {
  const train = decodeDataset(input.train);
  if (input.validation) return { train, validation: decodeDataset(input.validation) };
  if (input.validationSplit > 0) return splitDataset(train, input.validationSplit, input.config.seed);
  return { train, validation: null };
}

/** Turns whatever training threw into words for a person, and says whether a retry could help. */
export function describeFailure(error: unknown): ThreadFailure {
  if (error instanceof TrainingDivergedError) {
    return { code: 'TRAINING_DIVERGED', message: error.message, advice: error.advice, retryable: false, diagnostics: error.diagnostics };
  }
  if (error instanceof InvalidConfigError) {
    return { code: 'INVALID_CONFIG', message: error.message, advice: `Change "${error.field}" and submit a new job.`, retryable: false };
  }
  if (error instanceof DatasetFileError) {
    return { code: 'BAD_DATASET', message: `The stored dataset cannot be read: ${error.message}`, advice: 'Upload the dataset again and submit a new job.', retryable: false };
  }
  if (error instanceof SnapshotFormatError) {
    return { code: 'BAD_CHECKPOINT', message: `The checkpoint cannot be resumed: ${error.message}`, advice: 'Submit the job again to train from the start.', retryable: false };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'TRAINING_CRASHED', message: `Training stopped unexpectedly: ${message}`, advice: 'The job is retried from its last checkpoint; if it keeps failing, report it with the job id.', retryable: true };
}

/**
 * The body of the training thread: decode the datasets, start or resume the trainer, and
 * post a tagged message for every step report, every epoch (with its checkpoint) and the end.
 */
export async function runTraining(input: TrainingThreadInput, post: PostMessage): Promise<void> {
  const stopFlag = new Int32Array(input.stopFlag);
  let kernels: ChosenKernels | null = null;
  try {
    const { train, validation } = datasetsOf(input);
    kernels = await chooseKernels({ threads: input.threads });
    const options = { kernels: kernels.kernels, stepReportEvery: input.stepReportEvery };
    const trainer = input.checkpoint
      ? Trainer.resume(input.checkpoint, train, validation, options)
      : new Trainer(input.config, train, validation, options);
    post({
      type: 'started',
      kernels: kernels.description,
      epochsCompleted: trainer.epochsCompleted,
      stepsPerEpoch: trainer.stepsPerEpoch,
      trainCount: train.count,
      validationCount: validation?.count ?? 0,
      learningRateSearch: trainer.learningRateSearch,
    });

    let deadlinePassed = false;
    let lastStepPost = -Infinity;
    let lastEpochPost = -Infinity;
    let lastCheckpoint = -Infinity;
    let pendingEpoch: EpochReport | null = null;
    // A run on 4 samples ends an epoch every few microseconds: posting each, with a checkpoint and its
    // Redis writes, would spend seconds on bookkeeping for milliseconds of arithmetic. The last epoch is always posted.
    const stepInterval = input.progressIntervalMs / STEPS_PER_EPOCH_POST;
    const outcome = trainer.run({
      onStep: (report) => {
        const now = performance.now();
        if (now - lastStepPost < stepInterval && report.step > 1) return;
        lastStepPost = now;
        post({ type: 'step', report });
      },
      onEpoch: (report) => {
        const now = performance.now();
        pendingEpoch = report;
        if (now - lastEpochPost < input.progressIntervalMs) return;
        lastEpochPost = now;
        pendingEpoch = null;
        if (now - lastCheckpoint < input.checkpointIntervalMs) {
          post({ type: 'epoch', report, checkpoint: null });
          return;
        }
        lastCheckpoint = now;
        const checkpoint = trainer.checkpoint();
        post({ type: 'epoch', report, checkpoint }, [checkpoint.buffer as ArrayBuffer]);
      },
      onRestart: (restart) => post({ type: 'restarted', restart }),
      shouldStop: () => {
        if (Atomics.load(stopFlag, 0) !== STOP_FLAG.run) return true;
        deadlinePassed = input.deadlineMs !== null && Date.now() >= input.deadlineMs;
        return deadlinePassed;
      },
    });

    if (pendingEpoch) post({ type: 'epoch', report: pendingEpoch, checkpoint: null });
    const flag = Atomics.load(stopFlag, 0);
    const stopCause: StopCause | null = outcome.reason !== 'stopped' ? null
      : deadlinePassed ? 'max_runtime' : flag === STOP_FLAG.cancel ? 'cancel' : 'shutdown';
    const model = trainer.modelSnapshot();
    const checkpoint = outcome.reason === 'stopped' ? trainer.checkpoint() : null;
    const transfer = [model.buffer, ...(checkpoint ? [checkpoint.buffer] : [])] as ArrayBuffer[];
    post({ type: 'finished', outcome, stopCause, model, checkpoint }, transfer);
  } catch (error) {
    post({ type: 'failed', failure: describeFailure(error) });
  } finally {
    kernels?.dispose();
  }
}
