import { formatNumber } from './diagnostics.js';
import { InvalidConfigError } from './errors.js';
import { FLOAT32_MAX } from './float32.js';
import {
  HIDDEN_ACTIVATIONS, INITS, LOSSES, OPTIMIZERS, OUTPUT_ACTIVATIONS,
  type AugmentConfig, type EarlyStoppingConfig, type InitConfig, type OptimizerName, type TrainingConfig,
} from './types.js';

/** Learning rates that train MNIST-sized networks well with each optimizer and the default batch. */
export const DEFAULT_LEARNING_RATES: Record<OptimizerName, number> = {
  sgd: 0.1,
  momentum: 0.05,
  nesterov: 0.05,
  adam: 0.001,
};

/**
 * Without `epochs`, a run gets about this many optimizer steps (never fewer than
 * MIN_DEFAULT_EPOCHS epochs) and early stopping ends it once it has converged: XOR's 4 samples
 * get thousands of full-batch steps, 60,000 digits get 20 epochs.
 */
export const DEFAULT_STEP_BUDGET = 10_000;
export const MIN_DEFAULT_EPOCHS = 20;

/** scikit-learn's n_iter_no_change and tol, with the best epoch's weights put back. */
export const DEFAULT_EARLY_STOPPING: EarlyStoppingConfig = { patience: 10, minDelta: 1e-4, restoreBest: true };

/** Hidden layers narrower than this default to tanh: two relu units die together too easily to learn XOR. */
export const NARROW_HIDDEN_WIDTH = 8;

/**
 * Training sets up to this size get fresh starts when a run stalls before fitting them: a
 * network that can hold 4 or 400 samples but stops at 75% sits in a local minimum, and a
 * new init costs almost nothing there.
 */
export const RESTART_MAX_SAMPLES = 1_000;
export const MAX_STALL_RESTARTS = 9;

/**
 * The ranges each training option may take. checkTrainingConfig enforces them and the API's
 * request schema is built from them, so a limit is written once.
 */
export const TRAINING_LIMITS = {
  /** Layers beyond the input; deeper MLPs do not train well without tricks the core does not have. */
  maxLayers: 16,
  maxBatchSize: 4096,
  maxSeed: 2 ** 32 - 1,
  /** momentum is in [0, 1): at 1 the velocity never decays. */
  momentumBelow: 1,
  maxL2: 1,
  maxDropout: 0.9,
  maxShift: 8,
  maxRotationDegrees: 45,
  maxValidationSplit: 0.5,
  /** The kernels scale every update by it in float32, where a larger one is Infinity. */
  maxLearningRate: FLOAT32_MAX,
} as const;

/** Held out for validation when the request names no validation data, if that leaves enough samples. */
export const DEFAULT_VALIDATION_SPLIT = 0.1;
export const MIN_SAMPLES_FOR_DEFAULT_VALIDATION = 100;

/** Everything but shape, output head, init, epochs and restarts, which follow from the shape, activation and data. */
export const DEFAULT_TRAINING = {
  activation: 'relu',
  optimizer: 'momentum',
  momentum: 0.9,
  batchSize: 64,
  l2: 1e-4,
  dropout: 0,
  schedule: { kind: 'cosine', minLearningRate: 0 },
  earlyStopping: DEFAULT_EARLY_STOPPING,
  augment: null,
  seed: 1,
} as const satisfies Partial<TrainingConfig>;

export type TrainingConfigInput = Partial<TrainingConfig> & { shape: number[] };

/** What the defaults depend on in the data a run will train on. */
export interface TrainingDataFacts {
  /** Samples trained on, after any validation hold-out. */
  trainCount: number;
  /** The smallest and largest regression target, for data with targets rather than labels. */
  targetRange?: { min: number; max: number } | null;
  /** Image size, for byte images (IDX, or CSV pixels); augmentation needs both. */
  width?: number;
  height?: number;
}

/**
 * Byte images at least this wide and high are augmented by default with small shifts and
 * rotations: on 8,000 digits that is worth about a point of held-out accuracy for 784-30-10 (bench:defaults).
 */
export const MIN_AUGMENTED_IMAGE_SIDE = 16;
export const DEFAULT_IMAGE_AUGMENT: AugmentConfig = { maxShift: 2, maxRotationDegrees: 10 };

/** A default that was chosen for this job rather than taken from a table, in words for the person who submitted it. */
export const TRAINING_NOTE_CODES = [
  'EPOCHS_FROM_BUDGET', 'TANH_FOR_NARROW_LAYERS', 'AUGMENT_FOR_IMAGES', 'VALIDATION_HELD_OUT', 'NO_VALIDATION', 'CLASSES_MISSING_FROM_VALIDATION',
  'LEARNING_RATE_FOUND', 'RESTARTED', 'LINEAR_FOR_TARGETS',
] as const;

export interface TrainingNote {
  code: (typeof TRAINING_NOTE_CODES)[number];
  message: string;
}

/** The fraction held out when a request names no validation data: none for a dataset too small to spare any. */
export function defaultValidationSplit(count: number): number {
  return count >= MIN_SAMPLES_FOR_DEFAULT_VALIDATION ? DEFAULT_VALIDATION_SPLIT : 0;
}

/** Samples left for training once `split` of `count` is held out (splitDataset rounds the same way). */
export function trainingCount(count: number, split: number): number {
  return count - Math.round(count * split);
}

export function stepsPerEpoch(trainCount: number, batchSize: number): number {
  return Math.ceil(trainCount / batchSize);
}

/** Whether regression targets leave the 0..1 that a sigmoid or softmax output (a probability) can give. */
export const beyondProbabilities = (targets: { min: number; max: number }): boolean => targets.min < 0 || targets.max > 1;

/** Refuses an output head whose values cannot reach targets outside 0..1. */
function checkHeadReachesTargets(config: TrainingConfig, targets: { min: number; max: number }): void {
  const range = `the targets run from ${formatNumber(targets.min)} to ${formatNumber(targets.max)}`;
  if (config.loss === 'cross_entropy') {
    throw new InvalidConfigError('loss', `cross_entropy compares probabilities in 0..1, but ${range}: use the mse loss with a linear output`);
  }
  if (config.outputActivation !== 'linear') {
    throw new InvalidConfigError('outputActivation', `a ${config.outputActivation} output lies in 0..1, but ${range}: use a linear output`);
  }
}

/**
 * Fills in defaults and checks that the options fit together. The output head follows
 * the output width (softmax + cross-entropy for classes, sigmoid + cross-entropy for one
 * 0/1 output), the init follows the activation (He for relu, Xavier for sigmoid/tanh), and the
 * run's length and restarts follow the data. Notes say which defaults were chosen for this job.
 */
export function resolveTrainingConfig(input: TrainingConfigInput, data: TrainingDataFacts): { config: TrainingConfig; notes: TrainingNote[] } {
  checkShape(input.shape);
  const notes: TrainingNote[] = [];
  const outputs = input.shape[input.shape.length - 1];
  const narrowest = Math.min(...input.shape.slice(1, -1));
  let activation = input.activation ?? DEFAULT_TRAINING.activation;
  if (input.activation === undefined && narrowest < NARROW_HIDDEN_WIDTH) {
    activation = 'tanh';
    notes.push({
      code: 'TANH_FOR_NARROW_LAYERS',
      message: `activation is tanh, not relu, because a hidden layer has only ${narrowest} units: a few relu units easily all die and stop learning`,
    });
  }
  const optimizer = input.optimizer ?? DEFAULT_TRAINING.optimizer;
  const batchSize = input.batchSize ?? DEFAULT_TRAINING.batchSize;
  const init: InitConfig = input.init ?? { kind: activation === 'relu' || activation === 'leaky_relu' ? 'he' : 'xavier' };
  let epochs = input.epochs;
  if (epochs === undefined) {
    const steps = stepsPerEpoch(data.trainCount, batchSize);
    epochs = Math.max(MIN_DEFAULT_EPOCHS, Math.ceil(DEFAULT_STEP_BUDGET / steps));
    notes.push({
      code: 'EPOCHS_FROM_BUDGET',
      message: `up to ${epochs} epochs (${epochs * steps} steps of ${Math.min(batchSize, data.trainCount)} samples), ending early once the loss stops improving`,
    });
  }
  let augment = input.augment;
  if (augment === undefined && Math.min(data.width ?? 0, data.height ?? 0) >= MIN_AUGMENTED_IMAGE_SIDE) {
    augment = DEFAULT_IMAGE_AUGMENT;
    notes.push({
      code: 'AUGMENT_FOR_IMAGES',
      message: `each epoch sees the ${data.width}x${data.height} images shifted by up to ${augment.maxShift} pixels and rotated by up to ${augment.maxRotationDegrees}°, which generalises better; send augment: null to turn it off`,
    });
  }
  // Probabilities lie in 0..1: targets beyond it need outputs that can reach them, and a loss
  // that measures distance rather than surprise.
  const targets = data.targetRange ?? null;
  const unbounded = targets !== null && beyondProbabilities(targets);
  if (unbounded && input.outputActivation === undefined && input.loss === undefined) {
    notes.push({
      code: 'LINEAR_FOR_TARGETS',
      message: `linear outputs with the mean squared error, because the targets run from ${formatNumber(targets.min)} to ${formatNumber(targets.max)}, beyond the 0..1 of a sigmoid or softmax`,
    });
  }
  const config: TrainingConfig = {
    ...DEFAULT_TRAINING,
    outputActivation: unbounded ? 'linear' : outputs > 1 ? 'softmax' : 'sigmoid',
    loss: unbounded ? 'mse' : 'cross_entropy',
    learningRate: DEFAULT_LEARNING_RATES[optimizer],
    maxRestarts: data.trainCount <= RESTART_MAX_SAMPLES ? MAX_STALL_RESTARTS : 0,
    ...stripUndefined(input),
    shape: [...input.shape],
    activation,
    optimizer,
    init,
    epochs,
    augment: augment ?? null,
  };
  if (unbounded) checkHeadReachesTargets(config, targets);
  checkTrainingConfig(config);
  return { config, notes };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkShape(shape: unknown): asserts shape is number[] {
  if (!Array.isArray(shape) || shape.length < 2) {
    throw new InvalidConfigError('shape', 'shape needs at least an input and an output layer, e.g. [784, 800, 10]');
  }
  if (shape.length > TRAINING_LIMITS.maxLayers + 1) {
    throw new InvalidConfigError('shape', `shape may have at most ${TRAINING_LIMITS.maxLayers} layers after the input; got ${shape.length - 1}`);
  }
  shape.forEach((width, index) => {
    if (!Number.isInteger(width) || width < 1) {
      throw new InvalidConfigError('shape', `shape[${index}] must be a whole number of units ≥ 1, got ${String(width)}`);
    }
  });
}

function oneOf<T extends string>(field: string, value: string, allowed: readonly T[]): void {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InvalidConfigError(field, `${field} must be one of ${allowed.join(', ')}; got "${value}"`);
  }
}

function inRange(field: string, value: number, low: number, high: number, detail: string): void {
  if (!Number.isFinite(value) || value < low || value > high) {
    throw new InvalidConfigError(field, `${field} ${detail}; got ${value}`);
  }
}

/** Throws InvalidConfigError, naming the field, for a configuration that cannot train. */
export function checkTrainingConfig(config: TrainingConfig): void {
  checkShape(config.shape);
  oneOf('activation', config.activation, HIDDEN_ACTIVATIONS);
  oneOf('outputActivation', config.outputActivation, OUTPUT_ACTIVATIONS);
  oneOf('loss', config.loss, LOSSES);
  oneOf('optimizer', config.optimizer, OPTIMIZERS);
  oneOf('init', config.init.kind, INITS);
  const outputs = config.shape[config.shape.length - 1];
  if (config.loss === 'cross_entropy' && config.outputActivation === 'linear') {
    throw new InvalidConfigError('loss', 'cross_entropy needs probabilities: use a softmax or sigmoid output, or the mse loss with a linear output');
  }
  if (config.outputActivation === 'softmax' && outputs < 2) {
    throw new InvalidConfigError('outputActivation', 'softmax needs at least 2 outputs; use sigmoid for a single 0/1 output');
  }
  const { learningRate } = config;
  if (learningRate !== 'auto' && (!(learningRate > 0) || !(learningRate <= TRAINING_LIMITS.maxLearningRate))) {
    throw new InvalidConfigError(
      'learningRate', `learningRate must be a positive number up to ${formatNumber(TRAINING_LIMITS.maxLearningRate)} (the largest float32), e.g. 0.05, or "auto"; got ${learningRate}`,
    );
  }
  if (!(config.momentum >= 0 && config.momentum < TRAINING_LIMITS.momentumBelow)) {
    throw new InvalidConfigError('momentum', `momentum must be in [0, ${TRAINING_LIMITS.momentumBelow}), e.g. 0.9; got ${config.momentum}`);
  }
  if (!Number.isInteger(config.batchSize) || config.batchSize < 1 || config.batchSize > TRAINING_LIMITS.maxBatchSize) {
    throw new InvalidConfigError('batchSize', `batchSize must be a whole number from 1 to ${TRAINING_LIMITS.maxBatchSize}; got ${config.batchSize}`);
  }
  if (!Number.isInteger(config.epochs) || config.epochs < 1) {
    throw new InvalidConfigError('epochs', `epochs must be a whole number ≥ 1; got ${config.epochs}`);
  }
  if (!Number.isInteger(config.maxRestarts) || config.maxRestarts < 0 || config.maxRestarts > MAX_STALL_RESTARTS) {
    throw new InvalidConfigError('maxRestarts', `maxRestarts must be a whole number from 0 to ${MAX_STALL_RESTARTS}; got ${config.maxRestarts}`);
  }
  inRange('l2', config.l2, 0, TRAINING_LIMITS.maxL2, `must be in [0, ${TRAINING_LIMITS.maxL2}], e.g. 0.0001`);
  inRange('dropout', config.dropout, 0, TRAINING_LIMITS.maxDropout, `must be in [0, ${TRAINING_LIMITS.maxDropout}], e.g. 0.2`);
  if (!Number.isInteger(config.seed) || config.seed < 0 || config.seed > TRAINING_LIMITS.maxSeed) {
    throw new InvalidConfigError('seed', `seed must be a whole number from 0 to ${TRAINING_LIMITS.maxSeed}; got ${config.seed}`);
  }
  if (config.init.kind === 'uniform') {
    const { low = -0.05, high = 0.05 } = config.init;
    if (!(low < high)) throw new InvalidConfigError('init', `uniform init needs low < high; got low ${low}, high ${high}`);
  }
  const { schedule } = config;
  if (schedule.kind === 'step') {
    if (!Number.isInteger(schedule.everyEpochs) || schedule.everyEpochs < 1) {
      throw new InvalidConfigError('schedule', 'a step schedule needs everyEpochs, a whole number ≥ 1');
    }
    inRange('schedule', schedule.gamma, 0, 1, 'gamma must be in (0, 1]');
  } else if (schedule.kind === 'cosine') {
    const ceiling = learningRate === 'auto' ? Infinity : learningRate;
    inRange('schedule', schedule.minLearningRate, 0, ceiling, 'minLearningRate must be between 0 and the learning rate');
  }
  if (config.earlyStopping && (!Number.isInteger(config.earlyStopping.patience) || config.earlyStopping.patience < 1)) {
    throw new InvalidConfigError('earlyStopping', 'earlyStopping.patience must be a whole number of epochs ≥ 1');
  }
  if (config.augment) {
    inRange('augment', config.augment.maxShift, 0, TRAINING_LIMITS.maxShift, `maxShift must be 0 to ${TRAINING_LIMITS.maxShift} pixels`);
    inRange('augment', config.augment.maxRotationDegrees, 0, TRAINING_LIMITS.maxRotationDegrees, `maxRotationDegrees must be 0 to ${TRAINING_LIMITS.maxRotationDegrees}`);
  }
}
