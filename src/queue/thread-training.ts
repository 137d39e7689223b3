import { decodeSnapshot, InvalidConfigError, SnapshotFormatError, Trainer, TrainingDivergedError, type Dataset, type EpochReport, type StepReport } from '../core/index.js';
import { DatasetFileError, decodeDataset } from '../data/dataset-file.js';
import { splitDataset } from '../data/split.js';
import { chooseKernels, type ChosenKernels } from '../kernels/choose-kernels.js';
import { jobFailure, type JobFailure } from './job-errors.js';
import { requestStop, stopCauseOf } from './stop-cause.js';
import type { CheckpointBytes, TrainingThreadInput, TrainingThreadMessage } from './thread-messages.js';

export type PostMessage = (message: TrainingThreadMessage, transfer?: ArrayBuffer[]) => void;

/** Steps are posted up to this many times as often as epochs: the loss curve moves between epochs. */
const STEPS_PER_EPOCH_POST = 5;
/**
 * Every epoch of a run's first this many is recorded, posted together once per progress interval;
 * after them only the latest at each interval is, so a run of millions of tiny epochs does not
 * write millions of records. A sweep's rungs and a model's kept epoch lie well within them.
 */
const EPOCHS_ALL_RECORDED = 1000;

function datasetsOf(input: TrainingThreadInput): { train: Dataset; validation: Dataset | null } {
  const train = decodeDataset(input.train);
  if (input.validation) return { train, validation: decodeDataset(input.validation) };
  if (input.validationSplit > 0) return splitDataset(train, input.validationSplit, input.config.seed);
  return { train, validation: null };
}

/** Turns whatever training threw into words for a person, with the catalogue's code. */
export function describeFailure(error: unknown): JobFailure {
  if (error instanceof TrainingDivergedError) return jobFailure('TRAINING_DIVERGED', error.message, { advice: error.advice, diagnostics: error.diagnostics });
  if (error instanceof InvalidConfigError) return jobFailure('INVALID_CONFIG', error.message, { advice: `Change "${error.field}" and submit a new job.` });
  if (error instanceof DatasetFileError) return jobFailure('BAD_DATASET', `The stored dataset cannot be read: ${error.message}`);
  if (error instanceof SnapshotFormatError) return jobFailure('BAD_CHECKPOINT', `The checkpoint cannot be resumed: ${error.message}`);
  return jobFailure('TRAINING_CRASHED', `Training stopped unexpectedly: ${error instanceof Error ? error.message : String(error)}`);
}

function checkpointOf(trainer: Trainer): CheckpointBytes {
  return { bytes: trainer.checkpoint(), epoch: trainer.epochsCompleted, step: trainer.stepsTaken };
}

function startTrainer(input: TrainingThreadInput, train: Dataset, validation: Dataset | null, kernels: ChosenKernels): Trainer {
  const options = { kernels: kernels.kernels, stepReportEvery: input.stepReportEvery };
  if (input.checkpoint) return Trainer.resume(input.checkpoint, train, validation, options, { epochs: input.config.epochs });
  const initialParams = input.warmStart ? decodeSnapshot(input.warmStart).sections.params : undefined;
  return new Trainer(input.config, train, validation, { ...options, initialParams });
}

/**
 * The body of the training thread: decode the datasets, start, warm-start or resume the
 * trainer, and post a tagged message for step reports, epochs (with a checkpoint now and then)
 * and the end. Posting is paced by time: a run on 4 samples ends an epoch every few
 * microseconds, and a message for each would spend seconds on bookkeeping for milliseconds of
 * arithmetic. The last step and epoch are always posted, so a run that blows up shows it.
 */
export async function runTraining(input: TrainingThreadInput, post: PostMessage): Promise<void> {
  const stopFlag = new Int32Array(input.stopFlag);
  let kernels: ChosenKernels | null = null;
  let pendingStep: StepReport | null = null;
  let pendingEpochs: EpochReport[] = [];
  const flushPending = () => {
    if (pendingStep) post({ type: 'step', report: pendingStep });
    if (pendingEpochs.length > 0) post({ type: 'epoch', reports: pendingEpochs, checkpoint: null });
    pendingStep = null;
    pendingEpochs = [];
  };
  try {
    const { train, validation } = datasetsOf(input);
    kernels = await chooseKernels({ threads: input.threads });
    const trainer = startTrainer(input, train, validation, kernels);
    post({
      type: 'started',
      kernels: kernels.description,
      epochsCompleted: trainer.epochsCompleted,
      stepsPerEpoch: trainer.stepsPerEpoch,
      trainCount: train.count,
      validationCount: validation?.count ?? 0,
      learningRateSearch: input.checkpoint ? null : trainer.learningRateSearch,
    });

    let lastStepPost = -Infinity;
    let lastEpochPost = -Infinity;
    let lastCheckpoint = performance.now();
    const stepInterval = input.progressIntervalMs / STEPS_PER_EPOCH_POST;
    const outcome = trainer.run({
      onStep: (report) => {
        const now = performance.now();
        pendingStep = report;
        if (now - lastStepPost < stepInterval) return;
        lastStepPost = now;
        pendingStep = null;
        post({ type: 'step', report });
      },
      onEpoch: (report) => {
        const now = performance.now();
        // Past the first EPOCHS_ALL_RECORDED, a later epoch replaces the one waiting after them,
        // never those of the first that have not been posted yet.
        if ((pendingEpochs.at(-1)?.epoch ?? 0) > EPOCHS_ALL_RECORDED) pendingEpochs[pendingEpochs.length - 1] = report;
        else pendingEpochs.push(report);
        if (now - lastEpochPost < input.progressIntervalMs) return;
        lastEpochPost = now;
        const reports = pendingEpochs;
        pendingEpochs = [];
        if (now - lastCheckpoint < input.checkpointIntervalMs) {
          post({ type: 'epoch', reports, checkpoint: null });
          return;
        }
        lastCheckpoint = now;
        const checkpoint = checkpointOf(trainer);
        post({ type: 'epoch', reports, checkpoint }, [checkpoint.bytes.buffer as ArrayBuffer]);
      },
      onRestart: (restart) => post({ type: 'restarted', restart }),
      shouldStop: () => {
        if (input.deadlineMs !== null && Date.now() >= input.deadlineMs) requestStop(stopFlag, 'max_runtime');
        return stopCauseOf(stopFlag) !== null;
      },
    });

    flushPending();
    const stopCause = outcome.reason === 'stopped' ? stopCauseOf(stopFlag) : null;
    const model = trainer.modelSnapshot();
    const checkpoint = stopCause ? checkpointOf(trainer) : null;
    const transfer = [model.buffer, ...(checkpoint ? [checkpoint.bytes.buffer] : [])] as ArrayBuffer[];
    post({ type: 'finished', outcome, stopCause, model, checkpoint }, transfer);
  } catch (error) {
    flushPending();
    post({ type: 'failed', failure: describeFailure(error) });
  } finally {
    kernels?.dispose();
  }
}
