import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOptimizer } from '../../src/core/optimizers.js';
import { scheduledLearningRate } from '../../src/core/schedule.js';

function steps(name: 'sgd' | 'momentum' | 'nesterov' | 'adam', gradients: number[], lr: number, momentum = 0.9): number[] {
  const optimizer = createOptimizer(name, { momentum, l2: 0, weightCount: 1 });
  const params = Float32Array.of(1);
  const state = Array.from({ length: optimizer.stateSlots }, () => new Float32Array(1));
  const trace: number[] = [];
  gradients.forEach((g, t) => {
    optimizer.step(params, Float32Array.of(g), state, lr, t + 1);
    trace.push(params[0]);
  });
  return trace;
}

const close = (actual: number[], expected: number[], tolerance = 1e-6): void => {
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < tolerance, `step ${i + 1}: ${v} vs ${expected[i]}`));
};

describe('optimizers against hand-computed steps', () => {
  it('sgd: w ← w - lr·g', () => close(steps('sgd', [2, 2], 0.1), [0.8, 0.6]));

  it('momentum: v ← μv + g, w ← w - lr·v', () => {
    // v1 = 2, w = 1 - 0.2 = 0.8; v2 = 0.9·2 + 2 = 3.8, w = 0.8 - 0.38 = 0.42
    close(steps('momentum', [2, 2], 0.1), [0.8, 0.42]);
  });

  it('nesterov: v ← μv + g, w ← w - lr·(g + μv)', () => {
    // v1 = 2, w = 1 - 0.1·(2 + 1.8) = 0.62; v2 = 3.8, w = 0.62 - 0.1·(2 + 3.42) = 0.078
    close(steps('nesterov', [2, 2], 0.1), [0.62, 0.078]);
  });

  it('adam: the bias-corrected first step moves each weight by lr, whatever the gradient scale', () => {
    close(steps('adam', [1e-3], 0.01), [0.99], 1e-5);
    close(steps('adam', [1e3], 0.01), [0.99], 1e-5);
    close(steps('adam', [-5], 0.01), [1.01], 1e-5);
  });

  it('L2 decays weights but not biases, in the same pass as the step: g ← g + λ·w', () => {
    // Two weights and a bias, no gradient, λ = 0.5, lr = 1: w ← w - (0 + 0.5·w).
    const params = Float32Array.of(2, -4, 8);
    createOptimizer('sgd', { momentum: 0, l2: 0.5, weightCount: 2 }).step(params, new Float32Array(3), [], 1, 1);
    assert.deepEqual([...params], [1, -2, 8]);
  });
});

describe('learning-rate schedules', () => {
  it('constant stays put', () => assert.equal(scheduledLearningRate({ kind: 'constant' }, 0.1, 500, 100, 1000), 0.1));

  it('step multiplies by gamma every few epochs', () => {
    const schedule = { kind: 'step' as const, everyEpochs: 2, gamma: 0.5 };
    assert.deepEqual([0, 150, 250, 450].map((s) => scheduledLearningRate(schedule, 0.1, s, 100, 1000)), [0.1, 0.1, 0.05, 0.025]);
  });

  it('cosine falls from the base rate to the minimum, halfway at the midpoint', () => {
    const schedule = { kind: 'cosine' as const, minLearningRate: 0.01 };
    assert.equal(scheduledLearningRate(schedule, 0.1, 0, 100, 1000), 0.1);
    assert.ok(Math.abs(scheduledLearningRate(schedule, 0.1, 500, 100, 1000) - 0.055) < 1e-12);
    assert.ok(Math.abs(scheduledLearningRate(schedule, 0.1, 1000, 100, 1000) - 0.01) < 1e-12);
  });
});
