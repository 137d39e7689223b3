import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  evaluate, GRADIENT_CHECK_TOLERANCE, gradientCheck, gradientCheckVerdict, HIDDEN_ACTIVATIONS, MIN_CHECKED_PER_LAYER, Network,
  referenceKernels, Rng, type Dataset, type InitConfig, type Kernels, type LossName, type ModelConfig, type OutputActivationName,
} from '../../src/core/index.js';
import { initializeParameters } from '../../src/core/init.js';
import { digitSplit, xorDataset } from './fixtures.js';

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
    const verdict = gradientCheckVerdict(result, 8);
    assert.equal(verdict.ok, false);
    assert.match(verdict.message, /^Backprop disagrees with finite differences in layer 1 \(\S+\), layer 2 \(\S+\) \(tolerance 1e-5\)/);
    assert.match(verdict.message, /Layer 2 is the first from the output that disagrees/);
  });
});

/** Twelve samples of three inputs and two regression targets each, from a seed. */
function regressionDataset(): Dataset {
  const rng = new Rng(5);
  const count = 12;
  return {
    count,
    inputSize: 3,
    inputs: Float32Array.from({ length: count * 3 }, () => rng.nextFloat() * 2 - 1),
    labels: null,
    targets: Float32Array.from({ length: count * 2 }, () => rng.nextFloat()),
  };
}

describe('gradient check on given samples', () => {
  const digits = digitSplit(40, 0).train;
  const cases: { name: string; model: ModelConfig; samples: Dataset }[] = [
    { name: 'softmax + cross_entropy on digits', model: { shape: [784, 16, 12, 10], activation: 'tanh', outputActivation: 'softmax', loss: 'cross_entropy' }, samples: digits },
    { name: 'one sigmoid output on XOR', model: { shape: [2, 5, 4, 1], activation: 'sigmoid', outputActivation: 'sigmoid', loss: 'cross_entropy' }, samples: xorDataset() },
    { name: 'linear + mse on regression targets', model: { shape: [3, 5, 4, 2], activation: 'tanh', outputActivation: 'linear', loss: 'mse' }, samples: regressionDataset() },
    { name: 'sigmoid hidden, softmax on digits', model: { shape: [784, 16, 12, 10], activation: 'sigmoid', outputActivation: 'softmax', loss: 'cross_entropy' }, samples: digits },
  ];
  for (const { name, model, samples } of cases) {
    it(`${name}: every layer is reported and agrees to the tolerance`, () => {
      const result = gradientCheck(model, { init: { kind: 'xavier' }, seed: 3, samples, sampleParameters: 300 });
      assert.deepEqual(result.layers.map((layer) => layer.layer), [1, 2, 3]);
      for (const layer of result.layers) {
        assert.equal(layer.checked, Math.min(100, layer.parameters), `layer ${layer.layer}`);
        assert.ok(layer.maxRelativeError < GRADIENT_CHECK_TOLERANCE, `layer ${layer.layer}: ${layer.maxRelativeError}`);
        assert.ok(layer.largestGradient > result.gradientFloor, `layer ${layer.layer} gradient ${layer.largestGradient}`);
      }
      assert.equal(result.batch, Math.min(8, samples.count));
      assert.equal(gradientCheckVerdict(result, 8).ok, true);
    });
  }

  it('runs on the weights a job with the seed starts from, and on the samples scaled as training scales them', () => {
    // Eight digits and a batch of eight: the check's batch is the whole dataset, whatever order it draws.
    const samples = digitSplit(8, 0, 4).train;
    const model: ModelConfig = { shape: [784, 20, 10], activation: 'relu', outputActivation: 'softmax', loss: 'cross_entropy' };
    const result = gradientCheck(model, { init: { kind: 'he' }, seed: 9, samples, batch: 8, sampleParameters: 10 });
    const network = new Network(model, { maxBatch: 8 });
    initializeParameters(network, { kind: 'he' }, new Rng(9));
    const expected = evaluate(network, samples).loss;
    assert.ok(Math.abs(result.loss - expected) < 1e-5 * expected, `check loss ${result.loss}, float32 evaluation ${expected}`);
  });

  it('leaves out and reports parameters next to a relu kink instead of failing on them', () => {
    // All-zero inputs put every first-layer relu exactly at its kink: z = bias = 0, so a bias step of +h or -h crosses it.
    const samples: Dataset = { count: 8, inputSize: 3, inputs: new Float32Array(24), labels: Uint8Array.from([0, 1, 0, 1, 0, 1, 0, 1]), targets: null };
    const result = gradientCheck({ shape: [3, 4, 2], activation: 'relu', outputActivation: 'softmax', loss: 'cross_entropy' }, { init: { kind: 'he' }, samples });
    assert.equal(result.layers[0].kinkCrossings, 4);
    assert.equal(result.layers[0].checked, 12);
    const verdict = gradientCheckVerdict(result, 8);
    assert.equal(verdict.ok, true, verdict.message);
    assert.match(verdict.message, /4 parameters were left out of the comparison, and replaced where the layer had more: a step of ±2h moved some relu input across 0/);
  });

  it('checks every layer of a deep network within the work budget, fewer parameters where the layers above are big', () => {
    const model: ModelConfig = { shape: [64, 384, 384, 384, 10], activation: 'relu', outputActivation: 'softmax', loss: 'cross_entropy' };
    const result = gradientCheck(model, { init: { kind: 'he' }, sampleParameters: 400, maxWork: 5e7 });
    assert.equal(result.layers.length, 4);
    for (const layer of result.layers) assert.ok(layer.checked >= MIN_CHECKED_PER_LAYER, `layer ${layer.layer} checked ${layer.checked}`);
    assert.ok(result.layers[0].checked < result.layers[3].checked, result.layers.map((layer) => layer.checked).join(', '));
    assert.ok(result.maxRelativeError < GRADIENT_CHECK_TOLERANCE, `max relative error ${result.maxRelativeError}`);
    assert.match(gradientCheckVerdict(result, 8).message, /the work budget gives fewer to a layer with big layers above it/);
  });

  it('says the check is weak where a saturated init makes the gradients vanish', () => {
    const result = gradientCheck(
      { shape: [784, 30, 10], activation: 'sigmoid', outputActivation: 'softmax', loss: 'cross_entropy' },
      // Even the lightest digit puts every sigmoid input near 24, where σ' is about 4e-11.
      { init: { kind: 'uniform', low: 0, high: 2, bias: 2 }, samples: digits, sampleParameters: 100 },
    );
    assert.ok(result.layers[0].largestGradient < result.gradientFloor, `layer 1 gradient ${result.layers[0].largestGradient}`);
    const verdict = gradientCheckVerdict(result, 8);
    assert.match(verdict.message, /The gradients of layer 1 are vanishing: at most \S+, below the \S+ floor/);
    assert.ok(result.layers[1].largestGradient > result.gradientFloor, `layer 2 gradient ${result.layers[1].largestGradient}`);
  });
});
