import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classMetrics } from '../../src/core/index.js';

test('per-class metrics match scikit-learn\'s classification_report on a worked example', () => {
  // y_true = [0,0,0,1,1,2], y_pred = [0,0,1,1,2,2]: sklearn gives precision [1, .5, .5], recall [2/3, .5, 1], f1 [.8, .5, 2/3].
  const { perClass, macro } = classMetrics([[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
  const expected = [[1, 2 / 3, 0.8, 3], [0.5, 0.5, 0.5, 2], [0.5, 1, 2 / 3, 1]];
  perClass.forEach(({ precision, recall, f1, support }, k) => {
    for (const [got, want] of [[precision, expected[k][0]], [recall, expected[k][1]], [f1, expected[k][2]], [support, expected[k][3]]]) {
      assert.ok(Math.abs(got - want) < 1e-12, `class ${k}: ${got} vs ${want}`);
    }
  });
  assert.ok(Math.abs(macro.f1 - (0.8 + 0.5 + 2 / 3) / 3) < 1e-12);
});

test('a class never predicted, or never present, scores 0 rather than NaN', () => {
  const { perClass, macro } = classMetrics([[3, 0, 0], [2, 0, 0], [0, 0, 0]]);
  assert.deepEqual(perClass[1], { precision: 0, recall: 0, f1: 0, support: 2 });
  assert.deepEqual(perClass[2], { precision: 0, recall: 0, f1: 0, support: 0 });
  assert.ok(Number.isFinite(macro.precision) && Number.isFinite(macro.f1));
});
