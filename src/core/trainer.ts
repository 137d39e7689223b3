import { BatchLoader } from './batch.js';
import {
  UnitActivity, chanceLevelWarning, divergenceAdvice, emptyDiagnostics, formatNumber, gradientNorms, measureLayers, warningsFor,
} from './diagnostics.js';
import { InvalidConfigError, SnapshotFormatError, TrainingDivergedError } from './errors.js';
import { classCount, datasetMismatch, evaluate, predictedClass } from './evaluate.js';
import type { Kernels } from './kernels.js';
import { initializeParameters } from './init.js';
import { DEFAULT_MAX_BATCH, Network } from './network.js';
import { createOptimizer, type Optimizer } from './optimizers.js';
import { Rng } from './rng.js';
import { scheduledLearningRate } from './schedule.js';
import { decodeSnapshot, encodeSnapshot, type TrainingState } from './snapshot.js';
import { checkTrainingConfig } from './training-config.js';
import type { Dataset, Diagnostics, EpochReport, StepReport, TrainingConfig } from './types.js';

export interface TrainerOptions {
  kernels?: Kernels;
  /** A step report (with diagnostics) every this many steps, and at the last step of each epoch. */
  stepReportEvery?: number;
}

export interface TrainerCallbacks {
  onStep?(report: StepReport): void;
  /** Called after each epoch, once the trainer's state is at the epoch boundary: a checkpoint() here resumes at the next epoch. */
  onEpoch?(report: EpochReport): void;
  /** Polled before every batch; returning true ends run() with reason "stopped". */
  shouldStop?(): boolean;
}

export interface TrainingOutcome {
  reason: 'completed' | 'early_stopped' | 'stopped';
  epochsCompleted: number;
  /** The epoch with the lowest validation loss, when there is validation data. */
  bestEpoch: number | null;
}

const DEFAULT_STEP_REPORT_EVERY = 20;
/** Weight of the newest step in the smoothed loss. */
const LOSS_SMOOTHING = 0.3;
/** A smoothed loss this many times the first step's loss (or 1, if larger) means the run diverged. */
const EXPLODED_LOSS_FACTOR = 10;

/** Derives independent streams from one seed: splitmix32 scrambles nearby seeds into unrelated states. */
const SEED_STREAMS = { init: 0, shuffle: 0x1000, noise: 0x2000 } as const;

/**
 * Mini-batch training with per-epoch shuffling, an optimizer, L2, dropout, a learning-rate
 * schedule, augmentation and early stopping, reporting diagnostics as it goes. Synchronous:
 * run it in a worker thread. With one thread, the same seed, config and data give bit-identical
 * weights, and a checkpoint taken between any two steps resumes to the same result.
 */
export class Trainer {
  readonly config: TrainingConfig;
  readonly network: Network;
  private readonly train: Dataset;
  private readonly validation: Dataset | null;
  private readonly optimizer: Optimizer;
  /** In the backend's memory, like the parameters it mirrors. */
  private readonly optimizerState: Float32Array;
  private readonly optimizerSlots: Float32Array[];
  private readonly loader: BatchLoader;
  private readonly order: Uint32Array;
  private readonly weightsBefore: Float32Array;
  private readonly activity: UnitActivity;
  private readonly stepReportEvery: number;
  private readonly shuffleRng: Rng;
  private readonly noiseRng: Rng;
  private bestParams: Float32Array | null = null;
  private latestDiagnostics: Diagnostics = emptyDiagnostics();
  private state: TrainingState;

  constructor(config: TrainingConfig, train: Dataset, validation: Dataset | null, options: TrainerOptions = {}) {
    checkTrainingConfig(config);
    const inputSize = config.shape[0];
    const outputSize = config.shape[config.shape.length - 1];
    for (const [name, data] of [['training', train], ['validation', validation]] as const) {
      const mismatch = data && datasetMismatch(data, inputSize, outputSize);
      if (mismatch) throw new InvalidConfigError('shape', `the ${name} data does not fit the network: ${mismatch}`);
    }
    if (train.count < 1) throw new InvalidConfigError('datasetId', 'the training data has no samples');
    this.config = config;
    this.train = train;
    this.validation = validation && validation.count > 0 ? validation : null;
    this.stepReportEvery = Math.max(1, options.stepReportEvery ?? DEFAULT_STEP_REPORT_EVERY);
    this.network = new Network(config, { kernels: options.kernels, maxBatch: Math.max(config.batchSize, DEFAULT_MAX_BATCH) });
    initializeParameters(this.network, config.init, new Rng(config.seed + SEED_STREAMS.init));
    const { kernels, parameterCount: n, weightCount } = this.network;
    this.optimizer = createOptimizer(config.optimizer, { momentum: config.momentum, l2: config.l2, weightCount }, kernels);
    this.optimizerState = kernels.allocate(this.optimizer.stateSlots * n);
    this.optimizerSlots = Array.from({ length: this.optimizer.stateSlots }, (_, slot) =>
      this.optimizerState.subarray(slot * n, (slot + 1) * n),
    );
    this.loader = new BatchLoader(train, this.network.input, outputSize, this.network.maxBatch);
    this.order = new Uint32Array(train.count);
    this.weightsBefore = kernels.allocate(weightCount);
    this.activity = new UnitActivity(this.network);
    this.shuffleRng = new Rng(config.seed + SEED_STREAMS.shuffle);
    this.noiseRng = new Rng(config.seed + SEED_STREAMS.noise);
    this.state = {
      epochsCompleted: 0,
      stepInEpoch: 0,
      step: 0,
      shuffleRngState: this.shuffleRng.state(),
      noiseRngState: this.noiseRng.state(),
      epochLossSum: 0,
      epochCorrect: 0,
      epochSeen: 0,
      bestValLoss: null,
      bestEpoch: null,
      epochsWithoutImprovement: 0,
      initialLoss: null,
      smoothedLoss: null,
    };
  }

  /** Continues a run from a checkpoint() taken between any two of its steps. */
  static resume(checkpoint: Uint8Array, train: Dataset, validation: Dataset | null, options: TrainerOptions = {}): Trainer {
    const { header, sections } = decodeSnapshot(checkpoint);
    if (header.kind !== 'checkpoint' || !header.training) {
      throw new SnapshotFormatError('this snapshot holds a model only; training can resume only from a checkpoint');
    }
    const trainer = new Trainer(header.config, train, validation, options);
    trainer.network.params.set(sections.params!);
    if (trainer.optimizerState.length > 0) trainer.optimizerState.set(sections.optimizer!);
    trainer.bestParams = sections.bestParams ?? null;
    trainer.state = { ...header.training };
    trainer.noiseRng.setState(header.training.noiseRngState);
    return trainer;
  }

  get epochsCompleted(): number {
    return this.state.epochsCompleted;
  }

  get diagnostics(): Diagnostics {
    return this.latestDiagnostics;
  }

  get stepsPerEpoch(): number {
    return Math.ceil(this.train.count / this.config.batchSize);
  }

  run(callbacks: TrainerCallbacks = {}): TrainingOutcome {
    const { config, state } = this;
    const { batchSize, epochs } = config;
    const count = this.train.count;
    const stepsPerEpoch = this.stepsPerEpoch;
    const totalSteps = stepsPerEpoch * epochs;
    const early = this.validation ? config.earlyStopping : null;

    while (state.epochsCompleted < epochs) {
      if (state.stepInEpoch === 0) {
        state.epochLossSum = 0;
        state.epochCorrect = 0;
        state.epochSeen = 0;
      }
      // The epoch's order is drawn from a saved RNG state, so a run resumed mid-epoch redraws the same order.
      this.shuffleRng.setState(state.shuffleRngState);
      for (let i = 0; i < count; i++) this.order[i] = i;
      this.shuffleRng.shuffle(this.order);

      const epochStarted = performance.now();
      let samplesThisRun = 0;
      let learningRate = config.learningRate;
      while (state.stepInEpoch < stepsPerEpoch) {
        if (callbacks.shouldStop?.()) return this.outcome('stopped');
        const start = state.stepInEpoch * batchSize;
        const batch = Math.min(batchSize, count - start);
        learningRate = scheduledLearningRate(config.schedule, config.learningRate, state.step, stepsPerEpoch, totalSteps);
        const lastOfEpoch = state.stepInEpoch === stepsPerEpoch - 1;
        const report = lastOfEpoch || (state.step + 1) % this.stepReportEvery === 0;
        const loss = this.trainStep(start, batch, learningRate, report);
        samplesThisRun += batch;
        if (report) {
          const seconds = (performance.now() - epochStarted) / 1000;
          callbacks.onStep?.({
            epoch: state.epochsCompleted + 1,
            step: state.step,
            stepsPerEpoch,
            loss,
            learningRate,
            samplesPerSecond: seconds > 0 ? samplesThisRun / seconds : 0,
            diagnostics: this.latestDiagnostics,
          });
        }
      }
      const seconds = (performance.now() - epochStarted) / 1000;
      const epochReport = this.finishEpoch(seconds, seconds > 0 ? samplesThisRun / seconds : 0, learningRate);
      callbacks.onEpoch?.(epochReport);
      if (early && state.epochsWithoutImprovement >= early.patience) {
        this.restoreBestWeights();
        return this.outcome('early_stopped');
      }
    }
    this.restoreBestWeights();
    return this.outcome('completed');
  }

  /** A resumable snapshot: weights, optimizer state, RNG states and progress. */
  checkpoint(): Uint8Array {
    const state: TrainingState = { ...this.state, noiseRngState: this.noiseRng.state() };
    return encodeSnapshot(
      { kind: 'checkpoint', config: this.config, parameterCount: this.network.parameterCount, epochsCompleted: state.epochsCompleted, training: state },
      {
        params: this.network.params,
        optimizer: this.optimizerState.length > 0 ? this.optimizerState : undefined,
        bestParams: this.bestParams ?? undefined,
      },
    );
  }

  /** An inference-only snapshot of the current weights. */
  modelSnapshot(): Uint8Array {
    return encodeSnapshot(
      { kind: 'model', config: this.config, parameterCount: this.network.parameterCount, epochsCompleted: this.state.epochsCompleted },
      { params: this.network.params },
    );
  }

  private trainStep(start: number, batch: number, learningRate: number, diagnose: boolean): number {
    const { network, config, state, loader } = this;
    loader.fill(this.order, start, batch, config.augment, this.noiseRng);
    network.zeroGradients();
    const out = network.forward(batch, config.dropout, this.noiseRng);
    this.activity.record(batch);
    const loss = network.backward(loader.target, batch, config.dropout);
    this.checkLoss(loss, learningRate);

    const k = network.outputSize;
    let correct = 0;
    for (let b = 0; b < batch; b++) if (predictedClass(out, b * k, k) === predictedClass(loader.target, b * k, k)) correct++;
    state.epochLossSum += loss * batch;
    state.epochCorrect += correct;
    state.epochSeen += batch;

    let norms: number[] = [];
    if (diagnose) {
      norms = gradientNorms(network);
      this.weightsBefore.set(network.params.subarray(0, network.weightCount));
    }
    this.optimizer.step(network.params, network.grads, this.optimizerSlots, learningRate, state.step + 1);
    if (diagnose) {
      if (!Number.isFinite(network.kernels.sumOfSquares(network.params))) this.diverged('weights became NaN or infinite ', learningRate);
      const layers = measureLayers(network, batch, norms, this.weightsBefore, this.activity);
      this.activity.reset();
      this.latestDiagnostics = { layers, warnings: warningsFor(config, layers, learningRate) };
    }
    state.step++;
    state.stepInEpoch++;
    return loss;
  }

  /**
   * Stable softmax and cross-entropy keep the loss finite long after a run has blown up,
   * so divergence is also a smoothed loss far above where the run started: healthy runs
   * stay below their first loss, while a learning rate 10x too high overshoots it 10-1000x
   * within a few steps.
   */
  private checkLoss(loss: number, learningRate: number): void {
    const { state } = this;
    if (!Number.isFinite(loss)) this.diverged(`loss became ${loss} `, learningRate);
    state.initialLoss ??= loss;
    state.smoothedLoss = state.smoothedLoss === null ? loss : (1 - LOSS_SMOOTHING) * state.smoothedLoss + LOSS_SMOOTHING * loss;
    if (state.smoothedLoss > EXPLODED_LOSS_FACTOR * Math.max(state.initialLoss, 1)) {
      this.diverged(`loss exploded from ${formatNumber(state.initialLoss)} to ${formatNumber(loss)} `, learningRate);
    }
  }

  private finishEpoch(seconds: number, samplesPerSecond: number, learningRate: number): EpochReport {
    const { state, config, network } = this;
    const epoch = state.epochsCompleted + 1;
    const trainLoss = state.epochLossSum / state.epochSeen;
    const trainAccuracy = state.epochCorrect / state.epochSeen;
    let valLoss: number | undefined;
    let valAccuracy: number | undefined;
    let best = false;
    if (this.validation) {
      const result = evaluate(network, this.validation);
      valLoss = result.loss;
      valAccuracy = result.accuracy;
      const minDelta = config.earlyStopping?.minDelta ?? 0;
      if (state.bestValLoss === null || valLoss < state.bestValLoss - minDelta) {
        best = true;
        state.bestValLoss = valLoss;
        state.bestEpoch = epoch;
        state.epochsWithoutImprovement = 0;
        if (config.earlyStopping?.restoreBest) {
          this.bestParams ??= new Float32Array(network.parameterCount);
          this.bestParams.set(network.params);
        }
      } else {
        state.epochsWithoutImprovement++;
      }
    }
    const chance = chanceLevelWarning(trainAccuracy, classCount(network.outputSize), epoch, this.latestDiagnostics.layers, learningRate);
    const diagnostics: Diagnostics = {
      layers: this.latestDiagnostics.layers,
      warnings: chance ? [...this.latestDiagnostics.warnings, chance] : this.latestDiagnostics.warnings,
    };
    this.latestDiagnostics = diagnostics;
    state.epochsCompleted = epoch;
    state.stepInEpoch = 0;
    state.shuffleRngState = this.shuffleRng.state();
    return {
      epoch,
      epochs: config.epochs,
      trainLoss,
      trainAccuracy,
      valLoss,
      valAccuracy,
      seconds,
      samplesPerSecond,
      learningRate,
      diagnostics,
      best,
    };
  }

  private restoreBestWeights(): void {
    if (this.bestParams && this.config.earlyStopping?.restoreBest) this.network.params.set(this.bestParams);
  }

  private outcome(reason: TrainingOutcome['reason']): TrainingOutcome {
    return { reason, epochsCompleted: this.state.epochsCompleted, bestEpoch: this.state.bestEpoch };
  }

  private diverged(what: string, learningRate: number): never {
    const { state, config } = this;
    const epoch = state.epochsCompleted + 1;
    const step = state.stepInEpoch + 1;
    throw new TrainingDivergedError(
      `${what}at epoch ${epoch}, step ${step} of ${this.stepsPerEpoch}, with learning rate ${formatNumber(learningRate)} (${config.optimizer})`,
      epoch,
      step,
      divergenceAdvice(learningRate),
    );
  }
}
