import { InvalidConfigError } from './errors.js';
import {
  HIDDEN_ACTIVATIONS, INITS, LOSSES, OPTIMIZERS, OUTPUT_ACTIVATIONS,
  type InitConfig, type OptimizerName, type TrainingConfig,
} from './types.js';

/** Learning rates that train MNIST-sized networks well with each optimizer and the default batch. */
export const DEFAULT_LEARNING_RATES: Record<OptimizerName, number> = {
  sgd: 0.1,
  momentum: 0.05,
  nesterov: 0.05,
  adam: 0.001,
};

/** Everything but shape, output head and init, which follow from the shape and activation. */
export const DEFAULT_TRAINING = {
  activation: 'relu',
  optimizer: 'momentum',
  momentum: 0.9,
  batchSize: 64,
  epochs: 10,
  l2: 1e-4,
  dropout: 0,
  schedule: { kind: 'cosine', minLearningRate: 0 },
  earlyStopping: null,
  augment: null,
  seed: 1,
} as const satisfies Partial<TrainingConfig>;

export type TrainingConfigInput = Partial<TrainingConfig> & { shape: number[] };

/**
 * Fills in defaults and checks that the options fit together. The output head follows
 * the output width (softmax + cross-entropy for classes, sigmoid + cross-entropy for one
 * 0/1 output) and the init follows the activation (He for relu, Xavier for sigmoid/tanh).
 */
export function resolveTrainingConfig(input: TrainingConfigInput): TrainingConfig {
  checkShape(input.shape);
  const outputs = input.shape[input.shape.length - 1];
  const activation = input.activation ?? DEFAULT_TRAINING.activation;
  const optimizer = input.optimizer ?? DEFAULT_TRAINING.optimizer;
  const init: InitConfig = input.init ?? { kind: activation === 'relu' || activation === 'leaky_relu' ? 'he' : 'xavier' };
  const config: TrainingConfig = {
    ...DEFAULT_TRAINING,
    outputActivation: outputs > 1 ? 'softmax' : 'sigmoid',
    loss: 'cross_entropy',
    learningRate: DEFAULT_LEARNING_RATES[optimizer],
    ...stripUndefined(input),
    shape: [...input.shape],
    activation,
    optimizer,
    init,
  };
  checkTrainingConfig(config);
  return config;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkShape(shape: unknown): asserts shape is number[] {
  if (!Array.isArray(shape) || shape.length < 2) {
    throw new InvalidConfigError('shape', 'shape needs at least an input and an output layer, e.g. [784, 800, 10]');
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
  if (!(config.learningRate > 0) || !Number.isFinite(config.learningRate)) {
    throw new InvalidConfigError('learningRate', `learningRate must be a positive number, e.g. 0.05; got ${config.learningRate}`);
  }
  inRange('momentum', config.momentum, 0, 0.9999, 'must be in [0, 1), e.g. 0.9');
  if (!Number.isInteger(config.batchSize) || config.batchSize < 1) {
    throw new InvalidConfigError('batchSize', `batchSize must be a whole number ≥ 1; got ${config.batchSize}`);
  }
  if (!Number.isInteger(config.epochs) || config.epochs < 1) {
    throw new InvalidConfigError('epochs', `epochs must be a whole number ≥ 1; got ${config.epochs}`);
  }
  inRange('l2', config.l2, 0, 1, 'must be in [0, 1], e.g. 0.0001');
  inRange('dropout', config.dropout, 0, 0.9, 'must be in [0, 0.9], e.g. 0.2');
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
    inRange('schedule', schedule.minLearningRate, 0, config.learningRate, 'minLearningRate must be between 0 and the learning rate');
  }
  if (config.earlyStopping && (!Number.isInteger(config.earlyStopping.patience) || config.earlyStopping.patience < 1)) {
    throw new InvalidConfigError('earlyStopping', 'earlyStopping.patience must be a whole number of epochs ≥ 1');
  }
  if (config.augment) {
    inRange('augment', config.augment.maxShift, 0, 8, 'maxShift must be 0 to 8 pixels');
    inRange('augment', config.augment.maxRotationDegrees, 0, 45, 'maxRotationDegrees must be 0 to 45');
  }
}
