import type { EpochReport, LearningRateSearch, RestartReport, StepReport, TrainingConfig, TrainingOutcome } from '../core/index.js';
import type { JobFailure } from './job-errors.js';
import type { StopCause } from './stop-cause.js';

/** What the training thread is started with; byte arrays are transferred, not copied. */
export interface TrainingThreadInput {
  /** The job's config; on a resume, its epochs override the checkpoint's. */
  config: TrainingConfig;
  /** Datasets in the compact on-disk format. */
  train: Uint8Array;
  validation: Uint8Array | null;
  /** Fraction of `train` held out for validation when there is no validation dataset. */
  validationSplit: number;
  /** A checkpoint to resume from, or null to start fresh. */
  checkpoint: Uint8Array | null;
  /** A model snapshot whose weights a fresh start begins from (fromModelId), or null for a fresh init. */
  warmStart: Uint8Array | null;
  /** The job's stop flag (see stop-cause.ts). */
  stopFlag: SharedArrayBuffer;
  /** Wall-clock time (ms since the epoch) after which the run stops and keeps its model; null for no limit. */
  deadlineMs: number | null;
  stepReportEvery: number;
  /** Least time between two posted epochs (steps: a fifth of it), and between two checkpoints; 0 posts every one. */
  progressIntervalMs: number;
  checkpointIntervalMs: number;
  threads: number;
}

/** A checkpoint with the point of the run it resumes from, so nobody has to parse its header for them. */
export interface CheckpointBytes {
  bytes: Uint8Array;
  epoch: number;
  step: number;
}

/** Every message the training thread posts, tagged by `type`. */
export type TrainingThreadMessage =
  | {
    type: 'started'; kernels: string; epochsCompleted: number; stepsPerEpoch: number; trainCount: number; validationCount: number;
    /** The range test's result on a fresh start with learningRate "auto"; null otherwise and on a resume. */
    learningRateSearch: LearningRateSearch | null;
  }
  | { type: 'step'; report: StepReport }
  /**
   * The epochs since the last post, in order, posted at most every progressIntervalMs, with a
   * checkpoint after the last at most every checkpointIntervalMs.
   */
  | { type: 'epoch'; reports: EpochReport[]; checkpoint: CheckpointBytes | null }
  | { type: 'restarted'; restart: RestartReport }
  /** The run's end: the model it keeps and, when it stopped before its end, a checkpoint to resume from. */
  | { type: 'finished'; outcome: TrainingOutcome; stopCause: StopCause | null; model: Uint8Array; checkpoint: CheckpointBytes | null }
  | { type: 'failed'; failure: JobFailure };

/** The messages that report progress, as opposed to the two that end a run. */
export type ProgressMessage = Exclude<TrainingThreadMessage, { type: 'finished' | 'failed' }>;
