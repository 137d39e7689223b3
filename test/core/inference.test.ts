import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Network, Predictor, Rng, evaluate, type Dataset } from '../../src/core/index.js';
import { initializeParameters } from '../../src/core/init.js';
import { UnitActivity, chanceLevelWarning, measureLayers, warningsFor } from '../../src/core/diagnostics.js';
import { resolveTrainingConfig } from '../../src/core/training-config.js';

function network(shape: number[], seed = 1): Network {
  const config = resolveTrainingConfig({ shape });
  const net = new Network(config, { maxBatch: 8 });
  initializeParameters(net, config.init, new Rng(seed));
  return net;
}

describe('predictor', () => {
  it('gives the same probabilities one by one as in a batch larger than the network buffers', () => {
    const predictor = new Predictor(network([5, 7, 3]));
    const rng = new Rng(3);
    const count = 19;
    const inputs = Float32Array.from({ length: count * 5 }, () => rng.nextFloat());
    const batch = Array.from(predictor.predictBatch(inputs, count));
    for (let s = 0; s < count; s++) {
      const single = predictor.predict(inputs.subarray(s * 5, s * 5 + 5));
      assert.ok(Math.abs(Array.from(single).reduce((a, v) => a + v, 0) - 1) < 1e-6);
      single.forEach((p, j) => assert.ok(Math.abs(p - batch[s * 3 + j]) < 1e-6));
    }
  });

  it('returns the same reused buffer on every single-sample call', () => {
    const predictor = new Predictor(network([5, 4, 3]));
    const first = predictor.predict([0, 0, 0, 0, 0]);
    const second = predictor.predict([1, 1, 1, 1, 1]);
    assert.equal(first, second);
  });
});

describe('evaluation', () => {
  it('counts a confusion matrix with actual classes in rows', () => {
    const net = new Network({ shape: [2, 2], activation: 'relu', outputActivation: 'softmax', loss: 'cross_entropy' }, { maxBatch: 2 });
    // Output = input: the larger input wins.
    net.layers[0].weight.set([1, 0, 0, 1]);
    const data: Dataset = {
      count: 3, inputSize: 2, inputs: Float32Array.of(1, 0, 0, 1, 1, 0), labels: Uint8Array.of(0, 1, 1), targets: null,
    };
    const result = evaluate(net, data);
    assert.deepEqual(result.confusionMatrix, [[1, 0], [1, 1]]);
    assert.ok(Math.abs(result.accuracy - 2 / 3) < 1e-12);
    assert.equal(result.count, 3);
  });
});

describe('diagnostics', () => {
  it('reports relu units dead over every batch since the last report, and a too-large step, in plain words', () => {
    const net = network([4, 6, 2]);
    const activity = new UnitActivity(net);
    net.layers[0].bias.fill(-100); // every hidden unit negative for inputs in 0..1
    net.layers[0].bias[0] = 100; // except the first, which always fires
    net.input.fill(0.5, 0, 8);
    for (let step = 0; step < 3; step++) {
      net.forward(2);
      activity.record(2);
    }
    const before = Float32Array.from(net.params.subarray(0, net.weightCount));
    net.params[0] += 10; // a huge step on layer 1
    const layers = measureLayers(net, 2, [1, 1], before, activity);
    assert.ok(Math.abs(layers[0].deadFraction! - 5 / 6) < 1e-12);
    assert.equal(layers[0].saturatedFraction, null);
    const warnings = warningsFor(resolveTrainingConfig({ shape: [4, 6, 2] }), layers, 3);
    assert.ok(warnings.some((w) => /83% of relu units in layer 1 are dead/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => /the learning rate 3 is probably too high/.test(w)), warnings.join('\n'));
    activity.reset();
    assert.equal(activity.deadFraction(0), 1);
  });

  it('blames a learning rate too small to move the weights when accuracy stays at chance', () => {
    const stalled = [{ layer: 1, gradientNorm: 1, updateRatio: 1e-7, saturatedFraction: null, deadFraction: 0 }];
    assert.match(chanceLevelWarning(0.1, 10, 3, stalled, 0.0001)!, /the learning rate 0.0001 is too small/);
    assert.equal(chanceLevelWarning(0.9, 10, 3, stalled, 0.0001), null);
  });
});

describe('configuration checks', () => {
  const cases: [string, Parameters<typeof resolveTrainingConfig>[0], RegExp][] = [
    ['shape', { shape: [784] }, /at least an input and an output layer/],
    ['shape', { shape: [784, 0, 10] }, /shape\[1\] must be a whole number/],
    ['learningRate', { shape: [2, 1], learningRate: -1 }, /learningRate must be a positive number/],
    ['loss', { shape: [2, 3], outputActivation: 'linear', loss: 'cross_entropy' }, /cross_entropy needs probabilities/],
    ['outputActivation', { shape: [2, 1], outputActivation: 'softmax' }, /softmax needs at least 2 outputs/],
    ['optimizer', { shape: [2, 1], optimizer: 'rmsprop' as never }, /optimizer must be one of sgd, momentum, nesterov, adam/],
    ['dropout', { shape: [2, 1], dropout: 1 }, /dropout must be in \[0, 0.9\]/],
  ];
  for (const [field, input, message] of cases) {
    it(`names ${field}: ${message.source}`, () => {
      assert.throws(() => resolveTrainingConfig(input), (error: Error & { field?: string }) => {
        assert.equal(error.field, field);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('picks the head and init that fit the shape and activation', () => {
    const classes = resolveTrainingConfig({ shape: [784, 30, 10], activation: 'sigmoid' });
    assert.equal(classes.outputActivation, 'softmax');
    assert.equal(classes.init.kind, 'xavier');
    const binary = resolveTrainingConfig({ shape: [2, 2, 1] });
    assert.equal(binary.outputActivation, 'sigmoid');
    assert.equal(binary.init.kind, 'he');
    assert.equal(resolveTrainingConfig({ shape: [2, 1], optimizer: 'adam' }).learningRate, 0.001);
  });
});
