/**
 * Asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel Hyperparameter
 * Tuning", MLSys 2020), in its early-stopping form: every trial starts, and when it reaches a rung
 * (minEpochs, minEpochs·η, minEpochs·η², … below maxEpochs) its validation metric there is compared
 * with those of the trials that reached that rung before it. Only the top 1/η go on; the rest stop.
 * Nothing waits for a rung to fill, so workers never idle: early trials face a lenient rung, late
 * ones a crowded one, which is the paper's trade of a few wrong promotions for no synchronisation.
 * Pure functions of numbers, so the rule is tested without a queue.
 */

export interface AshaOptions {
  /** Epochs at the first rung: the least a trial runs. */
  minEpochs: number;
  /** η: each rung keeps the top 1/η, and rungs are η times apart in epochs. */
  reductionFactor: number;
  /** The most epochs a trial runs; no rung at or above it. */
  maxEpochs: number;
}

export type MetricDirection = 'max' | 'min';

/** The epochs at which a trial is judged, in order. */
export function rungEpochs({ minEpochs, reductionFactor, maxEpochs }: AshaOptions): number[] {
  const rungs: number[] = [];
  for (let epoch = minEpochs; epoch < maxEpochs; epoch = Math.round(epoch * reductionFactor)) rungs.push(epoch);
  return rungs;
}

/**
 * Whether a trial with `value` at a rung goes on, given the values recorded at that rung before it:
 * it must rank within the top ceil(n / η) of the n values there, itself included (ties in its favour).
 */
export function continuesAtRung(earlier: readonly number[], value: number, reductionFactor: number, direction: MetricDirection): boolean {
  const better = earlier.filter((other) => (direction === 'max' ? other > value : other < value)).length;
  return better < Math.ceil((earlier.length + 1) / reductionFactor);
}

/** The better of two metric values. */
export function better(a: number, b: number, direction: MetricDirection): number {
  return direction === 'max' ? Math.max(a, b) : Math.min(a, b);
}
