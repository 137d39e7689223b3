import assert from 'node:assert/strict';
import { test } from 'node:test';
import { continuesAtRung, rungEpochs } from '../../src/sweeps/asha.js';

test('rungs start at minEpochs, are η apart, and stay below maxEpochs', () => {
  assert.deepEqual(rungEpochs({ minEpochs: 1, reductionFactor: 3, maxEpochs: 27 }), [1, 3, 9]);
  assert.deepEqual(rungEpochs({ minEpochs: 2, reductionFactor: 2, maxEpochs: 20 }), [2, 4, 8, 16]);
  assert.deepEqual(rungEpochs({ minEpochs: 5, reductionFactor: 3, maxEpochs: 5 }), []);
});

test('the first trial at a rung goes on; later ones only within the top ceil(n/η)', () => {
  assert.equal(continuesAtRung([], 0.1, 3, 'max'), true);
  assert.equal(continuesAtRung([0.9], 0.8, 3, 'max'), false, 'two at the rung: only the best goes on');
  assert.equal(continuesAtRung([0.9], 0.95, 3, 'max'), true);
  assert.equal(continuesAtRung([0.9, 0.5, 0.7], 0.8, 3, 'max'), true, 'four at the rung: the top two go on');
  assert.equal(continuesAtRung([0.9, 0.5, 0.8], 0.7, 3, 'max'), false);
});

test('a tie goes the trial\'s way, and for a loss lower is better', () => {
  assert.equal(continuesAtRung([0.9], 0.9, 3, 'max'), true);
  assert.equal(continuesAtRung([0.3], 0.2, 3, 'min'), true);
  assert.equal(continuesAtRung([0.3], 0.4, 3, 'min'), false);
});

test('over many arrivals about 1/η of a rung goes on', () => {
  const values = Array.from({ length: 90 }, (_, i) => ((i * 37) % 90) / 90);
  const continuing = values.filter((value, i) => continuesAtRung(values.slice(0, i), value, 3, 'max')).length;
  assert.ok(continuing >= 30 && continuing <= 45, `${continuing} of 90 went on`);
});
