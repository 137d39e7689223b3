import type { Network } from './network.js';
import type { Diagnostics, FloatArray, LayerDiagnostics } from './types.js';

/** |z| beyond which σ'(z) < 0.018 and tanh'(z) < 0.0014: the unit has practically stopped learning. */
export const SATURATION_THRESHOLD = 4;

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
      zRms: Math.sqrt(kernels.sumOfSquares(layer.z.subarray(0, batch * layer.outDim)) / (batch * layer.outDim)),
    };
  });
}

function saturatedFraction(z: FloatArray, n: number): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (z[i] > SATURATION_THRESHOLD || z[i] < -SATURATION_THRESHOLD) count++;
  return n > 0 ? count / n : 0;
}

/** Rounds for messages: 3 significant digits. */
export const formatNumber = (value: number): string => String(Number(value.toPrecision(3)));

/** A fraction as a percentage for messages, 3 significant digits: 0.7534 is "75.3%". */
export const formatPercent = (fraction: number): string => `${formatNumber(fraction * 100)}%`;

export function emptyDiagnostics(): Diagnostics {
  return { layers: [], warnings: [] };
}
