import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Trainer, evaluate, resolveTrainingConfig, type Kernels } from '../../src/core/index.js';
import { createWasmKernels, type WasmKernels } from '../../src/kernels/wasm-kernels.js';
import { BACKENDS, type DisposableKernels } from './backends.js';
import { digitSplit, fixedRun } from '../core/fixtures.js';

/** Float32 sums in another order move the weights a little; accuracy must not notice. */
const ACCURACY_TOLERANCE = 0.02;

describe('training on real digits', () => {
  const { train, test } = digitSplit(2000, 500);
  const config = fixedRun({ shape: [784, 64, 10], epochs: 2, dropout: 0.2 });

  function accuracy(kernels?: Kernels): { accuracy: number; params: Float32Array } {
    const trainer = new Trainer(config, train, null, { kernels });
    trainer.run();
    return { accuracy: evaluate(trainer.network, test).accuracy, params: Float32Array.from(trainer.network.params) };
  }

  const reference = accuracy();
  it('reaches more than 85% held-out accuracy with the reference kernels', () => {
    assert.ok(reference.accuracy > 0.85, `the reference reached only ${reference.accuracy}`);
  });

  for (const backend of BACKENDS) {
    describe(`with the ${backend.name} kernels`, { skip: backend.skip }, () => {
      let single: DisposableKernels;
      let double: DisposableKernels;
      before(async () => {
        single = await backend.create(1);
        double = await backend.create(2);
      });
      after(() => {
        single.dispose();
        double.dispose();
      });

      it('reaches the accuracy of the reference kernels, and bit-identical weights on 1 and 2 threads', (t) => {
        const one = accuracy(single);
        const two = accuracy(double);
        t.diagnostic(`held-out accuracy: reference ${reference.accuracy}, ${backend.name} ${two.accuracy}`);
        assert.ok(Math.abs(two.accuracy - reference.accuracy) <= ACCURACY_TOLERANCE, `${two.accuracy} vs ${reference.accuracy}`);
        assert.equal(one.params.findIndex((value, i) => !Object.is(value, two.params[i])), -1);
      });
    });
  }
});

describe('resuming with the wasm kernels', () => {
  const { train } = digitSplit(300, 0);
  const config = fixedRun({ shape: [784, 32, 10], epochs: 2, dropout: 0.2 });
  let kernels: WasmKernels;
  before(async () => {
    kernels = await createWasmKernels({ threads: 2 });
  });
  after(() => kernels.dispose());

  it('continues from a checkpoint, mid-epoch or at an epoch boundary, to the same weights as an uninterrupted run', () => {
    for (const optimizer of ['adam', 'nesterov'] as const) {
      const withOptimizer = { ...config, optimizer, learningRate: optimizer === 'adam' ? 0.001 : 0.05 };
      const uninterrupted = new Trainer(withOptimizer, train, null, { kernels });
      uninterrupted.run();
      // 300 samples at batch 64 is 5 steps an epoch: after 3 steps is mid-epoch, after 5 the boundary.
      for (const stopAfterSteps of [3, 5]) {
        const interrupted = new Trainer(withOptimizer, train, null, { kernels });
        let steps = 0;
        assert.equal(interrupted.run({ shouldStop: () => steps++ === stopAfterSteps }).reason, 'stopped');
        const resumed = Trainer.resume(interrupted.checkpoint(), train, null, { kernels });
        assert.equal(resumed.run().reason, 'completed');
        assert.deepEqual(
          Buffer.from(resumed.modelSnapshot()), Buffer.from(uninterrupted.modelSnapshot()),
          `${optimizer}, resumed after ${stopAfterSteps} steps`,
        );
      }
    }
  });
});
