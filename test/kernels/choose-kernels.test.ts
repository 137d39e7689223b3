import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseKernels, describeKernels } from '../../src/kernels/choose-kernels.js';
import { relaxedSimdSupported } from '../../src/kernels/wasm-module.js';
import { NATIVE_UNAVAILABLE } from './backends.js';

/** The description a job of `threads` threads gets here: native where the addon loads, else wasm and why not native. */
function expectedDescription(threads: number): string {
  if (NATIVE_UNAVAILABLE === null) return `Kernels: native-openblas x${threads}`;
  const variant = relaxedSimdSupported() ? 'wasm-relaxed-simd' : 'wasm-simd';
  const relaxed = relaxedSimdSupported() ? '' : `; wasm-relaxed-simd: not supported by Node ${process.versions.node}`;
  return `Kernels: ${variant} x${threads} (passed over native: ${NATIVE_UNAVAILABLE}${relaxed})`;
}

describe('chooseKernels', () => {
  it('picks the native kernels where the addon loads, else the fastest wasm variant, says why, and computes with it', async () => {
    const chosen = await chooseKernels({ threads: 2 });
    try {
      assert.equal(chosen.description, expectedDescription(2));
      const { kernels } = chosen;
      // out = inp · weightᵀ + bias for one sample, two inputs and two outputs.
      const [out, inp, weight, bias] = [2, 2, 4, 2].map((length) => kernels.allocate(length));
      inp.set([1, 2]);
      weight.set([3, 4, 5, 6]);
      bias.set([0.5, -0.5]);
      kernels.matmulForward(out, inp, weight, bias, 1, 2, 2);
      assert.deepEqual([...out], [11.5, 16.5]);
    } finally {
      chosen.dispose();
    }
  });

  it('describes for the start-up log the kernels a job of that many threads gets', async () => {
    assert.equal(await describeKernels(3), expectedDescription(3));
  });

  it('rejects a thread count it cannot use instead of falling back', async () => {
    await assert.rejects(chooseKernels({ threads: 0 }), { name: 'RangeError', message: /threads must be a whole number from 1 to 64/ });
  });
});
