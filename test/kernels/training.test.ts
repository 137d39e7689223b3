import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Trainer, evaluate, resolveTrainingConfig, type GemmKernels } from '../../src/core/index.js';
import { relaxedSimdSupported } from '../../src/kernels/gemm-module.js';
import { createWasmKernels, type WasmGemmKernels } from '../../src/kernels/wasm-kernels.js';
import { digitSplit } from '../core/fixtures.js';

/** Float32 sums in another order move the weights a little; accuracy must not notice. */
const ACCURACY_TOLERANCE = 0.02;

describe('training on real digits with the wasm kernels', () => {
  const { train, test } = digitSplit(2000, 500);
  const config = resolveTrainingConfig({ shape: [784, 64, 10], epochs: 2, dropout: 0.2 });
  let simd: WasmGemmKernels;
  let relaxed: WasmGemmKernels | null;
  before(async () => {
    simd = await createWasmKernels({ threads: 2, relaxedSimd: false });
    relaxed = relaxedSimdSupported() ? await createWasmKernels({ threads: 2, relaxedSimd: true }) : null;
  });
  after(() => {
    simd.dispose();
    relaxed?.dispose();
  });

  function accuracy(kernels?: GemmKernels): { accuracy: number; params: Float32Array } {
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
