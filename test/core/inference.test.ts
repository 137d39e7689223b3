import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Network, Predictor, Rng, evaluate, type Dataset } from '../../src/core/index.js';
import { initializeParameters } from '../../src/core/init.js';
import { Diagnoser, type DataProfile } from '../../src/core/diagnosis.js';
import { UnitActivity, measureLayers } from '../../src/core/diagnostics.js';
import { resolveTrainingConfig } from '../../src/core/training-config.js';
import type { LayerDiagnostics, RunConfig, TrainingConfigInput } from '../../src/core/index.js';
import { fixedRun } from './fixtures.js';

function network(shape: number[], seed = 1): Network {
  const config = fixedRun({ shape, activation: 'relu' });
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
    assert.ok(layers[0].updateRatio > 0.1, `update ratio ${layers[0].updateRatio}`);
    assert.ok(layers[0].zRms > 90, `the biases of ±100 dominate z: root mean square ${layers[0].zRms}`);
    activity.reset();
    assert.equal(activity.deadFraction(0), 1);
  });
});

describe('diagnosis', () => {
  const digits: DataProfile = { count: 7200, classes: 10, majorityFraction: 0.11, floatInputs: false, inputRms: 0, inputMaxAbs: 0, isImage: true };
  const xor: DataProfile = { count: 4, classes: 2, majorityFraction: 0.5, floatInputs: true, inputRms: 0.7, inputMaxAbs: 1, isImage: false };
  const layer = (values: Partial<LayerDiagnostics>): LayerDiagnostics => ({
    layer: 1, gradientNorm: 1, updateRatio: 1e-3, saturatedFraction: null, deadFraction: null, zRms: 1, ...values,
  });
  const run = (shape: number[], rest: Partial<TrainingConfigInput>): RunConfig => {
    const config = fixedRun({ shape, ...rest });
    return { ...config, learningRate: config.learningRate as number };
  };

  it('reads advice from the submitted learning rate, not the rate a cosine schedule has decayed to', () => {
    const diagnoser = new Diagnoser(run([784, 30, 10], { learningRate: 0.05 }), digits);
    diagnoser.recordLoss(2.3);
    for (let epoch = 1; epoch <= 6; epoch++) {
      diagnoser.recordLayers([layer({ updateRatio: 1e-7 }), layer({ layer: 2, updateRatio: 1e-7 })]);
      diagnoser.recordEpoch({ epoch, trainLoss: 0.05, trainAccuracy: 0.99, valLoss: 0.1, valAccuracy: 0.97 });
    }
    assert.deepEqual(diagnoser.diagnose(4.93e-7, 0.99), []);
  });

  it('calls 75% on four XOR samples a local minimum, and 50% chance level, never "about chance" for 75%', () => {
    for (const [accuracy, chance] of [[0.75, false], [0.5, true]] as const) {
      const diagnoser = new Diagnoser(run([2, 2, 1], { activation: 'tanh', maxRestarts: 9 }), xor);
      diagnoser.recordLoss(0.69);
      for (let epoch = 1; epoch <= 6; epoch++) diagnoser.recordEpoch({ epoch, trainLoss: 0.35, trainAccuracy: accuracy });
      const [primary, ...rest] = diagnoser.diagnose(0.05, 0.5, { kind: 'stalled' });
      assert.equal(primary.code, 'LOCAL_MINIMUM');
      assert.equal(/chance level/.test(primary.message), chance, primary.message);
      assert.equal(rest.length, 0);
      assert.notEqual(primary.suggestion, 'tanh', 'never advises the activation the job already uses');
    }
  });

  it('says nothing about outputs saturated at the right answer', () => {
    const diagnoser = new Diagnoser(run([2, 2, 1], { activation: 'tanh' }), xor);
    diagnoser.recordLoss(0.7);
    for (let epoch = 1; epoch <= 6; epoch++) {
      diagnoser.recordLayers([layer({ saturatedFraction: 0.5 }), layer({ layer: 2, saturatedFraction: 1, zRms: 8 })]);
      diagnoser.recordEpoch({ epoch, trainLoss: 0.003, trainAccuracy: 1 });
    }
    assert.deepEqual(diagnoser.diagnose(0.05, 1, { kind: 'stalled' }), []);
  });

  it('leads with a rate too high when it killed the relu units, and never also calls the rate too low', () => {
    const diagnoser = new Diagnoser(run([784, 30, 10], { learningRate: 3 }), digits);
    for (const loss of [2.3, 7, 2.3]) diagnoser.recordLoss(loss);
    diagnoser.recordLayers([layer({ updateRatio: 0.8, deadFraction: 0.2 }), layer({ layer: 2, updateRatio: 0.5 })]);
    for (let epoch = 1; epoch <= 6; epoch++) {
      diagnoser.recordLayers([layer({ updateRatio: 0, deadFraction: 1 }), layer({ layer: 2, updateRatio: 1e-9 })]);
      diagnoser.recordEpoch({ epoch, trainLoss: 2.3, trainAccuracy: 0.11, valLoss: 2.3, valAccuracy: 0.11 });
    }
    const warnings = diagnoser.diagnose(3, 0.3);
    assert.equal(warnings[0].code, 'LEARNING_RATE_TOO_HIGH');
    assert.equal(warnings[0].field, 'learningRate');
    // A tenth of 3 is still six times momentum's default, which the advice goes no higher than.
    assert.equal(warnings[0].suggestion, 0.05);
    assert.ok(!warnings.some((warning) => warning.code === 'LEARNING_RATE_TOO_LOW'), JSON.stringify(warnings));
  });

  it('blames a blow-up on the all-positive init that saturated the first step, not on the learning rate', () => {
    const diagnoser = new Diagnoser(run([784, 800, 10], { activation: 'sigmoid', init: { kind: 'uniform', low: 0, high: 0.5 } }), digits);
    diagnoser.recordLoss(90);
    diagnoser.recordLayers([layer({ saturatedFraction: 1, zRms: 25 }), layer({ layer: 2, zRms: 200 })]);
    const [primary] = diagnoser.diagnose(0.05, 0, { kind: 'diverged', what: 'the loss exploded from 90 to 1000' });
    assert.equal(primary.code, 'INIT_SATURATION');
    assert.equal(primary.severity, 'error');
    assert.equal(primary.suggestion, 'xavier');
    assert.match(primary.message, /every weight positive, so 784 inputs add up/);
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
      assert.throws(() => fixedRun(input), (error: Error & { field?: string }) => {
        assert.equal(error.field, field);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('picks the head and init that fit the shape and activation', () => {
    const classes = fixedRun({ shape: [784, 30, 10], activation: 'sigmoid' });
    assert.equal(classes.outputActivation, 'softmax');
    assert.equal(classes.init.kind, 'xavier');
    const binary = fixedRun({ shape: [2, 2, 1] });
    assert.equal(binary.outputActivation, 'sigmoid');
    assert.equal(binary.activation, 'tanh', 'two hidden units default to tanh, not relu');
    assert.equal(binary.init.kind, 'xavier');
    assert.equal(fixedRun({ shape: [2, 8, 1] }).init.kind, 'he');
    assert.equal(fixedRun({ shape: [2, 1], optimizer: 'adam' }).learningRate, 0.001);
  });
});
