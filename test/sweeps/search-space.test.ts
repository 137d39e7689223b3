import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gridSize, gridTrials, randomTrials } from '../../src/sweeps/search-space.js';

test('a grid is every combination of the choices, the last field fastest', () => {
  const space = { shape: { choices: [[784, 32, 10], [784, 64, 10]] }, optimizer: { choices: ['sgd', 'momentum', 'adam'] } };
  assert.equal(gridSize(space), 6);
  assert.deepEqual(gridTrials(space, 4), [
    { shape: [784, 32, 10], optimizer: 'sgd' },
    { shape: [784, 32, 10], optimizer: 'momentum' },
    { shape: [784, 32, 10], optimizer: 'adam' },
    { shape: [784, 64, 10], optimizer: 'sgd' },
  ]);
});

test('random draws repeat for a seed, stay in their ranges, and round integer fields', () => {
  const space = { learningRate: { min: 0.001, max: 0.3, log: true }, batchSize: { min: 16, max: 256 }, dropout: { choices: [0, 0.2] } };
  const integers = new Set(['batchSize']);
  const trials = randomTrials(space, 200, 7, integers);
  assert.deepEqual(randomTrials(space, 200, 7, integers), trials);
  assert.notDeepEqual(randomTrials(space, 200, 8, integers), trials);
  for (const trial of trials) {
    assert.ok((trial.learningRate as number) >= 0.001 && (trial.learningRate as number) <= 0.3);
    assert.ok(Number.isInteger(trial.batchSize) && (trial.batchSize as number) >= 16 && (trial.batchSize as number) <= 256);
    assert.ok([0, 0.2].includes(trial.dropout as number));
  }
  const belowGeometricMiddle = trials.filter((trial) => (trial.learningRate as number) < Math.sqrt(0.001 * 0.3)).length;
  assert.ok(belowGeometricMiddle > 70 && belowGeometricMiddle < 130, `log-uniform: ${belowGeometricMiddle} of 200 below the geometric middle`);
});
