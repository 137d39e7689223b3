import { BatchLoader } from './batch.js';
import { Diagnoser, profileData, type RunEnding } from './diagnosis.js';
import { UnitActivity, emptyDiagnostics, formatNumber, gradientNorms, measureLayers } from './diagnostics.js';
import { InvalidConfigError, SnapshotFormatError, TrainingDivergedError } from './errors.js';
import { dataShape, evaluate, predictedClass, shapeMismatch } from './evaluate.js';
import type { Kernels } from './kernels.js';
import { initializeParameters } from './init.js';
import { rangeTest, type LearningRateSearch } from './lr-finder.js';
import { DEFAULT_MAX_BATCH, Network } from './network.js';
import { createOptimizer, type Optimizer } from './optimizers.js';
import { Rng } from './rng.js';
import { scheduledLearningRate } from './schedule.js';
import { decodeSnapshot, encodeSnapshot, type TrainingState } from './snapshot.js';
import { checkTrainingConfig, stepsPerEpoch } from './training-config.js';
import type { Dataset, Diagnostics, EpochMetrics, EpochReport, Evaluation, StepReport, TrainingConfig } from './types.js';

/** A configuration whose learning rate is a number: "auto" has been resolved by a range test. */
export type RunConfig = TrainingConfig & { learningRate: number };

export interface TrainerOptions {
  kernels?: Kernels;
  /** A step report (with diagnostics) every this many steps, and at the last step of each epoch. */
  stepReportEvery?: number;
  /** A warm start: the weights of an earlier model of the same shape, instead of a fresh init. */
  initialParams?: Float32Array;
}

/** What a resumed run may change: how long it goes on. */
export interface ResumeOverrides {
  epochs?: number;
}

export interface TrainerCallbacks {
  onStep?(report: StepReport): void;
  /** Called after each epoch, once the trainer's state is at the epoch boundary: a checkpoint() here resumes at the next epoch. */
  onEpoch?(report: EpochReport): void;
  /** Called when a stalled run starts again from fresh weights; epochs go on counting from where they were. */
  onRestart?(restart: RestartReport): void;
  /** Polled before every batch; returning true ends run() with reason "stopped". */
  shouldStop?(): boolean;
}

export interface RestartReport {
  /** Fresh starts so far, this one included. */
  restarts: number;
  /** The last epoch of the attempt that stalled, and where it stalled. */
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
}

export interface TrainingOutcome {
  /**
   * completed: ran every epoch; early_stopped: the validation loss stopped improving;
   * converged: with nothing held out, the training loss stopped improving; stopped: shouldStop said so.
   */
  reason: 'completed' | 'early_stopped' | 'converged' | 'stopped';
  epochsCompleted: number;
  /** The epoch with the lowest monitored loss (validation loss when there is validation data, else training loss), and its metrics. */
  bestEpoch: number | null;
  best: EpochMetrics | null;
  restarts: number;
}

const DEFAULT_STEP_REPORT_EVERY = 20;
/** Early stopping waits at least this many steps, so full-batch runs on a few samples get past slow stretches. */
export const MIN_PATIENCE_STEPS = 200;
/** Times a stalled run goes on at RATE_DROP of its rate before early stopping ends it. */
export const MAX_RATE_DROPS = 2;
const RATE_DROP = 0.1;
/** A small run whose training loss falls by less than this share over `patience` epochs has plateaued. */
const PLATEAU_IMPROVEMENT = 0.01;
/** Weight of the newest step in the smoothed loss. */
const LOSS_SMOOTHING = 0.3;
/** A smoothed loss this many times the first step's loss (or 1, if larger) means the run diverged. */
const EXPLODED_LOSS_FACTOR = 10;

/** Derives independent streams from one seed: splitmix32 scrambles nearby seeds into unrelated states. */
const SEED_STREAMS = { init: 0, shuffle: 0x1000, noise: 0x2000, rangeTest: 0x3000, restart: 0x4000 } as const;

/**
 * Mini-batch training with per-epoch shuffling, an optimizer, L2, dropout, a learning-rate
 * schedule, augmentation and early stopping, reporting diagnostics as it goes. Synchronous:
 * run it in a worker thread. With one thread, the same seed, config and data give bit-identical
 * weights, and a checkpoint taken between any two steps resumes to the same result.
 */
export class Trainer {
  readonly config: RunConfig;
  readonly network: Network;
  /** The range test's curve and choice, when the job asked for learningRate "auto". */
  readonly learningRateSearch: LearningRateSearch | null = null;
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
  private readonly diagnoser: Diagnoser;
  private bestParams: Float32Array | null = null;
  /**
   * Without restoreBest, the weights at the end of the last finished epoch: a run stopped in the
   * middle of an epoch keeps them as its model, so the model holds the weights its metrics (that
   * epoch's) describe. (A checkpoint keeps the weights of the very step, to resume from.)
   */
  private epochEndParams: Float32Array | null = null;
  private latestDiagnostics: Diagnostics = emptyDiagnostics();
  private callbacks: TrainerCallbacks = {};
  private state: TrainingState;

  constructor(config: TrainingConfig, train: Dataset, validation: Dataset | null, options: TrainerOptions = {}) {
    checkTrainingConfig(config);
    const outputSize = config.shape[config.shape.length - 1];
    for (const [name, data] of [['training', train], ['validation', validation]] as const) {
      const mismatch = data && shapeMismatch(config.shape, dataShape(data));
      if (mismatch) throw new InvalidConfigError('shape', `the ${name} data does not fit the network: ${mismatch}`);
    }
    if (train.count < 1) throw new InvalidConfigError('datasetId', 'the training data has no samples');
    this.train = train;
    this.validation = validation && validation.count > 0 ? validation : null;
    this.stepReportEvery = Math.max(1, options.stepReportEvery ?? DEFAULT_STEP_REPORT_EVERY);
    this.network = new Network(config, { kernels: options.kernels, maxBatch: Math.max(config.batchSize, DEFAULT_MAX_BATCH) });
    if (options.initialParams) {
      if (options.initialParams.length !== this.network.parameterCount) {
        throw new InvalidConfigError('fromModelId', `the model has ${options.initialParams.length} parameters but a network of shape [${config.shape.join(', ')}] has ${this.network.parameterCount}`);
      }
      this.network.params.set(options.initialParams);
    } else {
      initializeParameters(this.network, config.init, new Rng(config.seed + SEED_STREAMS.init));
    }
    const { kernels, parameterCount: n, weightCount } = this.network;
    this.optimizer = createOptimizer(config.optimizer, { momentum: config.momentum, l2: config.l2, weightCount }, kernels);
    this.optimizerState = kernels.allocate(this.optimizer.stateSlots * n);
    this.optimizerSlots = Array.from({ length: this.optimizer.stateSlots }, (_, slot) =>
      this.optimizerState.subarray(slot * n, (slot + 1) * n),
    );
    this.loader = new BatchLoader(train, this.network.input, outputSize, this.network.maxBatch, this.network.kernels);
    this.order = new Uint32Array(train.count);
    this.weightsBefore = kernels.allocate(weightCount);
    this.activity = new UnitActivity(this.network);
    this.shuffleRng = new Rng(config.seed + SEED_STREAMS.shuffle);
    this.noiseRng = new Rng(config.seed + SEED_STREAMS.noise);
    if (config.learningRate === 'auto') {
      this.learningRateSearch = this.searchLearningRate(config);
      this.config = { ...config, learningRate: this.learningRateSearch.chosen };
    } else {
      this.config = { ...config, learningRate: config.learningRate };
    }
    this.diagnoser = new Diagnoser(this.config, profileData(train, outputSize));
    this.state = {
      epochsCompleted: 0,
      stepInEpoch: 0,
      step: 0,
      shuffleRngState: this.shuffleRng.state(),
      noiseRngState: this.noiseRng.state(),
      epochLossSum: 0,
      epochCorrect: 0,
      epochSeen: 0,
      bestLoss: null,
      bestEpoch: null,
      bestMetrics: null,
      epochsWithoutImprovement: 0,
      initialLoss: null,
      smoothedLoss: null,
      restarts: 0,
      stallAccuracy: null,
      rateDrops: 0,
      attemptStartStep: 0,
      attemptStartEpoch: 0,
      plateauReferenceLoss: null,
    };
  }

  /**
   * Continues a run from a checkpoint() taken between any two of its steps. Without overrides it
   * goes on bit for bit; a new `epochs` stretches or cuts the schedule from where the run stands.
   */
  static resume(checkpoint: Uint8Array, train: Dataset, validation: Dataset | null, options: TrainerOptions = {}, overrides: ResumeOverrides = {}): Trainer {
    const { header, sections } = decodeSnapshot(checkpoint);
    if (header.kind !== 'checkpoint' || !header.training) {
      throw new SnapshotFormatError('this snapshot holds a model only; training can resume only from a checkpoint');
    }
    const config = { ...header.config, ...overrides };
    if (config.epochs < header.training.epochsCompleted) {
      throw new InvalidConfigError('epochs', `the run has already completed ${header.training.epochsCompleted} epochs; ask for at least that many`);
    }
    const trainer = new Trainer(config, train, validation, { ...options, initialParams: undefined });
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

  /** Optimizer steps taken in the whole run. */
  get stepsTaken(): number {
    return this.state.step;
  }

  get diagnostics(): Diagnostics {
    return this.latestDiagnostics;
  }

  get stepsPerEpoch(): number {
    return stepsPerEpoch(this.train.count, this.config.batchSize);
  }

  /** Epochs without improvement before early stopping ends the run, or null without early stopping. */
  get patience(): number | null {
    const early = this.config.earlyStopping;
    return early ? Math.max(early.patience, Math.ceil(MIN_PATIENCE_STEPS / this.stepsPerEpoch)) : null;
  }

  run(callbacks: TrainerCallbacks = {}): TrainingOutcome {
    const { config, state } = this;
    const { batchSize, epochs } = config;
    const count = this.train.count;
    const stepsPerEpoch = this.stepsPerEpoch;
    const totalSteps = stepsPerEpoch * epochs;
    const patience = this.patience;
    this.callbacks = callbacks;

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
        learningRate = this.scheduledRate(state.step, totalSteps);
        const lastOfEpoch = state.stepInEpoch === stepsPerEpoch - 1;
        const firstOfAttempt = state.step === state.attemptStartStep;
        const report = lastOfEpoch || firstOfAttempt || (state.step + 1) % this.stepReportEvery === 0;
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
      const validation = this.validation ? evaluate(this.network, this.validation) : null;
      const improved = this.improves(validation);
      const stalled = patience !== null && !improved && state.epochsWithoutImprovement + 1 >= patience;
      const restartsCannotHelp = this.restartsCannotHelp(validation);
      if (restartsCannotHelp && stalled) this.diagnoser.restartsCannotHelp();
      const canRestart = patience !== null && this.lastTrainAccuracy() < 1 && !restartsCannotHelp && state.restarts < config.maxRestarts && state.epochsCompleted + 1 < epochs;
      const restart = canRestart && (stalled || this.plateaued(patience));
      const lowerRate = stalled && !restart && state.rateDrops < MAX_RATE_DROPS;
      const ends = stalled && !restart && !lowerRate;
      const epochReport = this.finishEpoch(
        seconds, seconds > 0 ? samplesThisRun / seconds : 0, learningRate, validation, improved, ends ? { kind: 'stalled' } : null,
      );
      if (restart) this.restart(epochReport);
      if (lowerRate) this.dropRate();
      callbacks.onEpoch?.(epochReport);
      if (ends) {
        this.restoreBestWeights();
        return this.outcome(this.validation ? 'early_stopped' : 'converged');
      }
    }
    this.restoreBestWeights();
    return this.outcome('completed');
  }

  /**
   * The schedule restarts with each fresh start, over the epochs the run has left (like warm
   * restarts, Loshchilov and Hutter, 2017), scaled down by RATE_DROP for each plateau so far.
   */
  private scheduledRate(step: number, totalSteps: number): number {
    const { config, state } = this;
    const from = state.attemptStartStep;
    const scale = Math.pow(RATE_DROP, state.rateDrops);
    return scale * scheduledLearningRate(config.schedule, config.learningRate, step - from, this.stepsPerEpoch, totalSteps - from);
  }

  /** The schedule's share of a rate, without the plateau drops: the diagnosis judges the schedule the job chose, not the trainer's own cuts. */
  private scheduleOnly(learningRate: number): number {
    return learningRate / Math.pow(RATE_DROP, this.state.rateDrops);
  }

  /**
   * Early stopping's first stalls lower the rate instead of ending the run, as Keras's
   * ReduceLROnPlateau does: a loss that has stopped falling at one rate often falls again at a
   * tenth of it, since the steps no longer overshoot the valley floor. The run goes on from its
   * best weights, with the patience counter cleared.
   */
  private dropRate(): void {
    const { state } = this;
    state.rateDrops++;
    state.epochsWithoutImprovement = 0;
    if (this.bestParams) this.network.params.set(this.bestParams);
  }

  /**
   * Every `patience` epochs, whether the training loss fell by less than PLATEAU_IMPROVEMENT of
   * itself since the last check. A run creeping toward a local minimum keeps beating its best by
   * a little, so the absolute test of early stopping takes thousands of epochs to call it.
   */
  private plateaued(patience: number): boolean {
    const { state } = this;
    const epochInAttempt = state.epochsCompleted + 1 - state.attemptStartEpoch;
    if (epochInAttempt % patience !== 0) return false;
    const loss = state.epochLossSum / state.epochSeen;
    const reference = state.plateauReferenceLoss;
    state.plateauReferenceLoss = loss;
    return reference !== null && reference - loss < PLATEAU_IMPROVEMENT * reference;
  }

  /** The training accuracy of the epoch in progress, over the samples seen so far. */
  private lastTrainAccuracy(): number {
    return this.state.epochSeen > 0 ? this.state.epochCorrect / this.state.epochSeen : 0;
  }

  /**
   * Whether a fresh start could not do better than this attempt, as held-out data tells:
   * - the network fits its training data better than it does validation's (it overfits: new
   *   weights would fit the training data again, not generalise better);
   * - or this attempt stalled where the one before it did, while validation does as well as the
   *   training data: two starts from different weights that end at the same accuracy, which
   *   validation matches, have met the data's own limit (classes that overlap, labels that are
   *   noisy), not a local minimum that another start could escape.
   * Accuracies count as the same within two standard errors on the validation set.
   */
  private restartsCannotHelp(validation: Evaluation | null): boolean {
    if (validation === null || validation.count === 0) return false;
    const train = this.lastTrainAccuracy();
    const noise = 2 * Math.sqrt((train * (1 - train)) / validation.count);
    if (train > validation.accuracy + noise) return true;
    const previous = this.state.stallAccuracy ?? null;
    return previous !== null && train >= previous - noise && validation.accuracy >= train - noise;
  }

  /**
   * A run that stalled before fitting a small training set sits in a local minimum: draw new
   * weights from the next seed stream, clear the optimizer's momentum and the early-stopping
   * record, and go on from the next epoch with the schedule started again.
   */
  private restart(stalledEpoch: EpochReport): void {
    const { state, network } = this;
    state.restarts++;
    state.stallAccuracy = stalledEpoch.trainAccuracy;
    initializeParameters(network, this.config.init, new Rng(this.config.seed + SEED_STREAMS.restart + state.restarts));
    network.kernels.zero(this.optimizerState);
    this.bestParams = null;
    state.bestLoss = null;
    state.bestEpoch = null;
    state.bestMetrics = null;
    state.epochsWithoutImprovement = 0;
    state.initialLoss = null;
    state.smoothedLoss = null;
    state.attemptStartStep = state.step;
    state.attemptStartEpoch = state.epochsCompleted;
    state.rateDrops = 0;
    state.plateauReferenceLoss = null;
    this.diagnoser.restarted();
    this.callbacks.onRestart?.({
      restarts: state.restarts, epoch: stalledEpoch.epoch, trainLoss: stalledEpoch.trainLoss, trainAccuracy: stalledEpoch.trainAccuracy,
    });
  }

  /**
   * Runs the range test on a copy of the start: its own batch order and noise stream, so the
   * run that follows is bit-identical to one submitted with the chosen rate. The initial weights
   * and a zero optimizer state are put back afterwards.
   */
  private searchLearningRate(config: TrainingConfig): LearningRateSearch {
    const { network } = this;
    const initial = Float32Array.from(network.params);
    const rng = new Rng(config.seed + SEED_STREAMS.rangeTest);
    const order = new Uint32Array(this.train.count);
    const batch = Math.min(config.batchSize, this.train.count);
    let start = this.train.count;
    let t = 0;
    const search = rangeTest((learningRate) => {
      if (start + batch > this.train.count) {
        for (let i = 0; i < order.length; i++) order[i] = i;
        rng.shuffle(order);
        start = 0;
      }
      const loss = this.forwardBackward(order, start, batch, config.augment, config.dropout, rng);
      start += batch;
      this.optimizer.step(network.params, network.grads, this.optimizerSlots, learningRate, ++t);
      return loss;
    });
    network.params.set(initial);
    network.kernels.zero(this.optimizerState);
    return search;
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

  /**
   * An inference-only snapshot of the weights the run keeps: the best epoch's when early stopping
   * restores them, so a run stopped or cut short by its runtime gives the model its metrics describe.
   */
  modelSnapshot(): Uint8Array {
    const kept = this.config.earlyStopping?.restoreBest && this.bestParams ? this.bestParams : this.epochEndParams ?? this.network.params;
    return encodeSnapshot(
      { kind: 'model', config: this.config, parameterCount: this.network.parameterCount, epochsCompleted: this.state.epochsCompleted },
      { params: kept },
    );
  }

  /** Loads a batch, runs it forward and back, and returns its mean loss; gradients are left in network.grads. */
  private forwardBackward(order: Uint32Array, start: number, batch: number, augment: TrainingConfig['augment'], dropout: number, rng: Rng): number {
    const { network, loader } = this;
    loader.fill(order, start, batch, augment, rng);
    network.forward(batch, dropout, rng);
    return network.backward(loader.target, batch, dropout);
  }

  private trainStep(start: number, batch: number, learningRate: number, diagnose: boolean): number {
    const { network, config, state, loader } = this;
    const loss = this.forwardBackward(this.order, start, batch, config.augment, config.dropout, this.noiseRng);
    const out = network.outputLayer.a;
    this.activity.record(batch);
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
    this.optimizer.step(network.params, network.grads, this.optimizerSlots, learningRate, state.step - state.attemptStartStep + 1);
    if (diagnose) {
      const layers = measureLayers(network, batch, norms, this.weightsBefore, this.activity);
      this.activity.reset();
      this.diagnoser.recordLayers(layers);
      this.latestDiagnostics = { layers, warnings: this.latestDiagnostics.warnings };
      if (!Number.isFinite(network.kernels.sumOfSquares(network.params))) this.diverged('the weights became NaN or infinite', loss, learningRate);
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
    if (!Number.isFinite(loss)) this.diverged(`the loss became ${loss}`, loss, learningRate);
    this.diagnoser.recordLoss(loss);
    state.initialLoss ??= loss;
    state.smoothedLoss = state.smoothedLoss === null ? loss : (1 - LOSS_SMOOTHING) * state.smoothedLoss + LOSS_SMOOTHING * loss;
    if (state.smoothedLoss > EXPLODED_LOSS_FACTOR * Math.max(state.initialLoss, 1)) {
      this.diverged(`the loss exploded from ${formatNumber(state.initialLoss)} to ${formatNumber(loss)}`, loss, learningRate);
    }
  }

  /** Whether the monitored loss (validation loss when data is held out, else the epoch's training loss) beats its best by minDelta. */
  private improves(validation: Evaluation | null): boolean {
    const { state, config } = this;
    const loss = validation?.loss ?? state.epochLossSum / state.epochSeen;
    return state.bestLoss === null || loss < state.bestLoss - (config.earlyStopping?.minDelta ?? 0);
  }

  private finishEpoch(
    seconds: number, samplesPerSecond: number, learningRate: number, validation: Evaluation | null, best: boolean, ending: RunEnding,
  ): EpochReport {
    const { state, config, network } = this;
    const epoch = state.epochsCompleted + 1;
    const trainLoss = state.epochLossSum / state.epochSeen;
    const trainAccuracy = state.epochCorrect / state.epochSeen;
    const valLoss = validation?.loss;
    const valAccuracy = validation?.accuracy;
    if (best) {
      state.bestLoss = valLoss ?? trainLoss;
      state.bestEpoch = epoch;
      state.bestMetrics = { epoch, trainLoss, trainAccuracy, ...(validation && { valLoss, valAccuracy }) };
      state.epochsWithoutImprovement = 0;
      if (config.earlyStopping?.restoreBest) {
        this.bestParams ??= new Float32Array(network.parameterCount);
        this.bestParams.set(network.params);
      }
    } else {
      state.epochsWithoutImprovement++;
    }
    if (!config.earlyStopping?.restoreBest) {
      this.epochEndParams ??= new Float32Array(network.parameterCount);
      this.epochEndParams.set(network.params);
    }
    this.diagnoser.recordEpoch({ epoch, trainLoss, trainAccuracy, ...(validation && { valLoss, valAccuracy }) });
    const progress = state.step / (this.stepsPerEpoch * config.epochs);
    const diagnostics: Diagnostics = { layers: this.latestDiagnostics.layers, warnings: this.diagnoser.diagnose(this.scheduleOnly(learningRate), progress, ending) };
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
    };
  }

  private restoreBestWeights(): void {
    if (this.bestParams && this.config.earlyStopping?.restoreBest) this.network.params.set(this.bestParams);
  }

  private outcome(reason: TrainingOutcome['reason']): TrainingOutcome {
    const { state } = this;
    return { reason, epochsCompleted: state.epochsCompleted, bestEpoch: state.bestEpoch, best: state.bestMetrics, restarts: state.restarts };
  }

  /** Reports the step that blew up, so the loss curve shows it, then throws with the diagnosis of why. */
  private diverged(what: string, loss: number, learningRate: number): never {
    const { state, config } = this;
    const epoch = state.epochsCompleted + 1;
    const step = state.stepInEpoch + 1;
    const where = `${what} at epoch ${epoch}, step ${step} of ${this.stepsPerEpoch}`;
    const progress = state.step / (this.stepsPerEpoch * config.epochs);
    const warnings = this.diagnoser.diagnose(this.scheduleOnly(learningRate), progress, { kind: 'diverged', what: where });
    const diagnostics: Diagnostics = { layers: this.latestDiagnostics.layers, warnings };
    this.callbacks.onStep?.({
      epoch, step: state.step + 1, stepsPerEpoch: this.stepsPerEpoch, loss: Number.isFinite(loss) ? loss : Number.MAX_VALUE,
      learningRate, samplesPerSecond: 0, diagnostics,
    });
    throw new TrainingDivergedError(warnings[0].message, epoch, step, warnings[0].advice, diagnostics);
  }
}
