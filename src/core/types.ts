/**
 * Public types of the numeric core. The core takes typed arrays and sizes and
 * returns typed arrays; it never touches I/O, so it runs unchanged in a worker
 * thread, a test or a benchmark.
 */

/** Parameters, gradients and activations are float32 for training, float64 for gradient checks. */
export type FloatArray = Float32Array | Float64Array;

export const HIDDEN_ACTIVATIONS = ['sigmoid', 'tanh', 'relu', 'leaky_relu'] as const;
export type HiddenActivationName = (typeof HIDDEN_ACTIVATIONS)[number];

export const OUTPUT_ACTIVATIONS = ['softmax', 'sigmoid', 'linear'] as const;
export type OutputActivationName = (typeof OUTPUT_ACTIVATIONS)[number];

export const LOSSES = ['cross_entropy', 'mse'] as const;
export type LossName = (typeof LOSSES)[number];

export const INITS = ['he', 'xavier', 'uniform'] as const;
export type InitName = (typeof INITS)[number];

export const OPTIMIZERS = ['sgd', 'momentum', 'nesterov', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** What a trained network is: enough to rebuild it for inference. */
export interface ModelConfig {
  /** Layer widths from input to output, e.g. [784, 800, 10]. */
  shape: number[];
  activation: HiddenActivationName;
  outputActivation: OutputActivationName;
  loss: LossName;
}

export interface InitConfig {
  kind: InitName;
  /** Only for kind "uniform": weights are drawn from uniform(low, high). */
  low?: number;
  high?: number;
  /** Constant every bias starts at (default 0). The classic failing setup uses 0.5. */
  bias?: number;
}

export type ScheduleConfig =
  | { kind: 'constant' }
  /** Multiply the learning rate by gamma every `everyEpochs` epochs. */
  | { kind: 'step'; everyEpochs: number; gamma: number }
  /** Cosine decay, per step, from the learning rate down to minLearningRate at the last step. */
  | { kind: 'cosine'; minLearningRate: number };

/**
 * Stops a run whose monitored loss has stopped improving: the validation loss when data is
 * held out, else the training loss (scikit-learn's `tol` and `n_iter_no_change`).
 */
export interface EarlyStoppingConfig {
  /** Epochs without an improvement of at least minDelta before stopping; never fewer than MIN_PATIENCE_STEPS steps. */
  patience: number;
  minDelta: number;
  /** Put back the weights of the best epoch when stopping or finishing. */
  restoreBest: boolean;
}

export interface AugmentConfig {
  /** Images are shifted by a whole number of pixels in [-maxShift, maxShift] on each axis. */
  maxShift: number;
  /** Images are rotated by an angle in [-maxRotationDegrees, maxRotationDegrees]; 0 disables rotation. */
  maxRotationDegrees: number;
}

export interface TrainingConfig extends ModelConfig {
  init: InitConfig;
  optimizer: OptimizerName;
  /** A rate, or "auto": a learning-rate range test before training picks one (see lr-finder.ts). */
  learningRate: number | 'auto';
  /** Momentum coefficient for "momentum" and "nesterov"; beta1 for "adam". */
  momentum: number;
  batchSize: number;
  /** Most epochs the run may take; early stopping may end it sooner. */
  epochs: number;
  /** Fresh starts allowed to a run that stalls before it fits its training data (a local minimum). */
  maxRestarts: number;
  /** L2 weight decay coefficient on weights (not biases). */
  l2: number;
  /** Probability of dropping a hidden unit during training (inverted dropout); 0 disables it. */
  dropout: number;
  schedule: ScheduleConfig;
  earlyStopping: EarlyStoppingConfig | null;
  augment: AugmentConfig | null;
  seed: number;
}

/**
 * A dataset in memory. Pixels stay as bytes (60,000 MNIST images are about 47 MB)
 * and are normalised to 0..1 on the fly, batch by batch, into a reused buffer.
 */
export interface Dataset {
  count: number;
  inputSize: number;
  /** Uint8Array: 0..255 pixels, scaled by 1/255 when batched. Float32Array: used as is. */
  inputs: Uint8Array | Float32Array;
  /** Class index per sample, for classification; a one-output network reads it as a 0/1 target. */
  labels: Uint8Array | null;
  /** count x outputSize regression targets, when there are no labels. */
  targets: Float32Array | null;
  /** Image size, needed for augmentation. */
  width?: number;
  height?: number;
}

export interface LayerDiagnostics {
  layer: number;
  gradientNorm: number;
  /** ||lr * update|| / ||weights||: about 1e-3 is healthy; far above means the learning rate is too high. */
  updateRatio: number;
  /** Fraction of sigmoid or tanh units with |z| > 4 over the last batch (null for other activations). */
  saturatedFraction: number | null;
  /** Fraction of relu units that output 0 for every sample since the last report (null for other activations). */
  deadFraction: number | null;
  /** Root mean square of the layer's pre-activations z over the last batch: far above 4 saturates sigmoid, tanh and softmax. */
  zRms: number;
}

export const WARNING_CODES = [
  'TRAINING_DIVERGED', 'INIT_SATURATION', 'UNSCALED_INPUTS', 'EXPLODING_GRADIENTS', 'LEARNING_RATE_TOO_HIGH',
  'LEARNING_RATE_TOO_LOW', 'SCHEDULE_DECAYED', 'DEAD_RELU', 'SATURATION', 'LOCAL_MINIMUM', 'UNDERFITTING',
  'OVERFITTING', 'NOT_LEARNING',
] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

export const WARNING_SEVERITIES = ['info', 'warning', 'error'] as const;
export type WarningSeverity = (typeof WARNING_SEVERITIES)[number];

/** A JSON value a client can put into its next request. */
export type SuggestedValue = number | string | boolean | null | number[] | { [key: string]: number | string };

/** One finding about a run, written for a person and shaped so a client can act on it. */
export interface TrainingWarning {
  code: WarningCode;
  severity: WarningSeverity;
  /** What was measured, in plain words. */
  message: string;
  /** What to change, starting from what the job submitted. */
  advice: string;
  /** The request field the advice changes, and the value it suggests. */
  field?: string;
  suggestion?: SuggestedValue;
}

export interface Diagnostics {
  layers: LayerDiagnostics[];
  /** Ranked: the first is the primary cause, and none contradicts another. */
  warnings: TrainingWarning[];
}

export interface StepReport {
  epoch: number;
  /** Step within the whole run, counted from 1. */
  step: number;
  stepsPerEpoch: number;
  loss: number;
  learningRate: number;
  samplesPerSecond: number;
  /** Present on the steps where diagnostics were computed. */
  diagnostics?: Diagnostics;
}

/** An epoch's losses and accuracies; validation ones when data is held out. */
export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  samplesPerSecond: number;
  learningRate: number;
  diagnostics: Diagnostics;
}

/** How well one class is told apart, as scikit-learn's classification_report gives it (0 where a ratio has nothing to divide). */
export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Samples whose true class this is. */
  support: number;
}

/** A sample the network got wrong: its index in the evaluated data, its true and its predicted class. */
export interface Misclassified {
  index: number;
  actual: number;
  predicted: number;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  count: number;
  /** confusionMatrix[actual][predicted]; for one-output networks, classes 0 and 1. */
  confusionMatrix: number[][];
  /** Per class, from the confusion matrix. */
  perClass: ClassMetrics[];
  /** The unweighted means of the per-class precision, recall and F1. */
  macro: { precision: number; recall: number; f1: number };
  /** The first misclassified samples, in data order; `misclassifiedCount` says how many there are in all. */
  misclassified: Misclassified[];
  misclassifiedCount: number;
}
