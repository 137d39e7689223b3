import type { Network } from './network.js';
import type { Diagnostics, FloatArray, LayerDiagnostics, TrainingConfig } from './types.js';

/** |z| beyond which σ'(z) < 0.018 and tanh'(z) < 0.0014: the unit has practically stopped learning. */
export const SATURATION_THRESHOLD = 4;
/** Above these fractions a layer gets a warning. */
const SATURATED_WARNING_FRACTION = 0.5;
const DEAD_WARNING_FRACTION = 0.5;
/** Per-step weight change relative to the weights; about 1e-3 is healthy. */
const UPDATE_RATIO_WARNING = 0.1;

/** Gradient norms per layer, read before the optimizer step. */
export function gradientNorms(network: Network): number[] {
  const { kernels } = network;
  return network.layers.map((layer) => Math.sqrt(kernels.sumOfSquares(layer.dWeight) + kernels.sumOfSquares(layer.dBias)));
}

/**
 * Which relu units fired (z > 0) for at least one sample since the last reset. One batch is
 * too few samples to call a unit dead: on sparse images a healthy unit is often silent for
 * a dozen samples, so activity is gathered over every step between two reports.
 */
export class UnitActivity {
  /** Per relu layer, each unit's largest z since the last reset, from 0: a unit fired if its peak is above 0. */
  private readonly peaks: FloatArray[];

  constructor(private readonly network: Network) {
    const hidden = network.layers.slice(0, -1);
    this.peaks = network.activation.name === 'relu' ? hidden.map((layer) => network.kernels.allocate(layer.outDim)) : [];
  }

  record(batch: number): void {
    const { kernels, layers } = this.network;
    for (let l = 0; l < this.peaks.length; l++) kernels.columnMax(this.peaks[l], layers[l].z, batch, layers[l].outDim);
  }

  /** Fraction of the layer's units that never fired since the last reset; null for non-relu layers. */
  deadFraction(layer: number): number | null {
    const peak = this.peaks[layer];
    if (!peak) return null;
    let dead = 0;
    for (let j = 0; j < peak.length; j++) if (peak[j] <= 0) dead++;
    return dead / peak.length;
  }

  reset(): void {
    for (const peak of this.peaks) this.network.kernels.zero(peak);
  }
}

/**
 * Per-layer health after a step: the gradient norms measured before it, the size of the
 * step relative to the weights, saturation over the last batch, and dead units since the last report.
 */
export function measureLayers(
  network: Network, batch: number, gradNorms: number[], weightsBefore: FloatArray, activity: UnitActivity,
): LayerDiagnostics[] {
  const { kernels } = network;
  const last = network.layers.length - 1;
  let offset = 0;
  return network.layers.map((layer, l) => {
    const before = weightsBefore.subarray(offset, offset + layer.weight.length);
    offset += layer.weight.length;
    const weightNorm = Math.sqrt(kernels.sumOfSquares(before));
    const saturating = l < last ? network.activation.family === 'saturating' : network.config.outputActivation === 'sigmoid';
    return {
      layer: l + 1,
      gradientNorm: gradNorms[l],
      updateRatio: weightNorm > 0 ? Math.sqrt(kernels.sumOfSquaredDifferences(layer.weight, before)) / weightNorm : 0,
      saturatedFraction: saturating ? saturatedFraction(layer.z, batch * layer.outDim) : null,
      deadFraction: activity.deadFraction(l),
    };
  });
}

function saturatedFraction(z: FloatArray, n: number): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (z[i] > SATURATION_THRESHOLD || z[i] < -SATURATION_THRESHOLD) count++;
  return n > 0 ? count / n : 0;
}

const percent = (fraction: number): string => `${Math.round(fraction * 100)}%`;

/** Rounds for messages: 3 significant digits. */
export const formatNumber = (value: number): string => String(Number(value.toPrecision(3)));

function unitKind(config: TrainingConfig, layer: number, layers: number): string {
  return layer === layers ? `${config.outputActivation} output` : config.activation;
}

/** Plain-language warnings for a person looking at a run that is not learning. */
export function warningsFor(config: TrainingConfig, layers: LayerDiagnostics[], learningRate: number): string[] {
  const warnings: string[] = [];
  const positiveUniform = config.init.kind === 'uniform' && (config.init.low ?? -0.05) >= 0;
  for (const layer of layers) {
    if (layer.saturatedFraction !== null && layer.saturatedFraction > SATURATED_WARNING_FRACTION) {
      const cause = positiveUniform
        ? 'the initial weights are all positive and too large; use xavier init (the default for sigmoid and tanh)'
        : 'lower the learning rate, or use xavier init or the relu activation';
      warnings.push(
        `${percent(layer.saturatedFraction)} of ${unitKind(config, layer.layer, layers.length)} units in layer ${layer.layer} ` +
          `are saturated (|z| > ${SATURATION_THRESHOLD}), so their gradients vanish and they stop learning: ${cause}`,
      );
    }
    if (layer.deadFraction !== null && layer.deadFraction > DEAD_WARNING_FRACTION) {
      warnings.push(
        `${percent(layer.deadFraction)} of relu units in layer ${layer.layer} are dead (they output 0 for every sample ` +
          'since the last report, so they get no gradient): lower the learning rate or use leaky_relu',
      );
    }
    if (layer.updateRatio > UPDATE_RATIO_WARNING) {
      warnings.push(
        `the weights of layer ${layer.layer} change by ${percent(layer.updateRatio)} in one step (about 0.1% is healthy): ` +
          `the learning rate ${formatNumber(learningRate)} is probably too high`,
      );
    }
  }
  return warnings;
}

/** Below this per-step weight change the learning rate is too small to get anywhere. */
const STALLED_UPDATE_RATIO = 1e-5;

/** Epoch-level warning: accuracy no better than guessing, with the likeliest cause. */
export function chanceLevelWarning(accuracy: number, classes: number, epoch: number, layers: LayerDiagnostics[], learningRate: number): string | null {
  const chance = 1 / Math.max(2, classes);
  if (accuracy > chance * 1.5) return null;
  const stalled = layers.length > 0 && layers.every((layer) => layer.updateRatio < STALLED_UPDATE_RATIO);
  const cause = stalled
    ? `the learning rate ${formatNumber(learningRate)} is too small: the weights change by less than 0.001% per step; try 0.05 with momentum, or 0.001 with adam`
    : 'read the warnings above, and try the default init and a learning rate near 0.05';
  return `training accuracy is ${percent(accuracy)} after epoch ${epoch}, about chance level for ${Math.max(2, classes)} classes: the network is not learning; ${cause}`;
}

/** What to tell a person whose loss became NaN or infinite. */
export function divergenceAdvice(learningRate: number): string {
  const suggestion = Number((learningRate / 10).toPrecision(1));
  return (
    `lower the learning rate to ${formatNumber(suggestion)} or below; ` +
    'if it still diverges, try the adam optimizer with learning rate 0.001'
  );
}

export function emptyDiagnostics(): Diagnostics {
  return { layers: [], warnings: [] };
}
