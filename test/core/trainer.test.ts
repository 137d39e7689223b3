import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Predictor, Trainer, loadNetwork, resolveTrainingConfig } from '../../src/core/index.js';
import { splitDataset } from '../../src/data/split.js';
import { digitSplit, fixedRun, noisyClasses, xorDataset } from './fixtures.js';

describe('XOR from a fixed seed', () => {
  const cases = [
    { shape: [2, 2, 1], activation: 'sigmoid' as const, seed: 1 },
    { shape: [2, 4, 1], activation: 'tanh' as const, seed: 1 },
  ];
  for (const { shape, activation, seed } of cases) {
    it(`[${shape.join(', ')}] ${activation} outputs 0, 1, 1, 0`, () => {
      const config = fixedRun({
        shape, activation, optimizer: 'momentum', learningRate: 0.5, batchSize: 4, epochs: 2000, l2: 0, seed,
        schedule: { kind: 'constant' },
      });
      const trainer = new Trainer(config, xorDataset(), null);
      trainer.run();
      const predictor = new Predictor(trainer.network);
      const outputs = [[0, 0], [0, 1], [1, 0], [1, 1]].map((input) => predictor.predict(input)[0]);
      assert.deepEqual(outputs.map((o) => Math.round(o)), [0, 1, 1, 0], `outputs ${outputs.map((o) => o.toFixed(3))}`);
      for (const [i, o] of outputs.entries()) assert.ok(Math.abs(o - [0, 1, 1, 0][i]) < 0.1, `output ${i} is ${o}`);
    });
  }
});

describe('reproducibility', () => {
  const { train } = digitSplit(300, 0);
  const config = fixedRun({ shape: [784, 32, 10], epochs: 2, dropout: 0.2, augment: { maxShift: 2, maxRotationDegrees: 10 } });

  it('gives bit-identical weights for the same seed, and different ones for another seed', () => {
    const a = new Trainer(config, train, null);
    a.run();
    const b = new Trainer(config, train, null);
    b.run();
    const c = new Trainer({ ...config, seed: 2 }, train, null);
    c.run();
    assert.deepEqual(Buffer.from(a.modelSnapshot()), Buffer.from(b.modelSnapshot()));
    assert.notDeepEqual(Buffer.from(a.network.params.buffer), Buffer.from(c.network.params.buffer));
  });

  it('resumes from a checkpoint, mid-epoch or at an epoch boundary, to the same weights as an uninterrupted run', () => {
    for (const optimizer of ['adam', 'nesterov'] as const) {
      const withOptimizer = { ...config, optimizer, learningRate: optimizer === 'adam' ? 0.001 : 0.05 };
      const uninterrupted = new Trainer(withOptimizer, train, null);
      uninterrupted.run();
      // 300 samples at batch 64 is 5 steps an epoch: after 3 steps is mid-epoch, after 5 the boundary.
      for (const stopAfterSteps of [3, 5]) {
        const interrupted = new Trainer(withOptimizer, train, null);
        let steps = 0;
        const outcome = interrupted.run({ shouldStop: () => steps++ === stopAfterSteps });
        assert.equal(outcome.reason, 'stopped');
        const resumed = Trainer.resume(interrupted.checkpoint(), train, null);
        assert.equal(resumed.run().reason, 'completed');
        assert.deepEqual(
          Buffer.from(resumed.modelSnapshot()), Buffer.from(uninterrupted.modelSnapshot()),
          `${optimizer}, resumed after ${stopAfterSteps} steps`,
        );
      }
    }
  });

  it('round-trips a model snapshot exactly', () => {
    const trainer = new Trainer({ ...config, epochs: 1 }, train, null);
    trainer.run();
    const loaded = loadNetwork(trainer.modelSnapshot());
    assert.deepEqual(loaded.config.shape, config.shape);
    assert.equal(loaded.config.activation, config.activation);
    assert.deepEqual(bytesOf(loaded.params), bytesOf(trainer.network.params));
    const sample = Float32Array.from(train.inputs.subarray(0, 784), (v) => v / 255);
    assert.deepEqual([...new Predictor(loaded).predict(sample)], [...new Predictor(trainer.network).predict(sample)]);
    assert.throws(() => Trainer.resume(trainer.modelSnapshot(), train, null), /model only/);
  });
});

function bytesOf(values: Float32Array | Float64Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

describe('fresh starts after a stall', () => {
  it('are not spent on a network that already fits its training data better than validation', () => {
    // A wide two-layer net on noisy classes: it fits the noise of its training points (training
    // accuracy above validation's), which new weights would only fit again.
    for (const seed of [1, 2, 3]) {
      const { train, validation } = splitDataset(noisyClasses(500, seed), 0.1, seed);
      const { config } = resolveTrainingConfig({ shape: [6, 64, 64, 4], seed }, { trainCount: train.count });
      let restarts = 0;
      new Trainer(config, train, validation, {}).run({ onRestart: () => restarts++ });
      assert.ok(config.maxRestarts > 2, `fresh starts are on for ${train.count} samples`);
      assert.ok(restarts <= 2, `seed ${seed}: ${restarts} fresh starts`);
    }
  });
});
