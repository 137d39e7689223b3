/**
 * Known failures and healthy runs, each a dataset and a job as a client would submit it, with
 * the warning the diagnosis must put first ("none" for a healthy run, which must end with no
 * warning at all). Shared by test/core/diagnosis.test.ts and bench/scenarios.ts. Each run takes
 * a second or two on the wasm kernels: digit subsets of a few hundred to 2,000 samples.
 */
import {
  Trainer, TrainingDivergedError, defaultValidationSplit, resolveTrainingConfig,
  type Dataset, type EpochReport, type Kernels, type LayerDiagnostics, type RunConfig, type TrainingConfigInput,
  type TrainingWarning, type WarningCode,
} from '../../src/core/index.js';
import { splitDataset } from '../../src/data/split.js';
import { loadMnistDigits, MNIST_HEIGHT, MNIST_PIXELS, MNIST_WIDTH } from '../helpers/mnist.js';
import { overlappingBlobs, xorDataset } from './fixtures.js';

/** Digits in each MNIST scenario: enough for every class to be learned, few enough for a run to take a second. */
const DIGITS = 2_000;
/** The per-sample (batch 1) scenarios are slow per sample, so they see fewer. */
const PER_SAMPLE_DIGITS = 400;
/**
 * Overfitting needs a training set a 784-512-10 network can memorise, and a validation set large
 * enough to measure the gap: the default 10% of 300 digits is 30, whose accuracy is only good to
 * about ±7 points, so as many digits are held out as are trained on.
 */
const OVERFIT_DIGITS = 300;
const OVERFIT_SPLIT = 0.5;
/** Healthy digit runs: long enough to reach 85-95% on the held-out digits. */
const HEALTHY_EPOCHS = 12;
/** Held-out accuracy a healthy digit run must reach, so that its silence means something. */
const HEALTHY_DIGIT_ACCURACY = 0.8;

export const SCENARIO_SEEDS = [1, 2, 3] as const;

/** What one run of a scenario showed: the final ranked warnings and the evidence they were drawn from. */
export interface ScenarioRun {
  config: RunConfig;
  warnings: TrainingWarning[];
  diverged: boolean;
  epochs: EpochReport[];
  /** Every step report that carried layer measurements, in order. */
  steps: { epoch: number; loss: number; layers: LayerDiagnostics[] }[];
  seconds: number;
}

/** A job as a client submits it: the dataset, the request, and the share held out when not the default. */
export interface ScenarioJob {
  data: Dataset;
  input: TrainingConfigInput;
  validationSplit?: number;
}

export interface Scenario {
  name: string;
  expected: WarningCode | 'none';
  seeds: readonly number[];
  build(seed: number): ScenarioJob;
  /**
   * Why the run really is what it is named after (the failure it shows, or for a healthy run what
   * it learned), or null when it is not: a scenario that stopped failing would otherwise pass for
   * a diagnosis that named it, and a healthy run that learned nothing for one that stayed quiet.
   */
  exhibits(run: ScenarioRun): string | null;
}

function digits(count: number, seed: number): Dataset {
  const { pixels, labels } = loadMnistDigits(count, seed);
  return { count, inputSize: MNIST_PIXELS, inputs: pixels, labels, targets: null, width: MNIST_WIDTH, height: MNIST_HEIGHT };
}

/** The same digits as floats in 0..255, as a CSV of raw pixel values would give them. */
function unscaledDigits(count: number, seed: number): Dataset {
  const data = digits(count, seed);
  return { ...data, inputs: Float32Array.from(data.inputs) };
}

const lastEpoch = (run: ScenarioRun): EpochReport | undefined => run.epochs.at(-1);

/** Accuracy on clean samples: validation's, or training's when nothing is held out (XOR). */
const cleanAccuracy = (epoch: EpochReport): number => epoch.valAccuracy ?? epoch.trainAccuracy;

/** A run that blew up, or one whose clean accuracy stayed below `accuracy`. */
function failedToLearn(accuracy: number) {
  return (run: ScenarioRun): string | null => {
    if (run.diverged) return 'diverged';
    const last = lastEpoch(run);
    return last && cleanAccuracy(last) < accuracy ? `accuracy ${pct(cleanAccuracy(last))}` : null;
  };
}

/** A run whose accuracy on clean samples (validation's, or training's without a hold-out) reached `accuracy`. */
function learned(accuracy: number) {
  return (run: ScenarioRun): string | null => {
    const last = lastEpoch(run);
    return last && !run.diverged && cleanAccuracy(last) >= accuracy ? `accuracy ${pct(cleanAccuracy(last))}` : null;
  };
}

const pct = (fraction: number): string => `${(fraction * 100).toFixed(1)}%`;

export const FAILURE_SCENARIOS: Scenario[] = [
  {
    // The seed's "stuck at 0.45": every sigmoid saturated by all-positive weights, per-sample sgd on squared error.
    name: 'stuck at 0.45: 784-16-16-10 sigmoid, uniform(0, 0.4), mse, batch 1',
    expected: 'INIT_SATURATION',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({
      data: digits(PER_SAMPLE_DIGITS, seed),
      input: {
        shape: [784, 16, 16, 10], activation: 'sigmoid', outputActivation: 'sigmoid', loss: 'mse',
        init: { kind: 'uniform', low: 0, high: 0.4 }, optimizer: 'sgd', batchSize: 1, epochs: 2,
      },
    }),
    exhibits: failedToLearn(0.3),
  },
  {
    name: '784-800-10 sigmoid, all-positive uniform(0, 0.5)',
    expected: 'INIT_SATURATION',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({
      data: digits(DIGITS, seed),
      input: { shape: [784, 800, 10], activation: 'sigmoid', init: { kind: 'uniform', low: 0, high: 0.5 }, epochs: 5 },
    }),
    exhibits: failedToLearn(0.5),
  },
  {
    // Centred on 0 but far too wide: the loss still falls, slowly, so the run is not stalled.
    name: '784-32-10 sigmoid, symmetric uniform(-5, 5)',
    expected: 'INIT_SATURATION',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({
      data: digits(DIGITS, seed),
      input: { shape: [784, 32, 10], activation: 'sigmoid', init: { kind: 'uniform', low: -5, high: 5 }, augment: null, epochs: 12 },
    }),
    exhibits: failedToLearn(0.6),
  },
  {
    // The seed's per-sample updates: no rate is sane for batch 1 at 5.
    name: 'per-sample sgd at learningRate 5: 784-30-10 sigmoid, batch 1',
    expected: 'LEARNING_RATE_TOO_HIGH',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({
      data: digits(PER_SAMPLE_DIGITS, seed),
      input: { shape: [784, 30, 10], activation: 'sigmoid', optimizer: 'sgd', learningRate: 5, batchSize: 1, epochs: 2 },
    }),
    exhibits: failedToLearn(0.5),
  },
  {
    name: 'learningRate 10x too high: 784-64-10 relu, momentum 0.5',
    expected: 'LEARNING_RATE_TOO_HIGH',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({ data: digits(DIGITS, seed), input: { shape: [784, 64, 10], learningRate: 0.5, epochs: 5 } }),
    // The default rate reaches 92-94% on these digits.
    exhibits: failedToLearn(0.9),
  },
  {
    name: 'learningRate 1000x too low: 784-64-10 relu, momentum 5e-5',
    expected: 'LEARNING_RATE_TOO_LOW',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({ data: digits(DIGITS, seed), input: { shape: [784, 64, 10], learningRate: 5e-5, epochs: 5 } }),
    exhibits: failedToLearn(0.5),
  },
  {
    name: 'dead relu: 784-64-10, he init with biases at -3',
    expected: 'DEAD_RELU',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({ data: digits(DIGITS, seed), input: { shape: [784, 64, 10], init: { kind: 'he', bias: -3 }, epochs: 5 } }),
    exhibits: (run) => {
      const dead = Math.max(...run.steps.at(-1)!.layers.map((layer) => layer.deadFraction ?? 0));
      return dead > 0.5 ? `${pct(dead)} of the relu units dead` : null;
    },
  },
  {
    name: 'too little capacity: 784-2-10',
    expected: 'UNDERFITTING',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({ data: digits(DIGITS, seed), input: { shape: [784, 2, 10], epochs: 30 } }),
    exhibits: failedToLearn(0.6),
  },
  {
    name: 'overfitting: 784-512-10 on 300 digits (300 held out), no early stopping or augmentation',
    expected: 'OVERFITTING',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({
      data: digits(2 * OVERFIT_DIGITS, seed),
      validationSplit: OVERFIT_SPLIT,
      input: { shape: [784, 512, 10], epochs: 30, earlyStopping: null, augment: null },
    }),
    exhibits: (run) => {
      const last = lastEpoch(run);
      if (!last || last.valLoss === undefined || last.valAccuracy === undefined) return null;
      const best = Math.min(...run.epochs.map((epoch) => epoch.valLoss!));
      return last.valLoss > best && last.trainAccuracy - last.valAccuracy >= 0.1
        ? `validation loss ${last.valLoss.toFixed(3)} from a best of ${best.toFixed(3)}, accuracy ${pct(last.trainAccuracy)} against ${pct(last.valAccuracy)}`
        : null;
    },
  },
  {
    name: 'unscaled float inputs: digits as 0..255 floats, 784-64-10',
    expected: 'UNSCALED_INPUTS',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({ data: unscaledDigits(DIGITS, seed), input: { shape: [784, 64, 10], epochs: 5 } }),
    exhibits: failedToLearn(0.5),
  },
  {
    name: 'XOR [2, 2, 1] relu stuck without fresh starts',
    expected: 'LOCAL_MINIMUM',
    seeds: SCENARIO_SEEDS,
    build: () => ({ data: xorDataset(), input: { shape: [2, 2, 1], activation: 'relu', maxRestarts: 0, epochs: 3_000 } }),
    exhibits: failedToLearn(1),
  },
  {
    name: 'deep sigmoid exploding: 784-128x4-10 sigmoid, momentum 2',
    expected: 'EXPLODING_GRADIENTS',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({
      data: digits(DIGITS, seed),
      input: { shape: [784, 128, 128, 128, 128, 10], activation: 'sigmoid', learningRate: 2, epochs: 3 },
    }),
    exhibits: (run) => {
      const stuck = failedToLearn(0.5)(run);
      const first = run.steps[0]?.layers ?? [];
      const step = Math.max(0, ...first.map((layer) => layer.updateRatio));
      return stuck && (run.diverged || step > 0.1) ? `${stuck}; the first step changed a layer's weights by ${pct(step)}` : null;
    },
  },
  {
    name: 'schedule decayed to nothing: step schedule ×0.01 every epoch',
    expected: 'SCHEDULE_DECAYED',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({
      data: digits(DIGITS, seed),
      input: { shape: [784, 64, 10], schedule: { kind: 'step', everyEpochs: 1, gamma: 0.01 }, epochs: 12 },
    }),
    exhibits: (run) => {
      const stuck = failedToLearn(0.9)(run);
      const last = lastEpoch(run);
      return stuck && last && last.learningRate < 1e-6 * run.config.learningRate ? `${stuck} with the rate at ${last.learningRate}` : null;
    },
  },
];

export const HEALTHY_SCENARIOS: Scenario[] = [
  {
    name: 'healthy 784-64-10 relu momentum',
    expected: 'none',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({ data: digits(DIGITS, seed), input: { shape: [784, 64, 10], epochs: HEALTHY_EPOCHS } }),
    exhibits: learned(HEALTHY_DIGIT_ACCURACY),
  },
  {
    name: 'healthy 784-64-10 tanh adam',
    expected: 'none',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({
      data: digits(DIGITS, seed), input: { shape: [784, 64, 10], activation: 'tanh', optimizer: 'adam', epochs: HEALTHY_EPOCHS },
    }),
    exhibits: learned(HEALTHY_DIGIT_ACCURACY),
  },
  {
    name: 'healthy 784-32-32-10 leaky_relu nesterov',
    expected: 'none',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({
      data: digits(DIGITS, seed),
      input: { shape: [784, 32, 32, 10], activation: 'leaky_relu', optimizer: 'nesterov', epochs: HEALTHY_EPOCHS },
    }),
    exhibits: learned(HEALTHY_DIGIT_ACCURACY),
  },
  {
    // Plain sgd on sigmoid units with cross-entropy at Nielsen's rate (network2.py trains at 0.5).
    name: 'healthy 784-30-10 sigmoid sgd',
    expected: 'none',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({
      data: digits(DIGITS, seed),
      input: { shape: [784, 30, 10], activation: 'sigmoid', optimizer: 'sgd', learningRate: 0.5, epochs: HEALTHY_EPOCHS },
    }),
    exhibits: learned(HEALTHY_DIGIT_ACCURACY),
  },
  {
    name: 'healthy 784-128-10 relu with dropout 0.2',
    expected: 'none',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({ data: digits(DIGITS, seed), input: { shape: [784, 128, 10], dropout: 0.2, epochs: HEALTHY_EPOCHS } }),
    exhibits: learned(HEALTHY_DIGIT_ACCURACY),
  },
  {
    // Classes that overlap stall training short of 100% from every start: the data's limit, not a
    // local minimum, and no width gets past it.
    name: 'healthy 4-16-3 on overlapping classes, defaults',
    expected: 'none',
    seeds: SCENARIO_SEEDS,
    build: (seed) => ({ data: overlappingBlobs(500, seed), input: { shape: [4, 16, 3] } }),
    exhibits: learned(0.9),
  },
  {
    name: 'healthy XOR [2, 2, 1] defaults',
    expected: 'none',
    seeds: SCENARIO_SEEDS,
    build: () => ({ data: xorDataset(), input: { shape: [2, 2, 1] } }),
    exhibits: learned(1),
  },
  {
    name: 'healthy XOR [2, 4, 1] tanh',
    expected: 'none',
    seeds: SCENARIO_SEEDS,
    build: () => ({ data: xorDataset(), input: { shape: [2, 4, 1], activation: 'tanh' } }),
    exhibits: learned(1),
  },
];

export const SCENARIOS: Scenario[] = [...FAILURE_SCENARIOS, ...HEALTHY_SCENARIOS];

/**
 * Runs one scenario as the worker runs a job (see bench/defaults.ts): the default stratified
 * hold-out for validation, the defaults filled in for the training count, the seed as the job's
 * seed. A divergence is a result, not an error: its diagnosis is the run's warnings.
 */
export function runScenario(scenario: Scenario, seed: number, kernels: Kernels): ScenarioRun {
  const { data, input, validationSplit } = scenario.build(seed);
  const split = validationSplit ?? defaultValidationSplit(data.count);
  const { train, validation } = split > 0 ? splitDataset(data, split, seed) : { train: data, validation: null };
  const { config } = resolveTrainingConfig({ ...input, seed }, { trainCount: train.count, width: data.width, height: data.height });
  const epochs: EpochReport[] = [];
  const steps: ScenarioRun['steps'] = [];
  const started = performance.now();
  const trainer = new Trainer(config, train, validation, { kernels });
  let warnings: TrainingWarning[];
  let diverged = false;
  try {
    trainer.run({
      onEpoch: (report) => epochs.push(report),
      onStep: ({ epoch, loss, diagnostics }) => {
        if (diagnostics && diagnostics.layers.length > 0) steps.push({ epoch, loss, layers: diagnostics.layers });
      },
    });
    warnings = trainer.diagnostics.warnings;
  } catch (error) {
    if (!(error instanceof TrainingDivergedError)) throw error;
    warnings = error.diagnostics.warnings;
    diverged = true;
  }
  return { config: trainer.config, warnings, diverged, epochs, steps, seconds: (performance.now() - started) / 1000 };
}

/** The code a run's diagnosis puts first, or "none". */
export const primaryCode = (run: ScenarioRun): WarningCode | 'none' => run.warnings[0]?.code ?? 'none';
