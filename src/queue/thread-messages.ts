import type { Diagnostics, EpochReport, LearningRateSearch, RestartReport, StepReport, TrainingConfig, TrainingOutcome } from '../core/index.js';

/** Values of the shared stop flag, written by the worker's main thread and read by the trainer before every batch. */
export const STOP_FLAG = { run: 0, cancel: 1, shutdown: 2 } as const;

/** Why a run stopped before its last epoch. */
export type StopCause = 'cancel' | 'shutdown' | 'max_runtime';

/** What the training thread is started with; byte arrays are transferred, not copied. */
export interface TrainingThreadInput {
  config: TrainingConfig;
  /** Datasets in the compact on-disk format. */
  train: Uint8Array;
  validation: Uint8Array | null;
  /** Fraction of `train` held out for validation when there is no validation dataset. */
  validationSplit: number;
  /** A checkpoint to resume from, or null to start fresh. */
  checkpoint: Uint8Array | null;
  /** One Int32 holding a STOP_FLAG value. */
  stopFlag: SharedArrayBuffer;
  /** Wall-clock time (ms since the epoch) after which the run stops and keeps its model; null for no limit. */
  deadlineMs: number | null;
  stepReportEvery: number;
  /** Least time between two posted epochs (steps: a fifth of it), and between two checkpoints; 0 posts every one. */
  progressIntervalMs: number;
  checkpointIntervalMs: number;
  threads: number;
}

/** Why training failed, in words for a person, and whether retrying could help. */
export interface ThreadFailure {
  code: 'TRAINING_DIVERGED' | 'INVALID_CONFIG' | 'BAD_DATASET' | 'BAD_CHECKPOINT' | 'TRAINING_CRASHED';
  message: string;
  advice: string;
  /** False when the same inputs would fail the same way again. */
  retryable: boolean;
  /** What the run measured up to the failure, with the ranked diagnosis, when training itself went wrong. */
  diagnostics?: Diagnostics;
}

/** Every message the training thread posts, tagged by `type`. */
export type TrainingThreadMessage =
  | {
    type: 'started'; kernels: string; epochsCompleted: number; stepsPerEpoch: number; trainCount: number; validationCount: number;
    /** The range test's result on a fresh start with learningRate "auto"; null otherwise and on a resume. */
    learningRateSearch: LearningRateSearch | null;
  }
  | { type: 'step'; report: StepReport }
  /** Epochs are posted at most every progressIntervalMs, and carry a checkpoint at most every checkpointIntervalMs. */
  | { type: 'epoch'; report: EpochReport; checkpoint: Uint8Array | null }
  | { type: 'restarted'; restart: RestartReport }
  | { type: 'finished'; outcome: TrainingOutcome; stopCause: StopCause | null; model: Uint8Array; checkpoint: Uint8Array | null }
  | { type: 'failed'; failure: ThreadFailure };
