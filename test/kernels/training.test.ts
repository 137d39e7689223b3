import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Trainer, evaluate, resolveTrainingConfig, type Kernels } from '../../src/core/index.js';
import { relaxedSimdSupported } from '../../src/kernels/gemm-module.js';
import { createWasmKernels, type WasmKernels } from '../../src/kernels/wasm-kernels.js';
import { digitSplit, fixedRun } from '../core/fixtures.js';

/** Float32 sums in another order move the weights a little; accuracy must not notice. */
const ACCURACY_TOLERANCE = 0.02;

describe('training on real digits with the wasm kernels', () => {
  const { train, test } = digitSplit(2000, 500);
  const config = fixedRun({ shape: [784, 64, 10], epochs: 2, dropout: 0.2 });
  let simd: WasmKernels;
  let relaxed: WasmKernels | null;
  before(async () => {
    simd = await createWasmKernels({ threads: 2, relaxedSimd: false });
    relaxed = relaxedSimdSupported() ? await createWasmKernels({ threads: 2, relaxedSimd: true }) : null;
  });
  after(() => {
    simd.dispose();
    relaxed?.dispose();
  });

  function accuracy(kernels?: Kernels): { accuracy: number; params: Float32Array } {
    const trainer = new Trainer(config, train, null, { kernels });
    trainer.run();
    return { accuracy: evaluate(trainer.network, test).accuracy, params: Float32Array.from(trainer.network.params) };
  }

  it('reaches the accuracy of the reference kernels, with plain and relaxed SIMD', (t) => {
    const reference = accuracy();
    const variants = [simd, relaxed].filter((kernels) => kernels !== null).map((kernels) => ({ kernels, ...accuracy(kernels) }));
    t.diagnostic(`held-out accuracy: reference ${reference.accuracy}, ${variants.map(({ kernels, accuracy }) => `${kernels.name} ${accuracy}`).join(', ')}`);
    assert.ok(reference.accuracy > 0.85, `the reference reached only ${reference.accuracy}`);
    for (const variant of variants) {
      assert.ok(Math.abs(variant.accuracy - reference.accuracy) <= ACCURACY_TOLERANCE, `${variant.kernels.name}: ${variant.accuracy} vs ${reference.accuracy}`);
    }
  });

  it('gives bit-identical weights on 1 and 2 threads', async () => {
    const single = await createWasmKernels({ threads: 1, relaxedSimd: false });
    try {
      const one = accuracy(single).params;
      const two = accuracy(simd).params;
      assert.equal(one.findIndex((value, i) => !Object.is(value, two[i])), -1);
    } finally {
      single.dispose();
    }
  });
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
