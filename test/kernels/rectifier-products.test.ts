import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { composedRectifierProducts, LEAKY_RELU_SLOPE, type Kernels } from '../../src/core/index.js';
import { createNativeKernels } from '../../src/kernels/native-kernels.js';
import { BACKENDS, NATIVE_UNAVAILABLE, type DisposableKernels } from './backends.js';

/**
 * The fused rectifier products against the same backend's product followed by its elementwise
 * loop: fusing moves the loop into the product's tiles and must not change a bit, with or
 * without a dropout mask, for relu and leaky_relu, on any thread count.
 */
const SHAPES: [number, number, number][] = [[1, 784, 801], [3, 17, 5], [17, 801, 64], [64, 784, 800], [64, 800, 10], [33, 65, 801]];
const DROPOUT = 0.3;

interface FusedCase {
  inp: Float32Array;
  weight: Float32Array;
  bias: Float32Array;
  dOut: Float32Array;
  /** The layer below's pre-activations for the input gradient, (batch, inDim), with exact zeros among them. */
  zBelow: Float32Array;
  /** Inverted-dropout multipliers, 0 or 1 / (1 - p), for the layer below. */
  mask: Float32Array;
}

function fusedCase(batch: number, inDim: number, outDim: number): FusedCase {
  const rng = new Rng(batch * 7919 + inDim * 31 + outDim);
  const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
  const zBelow = random(batch * inDim).map((value, i) => (i % 13 === 0 ? 0 : value));
  const mask = Float32Array.from({ length: batch * inDim }, () => (rng.nextFloat() < DROPOUT ? 0 : 1 / (1 - DROPOUT)));
  return { inp: random(batch * inDim), weight: random(outDim * inDim), bias: random(outDim), dOut: random(batch * outDim), zBelow, mask };
}

/** Copies of `values` in memory the kernels can address. */
function place(kernels: Kernels, values: Float32Array): Float32Array {
  const placed = kernels.allocate(values.length);
  placed.set(values);
  return placed;
}

/** The fused outputs and the unfused ones of the same backend, for one shape, slope and mask. */
function bothWays(kernels: Kernels, [batch, inDim, outDim]: [number, number, number], negativeSlope: number, masked: boolean): Float32Array[][] {
  const known = fusedCase(batch, inDim, outDim);
  const [inp, weight, bias, dOut, zBelow] = [known.inp, known.weight, known.bias, known.dOut, known.zBelow].map((values) => place(kernels, values));
  const mask = masked ? place(kernels, known.mask) : null;
  const run = (products: Pick<Kernels, 'matmulRectifierForward' | 'matmulRectifierBackwardInput'>): Float32Array[] => {
    const [z, a, dZ] = [batch * outDim, batch * outDim, batch * inDim].map((length) => place(kernels, new Float32Array(length).fill(NaN)));
    products.matmulRectifierForward(z, a, inp, weight, bias, batch, inDim, outDim, negativeSlope);
    products.matmulRectifierBackwardInput(dZ, dOut, weight, zBelow, mask, batch, inDim, outDim, negativeSlope);
    return [z, a, dZ];
  };
  return [run(kernels), run(composedRectifierProducts(kernels))];
}

function assertSameBits(got: Float32Array, want: Float32Array, what: string): void {
  const at = got.findIndex((value, i) => !Object.is(value, want[i]));
  assert.equal(at, -1, `${what} differs at element ${at} of ${got.length}: ${got[at]} vs ${want[at]}`);
  assert.ok(got.every(Number.isFinite), `${what} has a value that is not finite`);
}

for (const backend of BACKENDS) {
  for (const threads of [1, 2]) {
    describe(`${backend.name} rectifier products, ${threads} thread(s)`, { skip: backend.skip }, () => {
      let kernels: DisposableKernels;
      before(async () => {
        kernels = await backend.create(threads);
      });
      after(() => kernels.dispose());

      for (const [name, slope] of [['relu', 0], ['leaky_relu', LEAKY_RELU_SLOPE]] as const) {
        for (const masked of [false, true]) {
          it(`${name}${masked ? ' under dropout' : ''}: fused gives the bits of the product then the loop, on ${SHAPES.length} shapes`, () => {
            for (const shape of SHAPES) {
              const [fused, unfused] = bothWays(kernels, shape, slope, masked);
              ['z', 'a', 'dZ'].forEach((what, i) => assertSameBits(fused[i], unfused[i], `${what} of ${shape.join('x')}`));
            }
          });
        }
      }
    });
  }

  describe(`${backend.name} rectifier products across thread counts`, { skip: backend.skip }, () => {
    it('are bit-identical on 1 and 2 threads', async () => {
      const [single, double] = [await backend.create(1), await backend.create(2)];
      try {
        for (const shape of SHAPES) {
          const [one] = bothWays(single, shape, LEAKY_RELU_SLOPE, true);
          const [two] = bothWays(double, shape, LEAKY_RELU_SLOPE, true);
          ['z', 'a', 'dZ'].forEach((what, i) => assertSameBits(two[i], one[i], `${what} of ${shape.join('x')}`));
        }
      } finally {
        single.dispose();
        double.dispose();
      }
    });
  });
}

describe('native rectifier products with arguments that do not fit', { skip: NATIVE_UNAVAILABLE !== null && process.env.CI !== 'true' }, () => {
  it('refuse a dropout mask shorter than the input gradient, and a mask that is not a Float32Array', () => {
    const kernels = createNativeKernels({ threads: 2 });
    try {
      const [batch, inDim, outDim] = [2, 3, 4];
      const [dZ, dOut, weight, z] = [batch * inDim, batch * outDim, outDim * inDim, batch * inDim].map((n) => new Float32Array(n));
      assert.throws(() => kernels.matmulRectifierBackwardInput(dZ, dOut, weight, z, new Float32Array(5), batch, inDim, outDim, 0), {
        name: 'RangeError',
        message: 'mask holds 5 floats; this call needs 6',
      });
      assert.throws(() => kernels.matmulRectifierBackwardInput(dZ, dOut, weight, z, [1, 1, 1, 1, 1, 1] as unknown as Float32Array, batch, inDim, outDim, 0), {
        name: 'TypeError',
        message: 'mask must be a Float32Array',
      });
    } finally {
      kernels.dispose();
    }
  });
});
