import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { chooseKernels, describeKernels } from '../../src/kernels/choose-kernels.js';
import { relaxedSimdSupported } from '../../src/kernels/wasm-module.js';
import { NATIVE_UNAVAILABLE } from './backends.js';

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The description a job of `threads` threads gets here: native where the addon loads, with the
 * OpenBLAS kernels it runs and, where the environment pins them, that pin; else wasm and why not native.
 */
function expectedDescription(threads: number): RegExp {
  if (NATIVE_UNAVAILABLE === null) {
    const pinned = process.env.OPENBLAS_CORETYPE;
    const kernels = pinned ? `${escape(pinned)} kernels, as OPENBLAS_CORETYPE=${escape(pinned)} asks` : '[A-Za-z0-9]+ kernels';
    return new RegExp(`^Kernels: native-openblas x${threads} on OpenBLAS's ${kernels}$`, 'i');
  }
  const variant = relaxedSimdSupported() ? 'wasm-relaxed-simd' : 'wasm-simd';
  const relaxed = relaxedSimdSupported() ? '' : `; wasm-relaxed-simd: not supported by Node ${process.versions.node}`;
  return new RegExp(`^${escape(`Kernels: ${variant} x${threads} (passed over native: ${NATIVE_UNAVAILABLE}${relaxed})`)}$`);
}

/** The start-up log line of a fresh process whose environment has `environment`, so OpenBLAS loads under it. */
function describeIn(environment: NodeJS.ProcessEnv): string {
  const chooser = new URL('../../src/kernels/choose-kernels.js', import.meta.url).href;
  const script = `const { describeKernels } = await import(${JSON.stringify(chooser)}); console.log(await describeKernels(1));`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: environment, encoding: 'utf8' }).trim();
}

/** CI installs what the native build needs, so there an addon that does not load fails instead of skipping. */
function pinTestSkip(): string | false {
  if (process.arch !== 'x64') return `OpenBLAS's Prescott kernels are x86-64's; this is ${process.arch}`;
  return NATIVE_UNAVAILABLE !== null && process.env.CI !== 'true' ? `the native addon: ${NATIVE_UNAVAILABLE}` : false;
}

describe('chooseKernels', () => {
  it('picks the native kernels where the addon loads, else the fastest wasm variant, says why, and computes with it', async () => {
    const chosen = await chooseKernels({ threads: 2 });
    try {
      assert.match(chosen.description, expectedDescription(2));
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
    assert.match(await describeKernels(3), expectedDescription(3));
  });

  it('says which OpenBLAS kernels the products run on, and when OPENBLAS_CORETYPE chose them instead of OpenBLAS', { skip: pinTestSkip() }, () => {
    const { OPENBLAS_CORETYPE: _pin, ...unpinned } = process.env;
    assert.match(describeIn(unpinned), /^Kernels: native-openblas x1 on OpenBLAS's [A-Za-z0-9]+ kernels$/);
    // Every x86-64 CPU runs Prescott's SSE3 kernels, so this pin holds on any machine CI uses.
    assert.equal(describeIn({ ...unpinned, OPENBLAS_CORETYPE: 'Prescott' }), "Kernels: native-openblas x1 on OpenBLAS's Prescott kernels, as OPENBLAS_CORETYPE=Prescott asks");
  });

  it('rejects a thread count it cannot use instead of falling back', async () => {
    await assert.rejects(chooseKernels({ threads: 0 }), { name: 'RangeError', message: /threads must be a whole number from 1 to 64/ });
  });
});
