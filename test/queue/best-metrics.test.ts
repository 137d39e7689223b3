import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EpochRecord } from '../../src/queue/job-schema.js';
import { bestMetricsOf } from '../../src/queue/job-store.js';

const epoch = (metrics: Partial<EpochRecord>): EpochRecord => ({
  epoch: 1, trainLoss: 1, trainAccuracy: 0.5, seconds: 1, samplesPerSecond: 100, learningRate: 0.1, ...metrics,
});

test('the best losses are the lowest finite ones and the best accuracies the highest, each from its own epoch', () => {
  const best = bestMetricsOf(null, [
    epoch({ trainLoss: 0.9, trainAccuracy: 0.6, valLoss: 0.8, valAccuracy: 0.7 }),
    epoch({ trainLoss: 0.3, trainAccuracy: 0.9, valLoss: 0.5, valAccuracy: 0.85 }),
    epoch({ trainLoss: Number.NaN, trainAccuracy: 0.1, valLoss: Number.POSITIVE_INFINITY, valAccuracy: 0.1 }),
  ]);
  assert.deepEqual(best, { trainLoss: 0.3, trainAccuracy: 0.9, valLoss: 0.5, valAccuracy: 0.85 });
});

test('later epochs fold into earlier bests, and a run without validation has no validation bests', () => {
  const first = bestMetricsOf(null, [epoch({ trainLoss: 0.4, trainAccuracy: 0.8 })]);
  assert.deepEqual(first, { trainLoss: 0.4, trainAccuracy: 0.8 });
  assert.deepEqual(bestMetricsOf(first, [epoch({ trainLoss: 0.5, trainAccuracy: 0.85 })]), { trainLoss: 0.4, trainAccuracy: 0.85 });
  assert.equal(bestMetricsOf(first, []), first);
  assert.equal(bestMetricsOf(null, []), null);
});

test('a run whose every loss diverged has no best loss', () => {
  assert.deepEqual(bestMetricsOf(null, [epoch({ trainLoss: Number.NaN, trainAccuracy: 0.1 })]), { trainAccuracy: 0.1 });
});
