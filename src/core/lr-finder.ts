/** One point of a learning-rate range test: the smoothed loss seen while training at that rate. */
export interface LearningRatePoint {
  learningRate: number;
  loss: number;
}

export interface LearningRateSearch {
  chosen: number;
  /** The rate at which the smoothed loss was lowest; `chosen` is a tenth of it. */
  lowestLossAt: number;
  curve: LearningRatePoint[];
}

/** The range swept, in optimizer steps, and when the sweep gives up. */
export const RANGE_TEST_STEPS = 100;
export const RANGE_TEST_MIN_RATE = 1e-6;
export const RANGE_TEST_MAX_RATE = 10;
/** The sweep stops once the smoothed loss is this many times its lowest: every larger rate diverges too. */
const DIVERGED_FACTOR = 4;
/** Weight of the history in the smoothed loss (fast.ai's lr_find uses the same). */
const SMOOTHING = 0.98;
/** The rate used is the lowest-loss rate divided by this: at the minimum itself the loss is about to turn up. */
const SAFETY_DIVISOR = 10;

/**
 * The learning-rate range test of Smith (2015), "Cyclical Learning Rates for Training Neural
 * Networks", as fast.ai's lr_find runs it: train from the initial weights while the rate grows
 * geometrically from RANGE_TEST_MIN_RATE to RANGE_TEST_MAX_RATE, one step per rate, and record the
 * bias-corrected exponential moving average of the loss. The loss falls faster as the rate grows,
 * then turns up and explodes; a tenth of the rate at the lowest loss is safely on the falling side.
 * `trainStep` takes one optimizer step at the given rate and returns that batch's loss; the caller
 * puts the initial weights back afterwards.
 */
export function rangeTest(trainStep: (learningRate: number) => number, steps = RANGE_TEST_STEPS): LearningRateSearch {
  const growth = Math.pow(RANGE_TEST_MAX_RATE / RANGE_TEST_MIN_RATE, 1 / (steps - 1));
  const curve: LearningRatePoint[] = [];
  let average = 0;
  let lowest = Infinity;
  let lowestLossAt = RANGE_TEST_MIN_RATE;
  for (let i = 0; i < steps; i++) {
    const learningRate = RANGE_TEST_MIN_RATE * Math.pow(growth, i);
    const loss = trainStep(learningRate);
    if (!Number.isFinite(loss)) break;
    average = SMOOTHING * average + (1 - SMOOTHING) * loss;
    const smoothed = average / (1 - Math.pow(SMOOTHING, i + 1));
    curve.push({ learningRate, loss: smoothed });
    if (smoothed < lowest) {
      lowest = smoothed;
      lowestLossAt = learningRate;
    }
    if (smoothed > DIVERGED_FACTOR * lowest) break;
  }
  const chosen = Number(Math.max(RANGE_TEST_MIN_RATE, lowestLossAt / SAFETY_DIVISOR).toPrecision(2));
  return { chosen, lowestLossAt, curve };
}
