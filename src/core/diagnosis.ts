import { SATURATION_THRESHOLD, formatNumber, formatPercent } from './diagnostics.js';
import { classCount } from './evaluate.js';
import { scheduledLearningRate } from './schedule.js';
import { DEFAULT_LEARNING_RATES, MAX_STALL_RESTARTS, NARROW_HIDDEN_WIDTH, RESTART_MAX_SAMPLES, stepsPerEpoch } from './training-config.js';
import type { Dataset, EpochMetrics, LayerDiagnostics, TrainingConfig, TrainingWarning, WarningCode } from './types.js';

/** A saturating layer with more than this share of |z| > 4 has mostly stopped learning. */
const SATURATED_FRACTION = 0.5;
/** Logits with a root mean square above this put a softmax at 0 or 1 for almost every sample. */
const SATURATED_LOGIT_RMS = 20;
const DEAD_FRACTION = 0.5;
/**
 * Per-step weight change relative to the weights, at its peak over the first reports: the default
 * rates give 1-3.5% on MNIST-sized networks (bench:scenarios' healthy runs, and 784-800-10 at batch
 * 16), a rate 10x too high 6-10%. With the early reports' median above HIGH_UPDATE_RATIO the steps
 * overshoot on that evidence alone (one large step is common with plain sgd at Nielsen's 0.5 on
 * sigmoid); with the peak above ELEVATED_UPDATE_RATIO they do when relu units also died during training.
 */
const HIGH_UPDATE_RATIO = 0.1;
const ELEVATED_UPDATE_RATIO = 0.05;
/**
 * Relu units silent over a whole report that were alive at the first step: healthy runs end with
 * 4-9% of them, while a rate 10x too high kills 45-65%. Large steps push a unit's bias and
 * weights to where no sample lifts z above 0, and it never comes back (CS231n, "dying relu").
 */
const DYING_FRACTION = 0.25;
/** Below this the weights barely move: a run would need millions of steps to get anywhere. */
const LOW_UPDATE_RATIO = 1e-4;
/**
 * Reports at the start of each attempt that measure the step size: the rate is still near the
 * submitted one under any schedule, and momentum has built up (the first step of momentum or Adam
 * is smaller than the ones after it).
 */
const EARLY_REPORTS = 5;
/** Float inputs with a root mean square or a largest value beyond these have not been scaled. */
const UNSCALED_INPUT_RMS = 10;
const UNSCALED_INPUT_MAX = 100;
/** A training accuracy below this, once the loss has stopped falling, is a network that cannot fit its data. */
const UNDERFIT_ACCURACY = 0.9;
const POOR_FIT_ACCURACY = 0.75;
/** Overfitting: validation loss this far above its best, and training accuracy this far above validation's. */
const OVERFIT_LOSS_RATIO = 1.2;
const OVERFIT_ACCURACY_GAP = 0.1;
const OVERFIT_EPOCHS_AFTER_BEST = 3;
/**
 * A network has memorised its training set when its training loss is this many times below the
 * validation loss: a weight decay or a falling rate can hold the validation loss flat at its best
 * instead of letting it rise, while the gap between the two (Goodfellow et al., Deep Learning,
 * 5.2) is what overfitting is. Healthy runs keep the two within 2x.
 */
const OVERFIT_MEMORISED_RATIO = 5;
/** A schedule has decayed to nothing when the rate is below this share of the submitted one with this much of the run ahead. */
const DECAYED_RATE_FRACTION = 0.01;
const DECAYED_REMAINING_FRACTION = 0.25;
/**
 * The loss has stopped falling when the last RECENT_EPOCHS improved the training loss by less than
 * this share, or did not beat the best monitored loss (validation, when data is held out) of the
 * epochs before them by this share: augmented batches make the training loss wander by about that much.
 */
const STALLED_IMPROVEMENT = 0.01;
const RECENT_EPOCHS = 5;
/** Reports whose layer measurements are weighed together. */
const WINDOW_REPORTS = 5;
/** At least this many hidden layers of sigmoid or tanh make a stack deep enough for gradients to compound. */
const DEEP_SATURATING_LAYERS = 3;
/** Gradient norms of two layers this many times apart at the first step cannot both be served by one learning rate. */
const GRADIENT_SPREAD = 10;
/** Rows sampled to measure the scale of float inputs. */
const INPUT_PROFILE_ROWS = 1_000;

/** What the diagnosis needs to know about the training data, measured once. */
export interface DataProfile {
  count: number;
  classes: number;
  /** Share of the most common class: the accuracy of always guessing it. */
  majorityFraction: number;
  /** True for inputs used as they are (CSV or JSON floats), false for 0..255 bytes scaled to 0..1. */
  floatInputs: boolean;
  inputRms: number;
  inputMaxAbs: number;
  isImage: boolean;
}

export function profileData(data: Dataset, outputSize: number): DataProfile {
  const classes = classCount(outputSize);
  let majorityFraction = 0;
  if (data.labels) {
    const counts = new Array<number>(classes).fill(0);
    for (let i = 0; i < data.count; i++) counts[data.labels[i]]++;
    majorityFraction = Math.max(...counts) / Math.max(1, data.count);
  }
  let sumSquares = 0;
  let maxAbs = 0;
  const floatInputs = data.inputs instanceof Float32Array;
  const rows = Math.min(data.count, INPUT_PROFILE_ROWS);
  if (floatInputs) {
    const stride = data.count / rows;
    for (let r = 0; r < rows; r++) {
      const start = Math.floor(r * stride) * data.inputSize;
      for (let i = 0; i < data.inputSize; i++) {
        const value = data.inputs[start + i];
        sumSquares += value * value;
        if (Math.abs(value) > maxAbs) maxAbs = Math.abs(value);
      }
    }
  }
  return {
    count: data.count,
    classes,
    majorityFraction,
    floatInputs,
    inputRms: floatInputs ? Math.sqrt(sumSquares / Math.max(1, rows * data.inputSize)) : 0,
    inputMaxAbs: maxAbs,
    isImage: Boolean(data.width && data.height),
  };
}

type EpochEvidence = EpochMetrics;

/** How the run ended, when it has: diverged (with what blew up), or stalled in early stopping's sense. */
export type RunEnding = { kind: 'diverged'; what: string } | { kind: 'stalled' } | null;

/**
 * Evidence about one run, gathered over windows of reports rather than one step, and a
 * ranked diagnosis from it. The diagnosis starts from what the job submitted (its learning rate,
 * not the schedule's current one; its init; its activation) and never advises a value the job
 * already uses. A finding that another one explains is left out rather than listed beside its
 * cause: units that large steps killed or saturated are part of the learning-rate finding.
 */
export class Diagnoser {
  private firstLayers: LayerDiagnostics[] | null = null;
  private readonly window: LayerDiagnostics[][] = [];
  /** The first EARLY_REPORTS reports of the attempt: later, dead or saturated units and a decayed schedule hide the step size. */
  private readonly early: LayerDiagnostics[][] = [];
  private readonly recent: EpochEvidence[] = [];
  private best: EpochEvidence | null = null;
  /** The best monitored loss of the epochs that have left the `recent` window. */
  private bestBeforeRecent: number | null = null;
  private initialLoss: number | null = null;
  private peakLoss = 0;
  private previousLoss: number | null = null;
  /**
   * Whether the loss ever rose from one step to the next while the early reports were gathered.
   * A ratio of update to weights is large for weights that start near 0 (a two-weight output
   * layer) however gently the run learns; a loss that fell at every step did not overshoot.
   */
  private earlyLossRose = false;
  private restarts = 0;
  private noLocalMinimum = false;
  /** Epochs before this attempt began: a fresh start starts the schedule again. */
  private attemptStartEpoch = 0;
  /** The epoch whose first step the schedule had cut below DECAYED_RATE_FRACTION of the submitted rate. */
  private decayedEpoch: number | null = null;

  constructor(
    private readonly config: TrainingConfig & { learningRate: number },
    private readonly data: DataProfile,
  ) {}

  recordLoss(loss: number): void {
    this.initialLoss ??= loss;
    if (loss > this.peakLoss) this.peakLoss = loss;
    if (this.early.length < EARLY_REPORTS && this.previousLoss !== null && loss > this.previousLoss) this.earlyLossRose = true;
    this.previousLoss = loss;
  }

  /** The early window counts reports, not epochs, so it is as long on 4 samples as on 60,000. */
  recordLayers(layers: LayerDiagnostics[]): void {
    this.firstLayers ??= layers;
    this.window.push(layers);
    if (this.window.length > WINDOW_REPORTS) this.window.shift();
    if (this.early.length < EARLY_REPORTS) this.early.push(layers);
  }

  recordEpoch(evidence: EpochEvidence): void {
    this.recent.push(evidence);
    if (this.recent.length > RECENT_EPOCHS) {
      const left = monitoredLoss(this.recent.shift()!);
      this.bestBeforeRecent = Math.min(this.bestBeforeRecent ?? left, left);
    }
    if (!this.best || monitoredLoss(evidence) < monitoredLoss(this.best)) this.best = evidence;
    if (this.decayedEpoch === null && this.scheduleShare(evidence.epoch + 1) < DECAYED_RATE_FRACTION) this.decayedEpoch = evidence.epoch + 1;
  }

  /** The trainer found the run stalled where no fresh start could help (see Trainer.restartsCannotHelp): no local minimum to name. */
  restartsCannotHelp(): void {
    this.noLocalMinimum = true;
  }

  /** A fresh start forgets the last attempt's evidence but counts it. */
  restarted(): void {
    this.restarts++;
    this.attemptStartEpoch = this.recent.at(-1)?.epoch ?? this.attemptStartEpoch;
    this.firstLayers = null;
    this.window.length = 0;
    this.early.length = 0;
    this.recent.length = 0;
    this.best = null;
    this.bestBeforeRecent = null;
    this.initialLoss = null;
    this.peakLoss = 0;
    this.previousLoss = null;
    this.earlyLossRose = false;
    this.decayedEpoch = null;
  }

  /**
   * Ranked warnings; `learningRate` is the rate now (the schedule's, times any drops on a plateau)
   * and `progress` the share of planned steps taken.
   */
  diagnose(learningRate: number, progress: number, ending: RunEnding = null): TrainingWarning[] {
    const findings = ending?.kind === 'diverged' ? [this.divergenceCause(ending.what)] : this.runFindings(learningRate, progress, ending);
    return consistent(findings);
  }

  /** What a blow-up came from, told apart by what was measured before it: the first step's z and the inputs. */
  private divergenceCause(what: string): TrainingWarning {
    const { config } = this;
    const saturation = this.initSaturation();
    const lead = `training diverged: ${what}`;
    if (saturation && config.init.kind === 'uniform') {
      const warning = this.initSaturationWarning(saturation);
      return { ...warning, severity: 'error', message: `${lead}. ${warning.message}` };
    }
    if (this.unscaledInputs()) return { ...this.unscaledInputsWarning(), severity: 'error', message: `${lead}. ${this.unscaledInputsMessage()}` };
    if (this.deepSaturating()) return { ...this.explodingGradients(null), severity: 'error', message: `${lead}. ${this.explodingGradientsMessage()}` };
    const lowerRate = this.lowerRate();
    return {
      code: 'LEARNING_RATE_TOO_HIGH',
      severity: 'error',
      message: `${lead}: with learningRate ${formatNumber(config.learningRate)} (${config.optimizer}) each step overshoots the minimum it aims at, and the loss grows instead of falling`,
      advice: `${this.lowerRateAdvice(lowerRate)}, or set it to "auto" to have a range test pick one`,
      field: 'learningRate',
      suggestion: lowerRate,
    };
  }

  private runFindings(learningRate: number, progress: number, ending: RunEnding): TrainingWarning[] {
    const last = this.recent.at(-1);
    if (!last) return [];
    const { config, data } = this;
    const findings: TrainingWarning[] = [];
    const fit = fitAccuracy(last);
    const fitted = fit >= UNDERFIT_ACCURACY;
    const stalled = ending?.kind === 'stalled' || this.lossStalled();
    const atChance = last.trainAccuracy <= this.chanceCeiling();
    const struggling = atChance || (stalled && !fitted);

    // A saturating init makes outsized gradients at any rate, so the steps it causes do not count against the rate.
    const saturation = this.initSaturation();
    const initSaturated = saturation !== null && config.init.kind === 'uniform';
    // Not only a stalled run: a wide init that saturates most units from the first step still lets
    // the loss creep down, far more slowly than a scaled init would.
    if (initSaturated && (struggling || !fitted)) findings.push(this.initSaturationWarning(saturation));
    if (this.unscaledInputs() && (struggling || !fitted)) findings.push(this.unscaledInputsWarning());

    const dead = this.deadLayer();
    const dying = this.dyingLayer();
    const peakUpdate = this.earlyPeakUpdateRatio();
    const overshot = !initSaturated && (
      (this.earlyLossRose && (
        this.earlyMedianUpdateRatio() > HIGH_UPDATE_RATIO ||
        // In a deep saturating stack whose layer gradients differ 10x, one large step is the compounding itself.
        (peakUpdate > HIGH_UPDATE_RATIO && this.deepSaturating() && this.gradientSpread()) ||
        (peakUpdate > ELEVATED_UPDATE_RATIO && dying !== null))) ||
      (this.initialLoss !== null && this.peakLoss > 3 * this.initialLoss)
    );
    const saturatedHidden = this.saturatedLayer();
    if (overshot && !fitted) {
      findings.push(this.deepSaturating() && this.gradientSpread() ? this.explodingGradients(saturatedHidden) : this.rateTooHigh(dying, saturatedHidden));
    }
    // Units that large steps killed belong to the rate finding, and the few units of a narrow layer
    // that died in a small stalled run are the local minimum it names; the rest are their own finding.
    const smallStall = data.count <= RESTART_MAX_SAMPLES && stalled && last.trainAccuracy < 1 && progress > 0 && !this.noLocalMinimum;
    const narrowDeath = dead !== null && smallStall && config.shape[dead.layer] < NARROW_HIDDEN_WIDTH && (config.init.bias ?? 0) >= 0;
    if (dead && !fitted && !(overshot && dying) && !narrowDeath) findings.push(this.deadReluWarning(dead));

    const { decayedEpoch } = this;
    const decayed = decayedEpoch !== null && 1 - (decayedEpoch - 1) / config.epochs > DECAYED_REMAINING_FRACTION;
    const earlyUpdate = this.earlyMedianUpdateRatio();
    if (decayed && stalled && !fitted) {
      findings.push(this.decayedSchedule(decayedEpoch, learningRate));
    } else if (earlyUpdate < LOW_UPDATE_RATIO && !dead && !initSaturated && !fitted && this.lossBarelyFell()) {
      // Dead units and saturated inits also make tiny steps, whatever the rate.
      findings.push(this.rateTooLow(earlyUpdate));
    }

    if (saturatedHidden && struggling && !overshot) findings.push(this.saturationWarning(saturatedHidden));

    // Capacity is blamed only when nothing above explains a poor fit: a network held back by its rate, init or inputs says nothing about its size.
    const explained = findings.length > 0;
    if (smallStall) findings.push(this.localMinimum(last, atChance, dead));
    else if (!explained && stalled && !atChance && this.recent.length >= 3 && this.underfit(last)) findings.push(this.underfitting(last));

    const overfit = this.overfitting(last);
    if (overfit) findings.push(overfit);

    if (findings.length === 0 && atChance && this.recent.length >= 2) findings.push(this.notLearning(last));
    return findings;
  }

  /** Accuracy no better than always guessing the commonest class, give or take what a sample this small can tell apart. */
  private chanceCeiling(): number {
    const { majorityFraction: p, count } = this.data;
    const noise = 2 * Math.sqrt((p * (1 - p)) / Math.max(1, count));
    return p + Math.min(noise, 0.25 * (1 - p));
  }

  private lossStalled(): boolean {
    if (this.recent.length < RECENT_EPOCHS) return false;
    const first = this.recent[0].trainLoss;
    const last = this.recent[this.recent.length - 1].trainLoss;
    if (first - last < STALLED_IMPROVEMENT * first) return true;
    if (this.bestBeforeRecent === null) return false;
    const recentBest = Math.min(...this.recent.map(monitoredLoss));
    return recentBest > (1 - STALLED_IMPROVEMENT) * this.bestBeforeRecent;
  }

  private lossBarelyFell(): boolean {
    const last = this.recent.at(-1);
    return this.initialLoss !== null && last !== undefined && last.trainLoss > 0.9 * this.initialLoss;
  }

  /**
   * The schedule's own share of the submitted rate at the first step of `epoch` (counted from 1),
   * without the trainer's drops on a plateau: those answer a stall, they do not cause one.
   */
  private scheduleShare(epoch: number): number {
    const { config, data } = this;
    const steps = stepsPerEpoch(data.count, config.batchSize);
    const from = this.attemptStartEpoch * steps;
    const rate = scheduledLearningRate(config.schedule, config.learningRate, (epoch - 1) * steps - from, steps, config.epochs * steps - from);
    return rate / config.learningRate;
  }

  /** Largest update ratio of any layer over the attempt's first reports. */
  private earlyPeakUpdateRatio(): number {
    return Math.max(0, ...this.early.map(largestUpdateRatio));
  }

  private earlyMedianUpdateRatio(): number {
    const ratios = this.early.map(largestUpdateRatio).sort((a, b) => a - b);
    return ratios.length > 0 ? ratios[Math.floor(ratios.length / 2)] : Infinity;
  }

  /** A layer saturated at the first step: large |z| before any learning can only come from the init or the inputs. */
  private initSaturation(): { layer: number; message: string } | null {
    const layers = this.firstLayers;
    if (!layers) return null;
    const last = layers.length;
    for (const layer of layers) {
      const saturated = layer.saturatedFraction !== null ? layer.saturatedFraction > SATURATED_FRACTION : layer.zRms > SATURATED_LOGIT_RMS;
      if (!saturated) continue;
      const units = layer.layer === last ? `${this.config.outputActivation} output` : this.config.activation;
      const share = layer.saturatedFraction !== null ? `${formatPercent(layer.saturatedFraction)} of its ${units} units saturated` : `its ${units} pinned at 0 and 1`;
      return {
        layer: layer.layer,
        message: `at the first step layer ${layer.layer} had |z| ≈ ${formatNumber(layer.zRms)} (root mean square), ${share}, before any learning`,
      };
    }
    return null;
  }

  private initSaturationWarning(saturation: { layer: number; message: string }): TrainingWarning {
    const { init, activation, shape } = this.config;
    const fanIn = shape[saturation.layer - 1];
    const allPositive = init.kind === 'uniform' && (init.low ?? -0.05) >= 0;
    const cause = allPositive
      ? `the ${describeInit(init)} init makes every weight positive, so ${fanIn} inputs add up instead of cancelling out`
      : `the ${describeInit(init)} init is too wide for ${fanIn} inputs`;
    const better = activation === 'relu' || activation === 'leaky_relu' ? 'he' : 'xavier';
    return {
      code: 'INIT_SATURATION',
      severity: 'warning',
      message: `${saturation.message}: ${cause}, and saturated units pass back almost no gradient`,
      advice: `set init to "${better}", which scales the weights to each layer's ${better === 'he' ? 'fan-in' : 'fan-in and fan-out'} and centres them on 0`,
      field: 'init',
      suggestion: better,
    };
  }

  private unscaledInputs(): boolean {
    const { data } = this;
    return data.floatInputs && (data.inputRms > UNSCALED_INPUT_RMS || data.inputMaxAbs > UNSCALED_INPUT_MAX);
  }

  private unscaledInputsMessage(): string {
    return `the inputs are not scaled: their root mean square is ${formatNumber(this.data.inputRms)} and the largest is ${formatNumber(this.data.inputMaxAbs)}, so the first layer's z is that many times larger than its init expects`;
  }

  private unscaledInputsWarning(): TrainingWarning {
    return {
      code: 'UNSCALED_INPUTS',
      severity: 'warning',
      message: this.unscaledInputsMessage(),
      advice: this.data.isImage || this.data.inputMaxAbs <= 255
        ? 'scale the inputs to 0..1 (divide pixels by 255) and upload the dataset again, or upload the images as IDX bytes, which are scaled for you'
        : 'standardise each input column (subtract its mean, divide by its standard deviation) and upload the dataset again',
      field: 'datasetId',
    };
  }

  private deadLayer(): LayerDiagnostics | null {
    if (this.window.length < 2) return null;
    const recent = this.window.slice(-2);
    const layers = recent[recent.length - 1];
    return layers.find((layer, l) => recent.every((report) => (report[l].deadFraction ?? 0) > DEAD_FRACTION)) ?? null;
  }

  /** A relu layer alive at the first step and more than DYING_FRACTION silent over each of the last two reports. */
  private dyingLayer(): LayerDiagnostics | null {
    const first = this.firstLayers;
    if (!first || this.window.length < 2) return null;
    const recent = this.window.slice(-2);
    const layers = recent[recent.length - 1];
    return layers.find((layer, l) => (first[l].deadFraction ?? 1) < DYING_FRACTION
      && recent.every((report) => (report[l].deadFraction ?? 0) > DYING_FRACTION)) ?? null;
  }

  private deadReluWarning(layer: LayerDiagnostics): TrainingWarning {
    const { init, activation } = this.config;
    const message = `${formatPercent(layer.deadFraction ?? 0)} of the relu units in layer ${layer.layer} are dead: they output 0 for every sample, so they get no gradient and cannot come back`;
    if ((init.bias ?? 0) < 0) {
      return {
        code: 'DEAD_RELU', severity: 'warning', message: `${message}; the biases start at ${init.bias}, below every unit's threshold`,
        advice: 'set init.bias to 0 (or leave init out for he init with zero biases)', field: 'init', suggestion: { kind: init.kind, bias: 0 },
      };
    }
    if (activation === 'relu') {
      return {
        code: 'DEAD_RELU', severity: 'warning', message,
        advice: 'set activation to "leaky_relu", whose small negative slope keeps a gradient flowing through silent units', field: 'activation', suggestion: 'leaky_relu',
      };
    }
    const lowerRate = this.lowerRate();
    return {
      code: 'DEAD_RELU', severity: 'warning', message,
      advice: this.lowerRateAdvice(lowerRate), field: 'learningRate', suggestion: lowerRate,
    };
  }

  private rateTooHigh(dying: LayerDiagnostics | null, saturated: LayerDiagnostics | null): TrainingWarning {
    const { config } = this;
    const lowerRate = this.lowerRate();
    return {
      code: 'LEARNING_RATE_TOO_HIGH',
      severity: 'warning',
      message: `learningRate ${formatNumber(config.learningRate)} (${config.optimizer}) is too high: early in training a layer's weights changed by up to ${formatPercent(this.earlyPeakUpdateRatio())} in one step, where the default rates stay within about 3%${this.largeStepEffects(dying, saturated)}`,
      advice: `${this.lowerRateAdvice(lowerRate)}, or set it to "auto" to have a range test pick one`,
      field: 'learningRate',
      suggestion: lowerRate,
    };
  }

  /** What oversized steps did to the units: killed relus, or drove sigmoid and tanh units into saturation. */
  private largeStepEffects(dying: LayerDiagnostics | null, saturated: LayerDiagnostics | null): string {
    if (dying) return `; the large steps killed ${formatPercent(dying.deadFraction ?? 0)} of the relu units in layer ${dying.layer}, which now output 0 for every sample`;
    if (saturated) return `; the large steps drove ${formatPercent(saturated.saturatedFraction ?? 0)} of the ${this.config.activation} units in layer ${saturated.layer} into saturation, where they pass back almost no gradient`;
    return '';
  }

  /**
   * The layers with the smallest and largest gradient norms at the first step, when they are at
   * least GRADIENT_SPREAD apart: each layer of a sigmoid or tanh stack scales the gradient it
   * passes down by its weights times σ'(z) (at most 0.25 for sigmoid), so across a deep stack
   * one layer's gradient can be hundreds of times another's.
   */
  private gradientSpread(): { low: LayerDiagnostics; high: LayerDiagnostics } | null {
    const layers = this.firstLayers?.filter((layer) => layer.gradientNorm > 0);
    if (!layers || layers.length < 2) return null;
    const low = layers.reduce((a, b) => (b.gradientNorm < a.gradientNorm ? b : a));
    const high = layers.reduce((a, b) => (b.gradientNorm > a.gradientNorm ? b : a));
    return high.gradientNorm >= GRADIENT_SPREAD * low.gradientNorm ? { low, high } : null;
  }

  private explodingGradientsMessage(): string {
    const { config } = this;
    const hidden = config.shape.length - 2;
    const spread = this.gradientSpread();
    const measured = spread
      ? `; at the first step layer ${spread.high.layer}'s gradient was ${formatNumber(spread.high.gradientNorm / spread.low.gradientNorm)} times layer ${spread.low.layer}'s`
      : '';
    return `in a stack of ${hidden} ${config.activation} layers each layer scales the gradient it passes down${measured}, so no one learning rate suits every layer: at ${formatNumber(config.learningRate)} (${config.optimizer}) the layers with the largest gradients overshoot`;
  }

  private explodingGradients(saturated: LayerDiagnostics | null): TrainingWarning {
    const { config } = this;
    const lowerRate = this.lowerRate();
    const peak = this.early.length > 0 ? `, their weights changing by up to ${formatPercent(this.earlyPeakUpdateRatio())} in one step` : '';
    return {
      code: 'EXPLODING_GRADIENTS',
      severity: 'warning',
      message: `${this.explodingGradientsMessage()}${peak}${this.largeStepEffects(null, saturated)}`,
      advice: `lower learningRate from ${formatNumber(config.learningRate)} to ${formatNumber(lowerRate)}; a stack this deep also trains faster as relu with he init, whose gradients keep their scale from layer to layer`,
      field: 'learningRate',
      suggestion: lowerRate,
    };
  }

  private rateTooLow(updateRatio: number): TrainingWarning {
    const { config } = this;
    const typical = DEFAULT_LEARNING_RATES[config.optimizer];
    const higher = typical > 3 * config.learningRate ? typical : Number((config.learningRate * 10).toPrecision(1));
    return {
      code: 'LEARNING_RATE_TOO_LOW',
      severity: 'warning',
      message: `learningRate ${formatNumber(config.learningRate)} (${config.optimizer}) is too small: early in training the weights changed by ${formatNumber(updateRatio * 100)}% per step, where the default rates move them 1-3%, and the loss has barely moved from ${formatNumber(this.initialLoss ?? 0)}`,
      advice: `raise learningRate to ${formatNumber(higher)}, or set it to "auto" to have a range test pick one`,
      field: 'learningRate',
      suggestion: higher,
    };
  }

  private decayedSchedule(epoch: number, learningRate: number): TrainingWarning {
    const { config } = this;
    const share = this.scheduleShare(epoch);
    const ahead = formatPercent(1 - (epoch - 1) / config.epochs);
    return {
      code: 'SCHEDULE_DECAYED',
      severity: 'warning',
      message: `the ${describeSchedule(config)} schedule cut the learning rate from ${formatNumber(config.learningRate)} to ${formatNumber(share * config.learningRate)} by epoch ${epoch}, with ${ahead} of the run still ahead (it is ${formatNumber(learningRate)} now), so training stopped making progress`,
      advice: 'set schedule to { "kind": "cosine", "minLearningRate": 0 }, which decays smoothly over the whole run, or use a step schedule with a larger gamma',
      field: 'schedule',
      suggestion: { kind: 'cosine', minLearningRate: 0 },
    };
  }

  private saturatedLayer(): LayerDiagnostics | null {
    const layers = this.window.at(-1);
    if (!layers) return null;
    return layers.slice(0, -1).find((layer) => (layer.saturatedFraction ?? 0) > SATURATED_FRACTION) ?? null;
  }

  private saturationWarning(layer: LayerDiagnostics): TrainingWarning {
    const { config } = this;
    const message = `${formatPercent(layer.saturatedFraction ?? 0)} of the ${config.activation} units in layer ${layer.layer} are saturated (|z| > ${SATURATION_THRESHOLD}), so their gradients vanish and the loss has stopped falling`;
    if (config.init.kind === 'uniform') {
      return { code: 'SATURATION', severity: 'warning', message, advice: 'set init to "xavier", which keeps z near 0 at the start', field: 'init', suggestion: 'xavier' };
    }
    return { code: 'SATURATION', severity: 'warning', message, advice: 'set activation to "relu" (with he init, its default), which does not saturate for large z', field: 'activation', suggestion: 'relu' };
  }

  private localMinimum(last: EpochEvidence, atChance: boolean, dead: LayerDiagnostics | null): TrainingWarning {
    const { config, data } = this;
    const right = Math.round(last.trainAccuracy * data.count);
    const restarts = this.restarts > 0 ? ` after ${this.restarts} fresh start${this.restarts === 1 ? '' : 's'} from new initial weights` : '';
    const deadUnits = dead ? `; ${Math.round((dead.deadFraction ?? 0) * config.shape[dead.layer])} of the ${config.shape[dead.layer]} relu units in layer ${dead.layer} are dead` : '';
    const message = `training is stuck at ${formatPercent(last.trainAccuracy)} (${right} of ${data.count} training samples right${atChance ? ', chance level' : ''})${restarts}${deadUnits}: the loss stopped falling in a local minimum that a network this size can escape only from a different start`;
    const narrowest = Math.min(...config.shape.slice(1, -1));
    if (config.activation === 'relu' && narrowest < NARROW_HIDDEN_WIDTH) {
      return { code: 'LOCAL_MINIMUM', severity: 'warning', message, advice: `set activation to "tanh": with ${narrowest} relu units one dead unit is enough to stall the run`, field: 'activation', suggestion: 'tanh' };
    }
    if (config.maxRestarts < MAX_STALL_RESTARTS) {
      return { code: 'LOCAL_MINIMUM', severity: 'warning', message, advice: `set maxRestarts to ${MAX_STALL_RESTARTS} to start again from new weights when a run stalls`, field: 'maxRestarts', suggestion: MAX_STALL_RESTARTS };
    }
    return { code: 'LOCAL_MINIMUM', severity: 'warning', message, advice: `widen the hidden layers: set shape to [${widened(config.shape, 2 * narrowest).join(', ')}]`, field: 'shape', suggestion: widened(config.shape, 2 * narrowest) };
  }

  /**
   * Too little capacity: training accuracy stopped low behind a hidden layer narrower than the
   * classes, or very low. Augmented or regularised runs sit a few points below their held-out
   * accuracy, so a high-80s training accuracy alone is no sign.
   */
  private underfit(last: EpochEvidence): boolean {
    const hidden = this.config.shape.slice(1, -1);
    const bottleneck = hidden.length === 0 || Math.min(...hidden) < this.data.classes;
    const fit = fitAccuracy(last);
    return fit < POOR_FIT_ACCURACY || (bottleneck && fit < UNDERFIT_ACCURACY);
  }

  private underfitting(last: EpochEvidence): TrainingWarning {
    const { config, data } = this;
    const hidden = config.shape.slice(1, -1);
    const narrowest = hidden.length > 0 ? Math.min(...hidden) : 0;
    // At least twice the narrowest layer, so the advice never repeats the shape the job has.
    const width = Math.max(64, 4 * data.classes, 2 * narrowest);
    const shape = hidden.length > 0 ? widened(config.shape, width) : [config.shape[0], width, config.shape[1]];
    const bottleneck = hidden.length > 0 && narrowest < data.classes
      ? `: its narrowest hidden layer has ${narrowest} units for ${data.classes} classes`
      : hidden.length === 0 ? ': it has no hidden layer' : '';
    const validation = last.valAccuracy !== undefined ? ` (${formatPercent(last.valAccuracy)} on validation)` : '';
    return {
      code: 'UNDERFITTING',
      severity: 'warning',
      message: `the network is too small for this data${bottleneck}; training accuracy stopped at ${formatPercent(last.trainAccuracy)}${validation}, so it cannot even fit the samples it trains on`,
      advice: `give it more capacity: set shape to [${shape.join(', ')}]`,
      field: 'shape',
      suggestion: shape,
    };
  }

  /**
   * The validation loss has stopped improving for OVERFIT_EPOCHS_AFTER_BEST epochs and training
   * accuracy is well above validation's, and either the validation loss has risen from its best
   * or the training loss has fallen far below it: both are a network learning its training
   * samples rather than the task.
   */
  private overfitting(last: EpochEvidence): TrainingWarning | null {
    const { best, config, data } = this;
    if (!best || best.valLoss === undefined || last.valLoss === undefined || last.valAccuracy === undefined) return null;
    if (last.epoch - best.epoch < OVERFIT_EPOCHS_AFTER_BEST || last.trainAccuracy - last.valAccuracy < OVERFIT_ACCURACY_GAP) return null;
    const risen = last.valLoss >= OVERFIT_LOSS_RATIO * best.valLoss;
    const memorised = last.valLoss >= OVERFIT_MEMORISED_RATIO * last.trainLoss;
    if (!risen && !memorised) return null;
    const kept = config.earlyStopping?.restoreBest ? `; the model keeps the weights of epoch ${best.epoch}` : '';
    const loss = risen
      ? `validation loss was lowest at epoch ${best.epoch} (${formatNumber(best.valLoss)}) and has risen to ${formatNumber(last.valLoss)}`
      : `validation loss has not improved since epoch ${best.epoch} and is ${formatNumber(last.valLoss)}, ${formatNumber(last.valLoss / last.trainLoss)} times the training loss of ${formatNumber(last.trainLoss)}`;
    const message = `the network is overfitting its ${data.count} training samples: ${loss}, while training accuracy is ${formatPercent(last.trainAccuracy)} against ${formatPercent(last.valAccuracy)} on validation${kept}`;
    if (data.isImage && !config.augment) {
      return { code: 'OVERFITTING', severity: 'warning', message, advice: 'set augment to { "maxShift": 2, "maxRotationDegrees": 10 } so each epoch sees shifted and rotated copies, or upload more data', field: 'augment', suggestion: { maxShift: 2, maxRotationDegrees: 10 } };
    }
    if (config.dropout < 0.3) {
      return { code: 'OVERFITTING', severity: 'warning', message, advice: 'set dropout to 0.3, or upload more data', field: 'dropout', suggestion: 0.3 };
    }
    const l2 = Number(Math.max(1e-3, config.l2 * 10).toPrecision(1));
    return { code: 'OVERFITTING', severity: 'warning', message, advice: `set l2 to ${l2}, or upload more data`, field: 'l2', suggestion: l2 };
  }

  private notLearning(last: EpochEvidence): TrainingWarning {
    const { config } = this;
    const message = `training accuracy is ${formatPercent(last.trainAccuracy)} after epoch ${last.epoch}, no better than always guessing the commonest class (${formatPercent(this.data.majorityFraction)})`;
    return {
      code: 'NOT_LEARNING',
      severity: 'warning',
      message,
      advice: `set learningRate to "auto" to have a range test find a rate that learns, from the ${formatNumber(config.learningRate)} this job uses`,
      field: 'learningRate',
      suggestion: 'auto',
    };
  }

  private deepSaturating(): boolean {
    const { config } = this;
    return config.shape.length - 2 >= DEEP_SATURATING_LAYERS && (config.activation === 'sigmoid' || config.activation === 'tanh');
  }

  /**
   * A tenth of the submitted rate, rounded to one significant digit, and never above the
   * optimizer's default: a rate thousands of times too high would otherwise take as many rounds of
   * tenths, each a failed run, to come down.
   */
  private lowerRate(): number {
    const { learningRate, optimizer } = this.config;
    return Math.min(Number((learningRate / 10).toPrecision(1)), DEFAULT_LEARNING_RATES[optimizer]);
  }

  /** "lower learningRate to 0.05 (momentum's default)". */
  private lowerRateAdvice(rate: number): string {
    const { optimizer } = this.config;
    return `lower learningRate to ${formatNumber(rate)}${rate === DEFAULT_LEARNING_RATES[optimizer] ? ` (${optimizer}'s default)` : ''}`;
  }
}

/** Keeps the first finding per field and per code, so two pieces of advice never pull one value two ways. */
function consistent(findings: TrainingWarning[]): TrainingWarning[] {
  const fields = new Set<string>();
  const codes = new Set<WarningCode>();
  const kept: TrainingWarning[] = [];
  for (const finding of findings) {
    if (codes.has(finding.code) || (finding.field && fields.has(finding.field))) continue;
    codes.add(finding.code);
    if (finding.field) fields.add(finding.field);
    kept.push(finding);
  }
  return kept;
}

/** The loss early stopping watches: validation's when data is held out, else the training loss. */
const monitoredLoss = (e: EpochEvidence): number => e.valLoss ?? e.trainLoss;

/**
 * How well the network fits clean data: training accuracy is measured on augmented batches with
 * dropout on, so it sits below what the network does on unaltered samples, which validation shows.
 */
const fitAccuracy = (e: EpochEvidence): number => Math.max(e.trainAccuracy, e.valAccuracy ?? 0);

const largestUpdateRatio = (layers: LayerDiagnostics[]): number => Math.max(...layers.map((layer) => layer.updateRatio));

function widened(shape: readonly number[], width: number): number[] {
  return shape.map((units, l) => (l === 0 || l === shape.length - 1 ? units : Math.max(units, width)));
}

function describeInit(init: TrainingConfig['init']): string {
  return init.kind === 'uniform' ? `uniform(${init.low ?? -0.05}, ${init.high ?? 0.05})` : init.kind;
}

function describeSchedule(config: TrainingConfig): string {
  const { schedule } = config;
  return schedule.kind === 'step' ? `step (×${schedule.gamma} every ${schedule.everyEpochs} epoch${schedule.everyEpochs === 1 ? '' : 's'})` : schedule.kind;
}

