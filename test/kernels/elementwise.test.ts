import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { referenceKernels, type Kernels } from '../../src/core/index.js';
import { Rng } from '../../src/core/rng.js';
import { createWasmKernels, type WasmKernels } from '../../src/kernels/wasm-kernels.js';
import { createNativeKernels } from '../../src/kernels/native-kernels.js';
import { BACKENDS, NATIVE_UNAVAILABLE, type DisposableKernels } from './backends.js';
import { Guarded } from './guarded.js';

/**
 * Each backend's elementwise loops against the TypeScript reference on the same float32 inputs
 * of order 1. The reference rounds to float32 only when it stores, the backends after
 * every operation, so results may differ by a few float32 ulps (2^-24 ≈ 6e-8 each) of
 * max(1, |value|): Adam's steps grow where its second moment is near 0.
 */
const TOLERANCE = 1e-6;

/** Max over elements of |got - want| / max(1, |want|). */
function scaledDifference(got: Float32Array, want: Float32Array): number {
  let max = 0;
  for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  return max;
}
/** The float64 sums differ only in the order of their terms: at most n·2^-53 ≈ 7e-11 apart for 636,010 terms. */
const SUM_RELATIVE_TOLERANCE = 1e-10;

/**
 * (parameters, weights among them): odd sizes with the weights/biases boundary inside a
 * vector of 4, at either end, and the 784-800-10 layout (635,200 weights and 810 biases).
 */
const SIZES: [number, number][] = [[1, 1], [3, 0], [3, 3], [17, 13], [801, 783], [636_010, 635_200]];

const HYPER = { l2: 0.01, lr: 0.1, mu: 0.9, stepSize: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

type Op = (kernels: Kernels, arrays: Float32Array[], weightCount: number) => void;

/** Each loop, and how many arrays it takes: the first is written, and the state arrays are too. */
const OPS: Record<string, { arrays: number; run: Op }> = {
  sgd: { arrays: 2, run: (k, [w, g], wc) => k.sgdStep(w, g, wc, HYPER.l2, HYPER.lr) },
  momentum: { arrays: 3, run: (k, [w, g, v], wc) => k.momentumStep(w, g, v, wc, HYPER.l2, HYPER.lr, HYPER.mu) },
  nesterov: { arrays: 3, run: (k, [w, g, v], wc) => k.nesterovStep(w, g, v, wc, HYPER.l2, HYPER.lr, HYPER.mu) },
  adam: {
    arrays: 4,
    run: (k, [w, g, m, v], wc) => k.adamStep(w, g, m, v, wc, HYPER.l2, HYPER.stepSize, HYPER.beta1, HYPER.beta2, HYPER.epsilon),
  },
  'relu forward': { arrays: 2, run: (k, [a, z]) => k.rectifierForward(a, z, a.length, 0) },
  'relu backward': { arrays: 3, run: (k, [dZ, dA, z]) => k.rectifierBackward(dZ, dA, z, dZ.length, 0) },
  'leaky_relu forward': { arrays: 2, run: (k, [a, z]) => k.rectifierForward(a, z, a.length, 0.01) },
  'leaky_relu backward, in place': { arrays: 2, run: (k, [d, z]) => k.rectifierBackward(d, d, z, d.length, 0.01) },
  zero: { arrays: 1, run: (k, [values]) => k.zero(values) },
};

/** Seeded floats in (-1, 1); Adam's second moment (the 4th array) must not be negative. */
function inputs(n: number, count: number): Float32Array[] {
  const rng = new Rng(n * 31 + count);
  return Array.from({ length: count }, (_, slot) =>
    Float32Array.from({ length: n }, () => (slot === 3 ? rng.nextFloat() : rng.nextFloat() * 2 - 1)),
  );
}

for (const [backend, threads] of BACKENDS.flatMap((b) => [[b, 1], [b, 2]] as const)) {
  describe(`${backend.name} elementwise loops, ${threads} thread(s), against the TypeScript reference`, { skip: backend.skip }, () => {
    let kernels: DisposableKernels;
    before(async () => {
      kernels = await backend.create(threads);
    });
    after(() => kernels.dispose());

    for (const [name, op] of Object.entries(OPS)) {
      it(`${name}, on ${SIZES.map(([n, wc]) => `${n} (${wc} weights)`).join(', ')} floats`, (t) => {
        let worst = 0;
        for (const [n, weightCount] of SIZES) {
          const reference = inputs(n, op.arrays);
          const guarded = reference.map((values) => new Guarded(kernels, values));
          op.run(referenceKernels, reference, weightCount);
          op.run(kernels, guarded.map((array) => array.view), weightCount);
          guarded.forEach((array, i) => {
            array.assertGuardsIntact(`array ${i} of ${n}`);
            const difference = scaledDifference(array.view, reference[i]);
            assert.ok(difference <= TOLERANCE, `array ${i} of ${n} floats (${weightCount} weights): |kernels - reference| / max(1, |reference|) up to ${difference}`);
            worst = Math.max(worst, difference);
          });
        }
        t.diagnostic(`max |kernels - reference| / max(1, |reference|): ${worst.toExponential(2)}`);
      });
    }

    it('relu forward and backward match the reference bit for bit', () => {
      const [a, z, dA] = inputs(801, 3);
      const ours = [a, z, dA].map((values) => new Guarded(kernels, values).view);
      referenceKernels.rectifierForward(a, z, 801, 0);
      referenceKernels.rectifierBackward(dA, dA, z, 801, 0);
      kernels.rectifierForward(ours[0], ours[1], 801, 0);
      kernels.rectifierBackward(ours[2], ours[2], ours[1], 801, 0);
      assert.equal(ours[0].findIndex((value, i) => !Object.is(value, a[i])), -1);
      assert.equal(ours[2].findIndex((value, i) => !Object.is(value, dA[i])), -1);
    });

    it('takes the column maxima of odd shapes exactly, keeping a peak over a NaN', () => {
      for (const [batch, width] of [[1, 1], [3, 17], [17, 3], [64, 801]]) {
        const [peak] = inputs(width, 1);
        const [z] = inputs(batch * width, 1);
        z[batch * width - 1] = NaN;
        const ours = [peak, z].map((values) => new Guarded(kernels, values));
        referenceKernels.columnMax(peak, z, batch, width);
        kernels.columnMax(ours[0].view, ours[1].view, batch, width);
        ours[0].assertGuardsIntact(`peak of ${batch} x ${width}`);
        assert.deepEqual([...ours[0].view], [...peak], `${batch} x ${width}`);
      }
    });

    it('gathers and scales byte rows as the reference does, bit for bit, for odd widths and counts', () => {
      const rng = new Rng(7);
      for (const [rows, width, count] of [[5, 1, 3], [100, 784, 64], [37, 17, 33], [9, 3, 1]]) {
        const bytes = Uint8Array.from({ length: rows * width }, () => rng.nextInt(256));
        const order = Uint32Array.from({ length: count + 2 }, () => rng.nextInt(rows));
        const want = new Float32Array(count * width);
        referenceKernels.loadByteRows(want, bytes, order, 2, count, width, 1 / 255);
        const got = new Guarded(kernels, new Float32Array(count * width).fill(NaN));
        kernels.loadByteRows(got.view, bytes, order, 2, count, width, 1 / 255);
        got.assertGuardsIntact(`${count} rows of ${width}`);
        assert.equal(got.view.findIndex((value, i) => !Object.is(value, want[i])), -1, `${count} rows of ${width}`);
      }
    });

    it('sums squares and squared differences in float64, and a non-finite value makes the sum non-finite', (t) => {
      let worst = 0;
      for (const [n] of SIZES) {
        const [a, b] = inputs(n, 2);
        const [wa, wb] = [a, b].map((values) => new Guarded(kernels, values).view);
        for (const [got, want] of [
          [kernels.sumOfSquares(wa), referenceKernels.sumOfSquares(a)],
          [kernels.sumOfSquaredDifferences(wa, wb), referenceKernels.sumOfSquaredDifferences(a, b)],
        ]) {
          const relative = Math.abs(got - want) / want;
          assert.ok(relative <= SUM_RELATIVE_TOLERANCE, `${n} floats: ${got} vs ${want}`);
          worst = Math.max(worst, relative);
        }
        wa[n - 1] = n % 2 === 0 ? Infinity : NaN;
        assert.equal(Number.isFinite(kernels.sumOfSquares(wa)), false, `${n} floats ending in ${wa[n - 1]}`);
      }
      const huge = new Guarded(kernels, new Float32Array(5).fill(3e38)).view;
      const exact = 5 * huge[0] ** 2;
      assert.ok(Math.abs(kernels.sumOfSquares(huge) - exact) / exact < SUM_RELATIVE_TOLERANCE, 'squares of large floats do not overflow');
      t.diagnostic(`max relative difference ${worst.toExponential(2)}`);
    });
  });
}

for (const backend of BACKENDS) {
  describe(`${backend.name} elementwise loops across thread counts`, { skip: backend.skip }, () => {
    it('give bit-identical optimizer steps on 1 and 2 threads, split inside the weights and the biases', async () => {
      const single = await backend.create(1);
      const double = await backend.create(2);
      try {
        const [n, weightCount] = SIZES[SIZES.length - 1];
        for (const [name, op] of Object.entries(OPS)) {
          const [one, two] = [single, double].map((kernels) => {
            const arrays = inputs(n, op.arrays).map((values) => new Guarded(kernels, values).view);
            op.run(kernels, arrays, weightCount);
            return arrays;
          });
          one.forEach((array, i) => {
            const at = array.findIndex((value, j) => !Object.is(value, two[i][j]));
            assert.equal(at, -1, `${name}: array ${i} differs at float ${at}: ${array[at]} vs ${two[i][at]}`);
          });
        }
      } finally {
        single.dispose();
        double.dispose();
      }
    });
  });
}

describe('wasm elementwise loops with arrays they cannot take', () => {
  let kernels: WasmKernels;
  before(async () => {
    kernels = await createWasmKernels({ threads: 1 });
  });
  after(() => kernels.dispose());

  it('hand float64 arrays (gradient checks) to the reference loops', () => {
    const values = Float64Array.of(1, -2, 3);
    assert.equal(kernels.sumOfSquares(values), 14);
    kernels.rectifierForward(values, values, 3, 0);
    assert.deepEqual([...values], [1, -0, 3]);
  });

  it('refuse state shorter than the parameters, and weights that overrun them', () => {
    const [params, grads] = [kernels.allocate(8), kernels.allocate(8)];
    assert.throws(() => kernels.momentumStep(params, grads, kernels.allocate(7), 8, 0, 0.1, 0.9), {
      name: 'RangeError',
      message: 'velocity holds 7 floats; this call needs 8',
    });
    assert.throws(() => kernels.sgdStep(params, grads, 9, 0, 0.1), {
      name: 'RangeError',
      message: 'weightCount must be a whole number from 0 to the 8 parameters, got 9',
    });
  });
});

describe('native byte rows with arguments that do not fit', { skip: NATIVE_UNAVAILABLE !== null && process.env.CI !== 'true' }, () => {
  it('refuse a row past the end of the dataset, too few indexes, and arrays of the wrong type, before reading a byte', () => {
    const kernels = createNativeKernels({ threads: 2 });
    try {
      const [bytes, out] = [new Uint8Array(3 * 4), new Float32Array(2 * 4)];
      assert.throws(() => kernels.loadByteRows(out, bytes, Uint32Array.of(0, 3), 0, 2, 4, 1), {
        name: 'RangeError',
        message: 'order holds row 3; there are 3',
      });
      assert.throws(() => kernels.loadByteRows(out, bytes, Uint32Array.of(0, 1), 1, 2, 4, 1), {
        name: 'RangeError',
        message: 'order holds 2 indexes; this call needs 3',
      });
      assert.throws(() => kernels.loadByteRows(out, new Float32Array(12) as unknown as Uint8Array, Uint32Array.of(0, 1), 0, 2, 4, 1), {
        name: 'TypeError',
        message: 'bytes must be a Uint8Array',
      });
    } finally {
      kernels.dispose();
    }
  });
});
