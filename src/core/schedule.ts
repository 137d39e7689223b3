import type { ScheduleConfig } from './types.js';

/** The learning rate for a step (counted from 0) within a run of `totalSteps`. */
export function scheduledLearningRate(
  schedule: ScheduleConfig, baseRate: number, step: number, stepsPerEpoch: number, totalSteps: number,
): number {
  if (schedule.kind === 'constant') return baseRate;
  if (schedule.kind === 'step') {
    const epoch = Math.floor(step / stepsPerEpoch);
    return baseRate * Math.pow(schedule.gamma, Math.floor(epoch / schedule.everyEpochs));
  }
  // Cosine annealing without restarts (Loshchilov and Hutter, 2017), per step.
  const progress = Math.min(1, step / Math.max(1, totalSteps));
  const min = schedule.minLearningRate;
  return min + 0.5 * (baseRate - min) * (1 + Math.cos(Math.PI * progress));
}
