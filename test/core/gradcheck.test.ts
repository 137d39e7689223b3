import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradientCheck, HIDDEN_ACTIVATIONS, referenceKernels, type InitConfig, type Kernels, type LossName, type OutputActivationName } from '../../src/core/index.js';

const HEADS: [OutputActivationName, LossName][] = [
  ['softmax', 'cross_entropy'],
  ['sigmoid', 'cross_entropy'],
  ['softmax', 'mse'],
  ['sigmoid', 'mse'],
  ['linear', 'mse'],
];
const INITS: InitConfig[] = [{ kind: 'he' }, { kind: 'xavier' }, { kind: 'uniform', low: -0.5, high: 0.5, bias: 0.1 }];
const TOLERANCE = 1e-6;

describe('gradient check: backprop against float64 central differences', () => {
  for (const activation of HIDDEN_ACTIVATIONS) {
    for (const [outputActivation, loss] of HEADS) {
      for (const init of INITS) {
        it(`${activation} hidden, ${outputActivation} + ${loss}, ${init.kind} init`, () => {
          const result = gradientCheck({ shape: [6, 5, 4, 3], activation, outputActivation, loss }, { init, seed: 11 });
          assert.equal(result.checked, 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
          assert.ok(
            result.maxRelativeError < TOLERANCE,
            `max relative error ${result.maxRelativeError.toExponential(2)} at layer ${result.worst.layer} ${result.worst.kind} ` +
              `(analytic ${result.worst.analytic}, numeric ${result.worst.numeric})`,
          );
        });
      }
    }
  }

  it('samples parameters of a big network and still agrees', () => {
    const result = gradientCheck(
      { shape: [784, 100, 10], activation: 'relu', outputActivation: 'softmax', loss: 'cross_entropy' },
      { init: { kind: 'he' }, sampleParameters: 200, batch: 2 },
    );
    assert.equal(result.checked, 200);
    assert.ok(result.maxRelativeError < TOLERANCE, `max relative error ${result.maxRelativeError}`);
  });

  it('catches a wrong derivative', () => {
    // The check must be able to fail: kernels whose weight gradient misses the last sample of the batch.
    const dropsLastSample: Kernels = {
      ...referenceKernels,
      matmulBackwardWeight: (dWeight, dBias, dOut, inp, batch, inDim, outDim) =>
        referenceKernels.matmulBackwardWeight(dWeight, dBias, dOut, inp, batch - 1, inDim, outDim),
    };
    const result = gradientCheck(
      { shape: [3, 3, 2], activation: 'sigmoid', outputActivation: 'softmax', loss: 'cross_entropy' },
      { init: { kind: 'xavier' }, kernels: dropsLastSample },
    );
    assert.ok(result.maxRelativeError > 1e-2, `max relative error ${result.maxRelativeError}`);
  });
});
