import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { relaxedSimdSupported, type GemmVariant } from '../../../src/core/wasm/gemm-module.js';
import { createWasmKernels, type WasmGemmKernels } from '../../../src/core/wasm/wasm-kernels.js';

/**
 * Each product against a naive float64 triple loop. The kernels sum in float32, so an
 * element's error is bounded by a multiple of its sum of magnitudes Σ|term| (Higham's
 * bound for a dot product is n·ε·Σ|term|); the test scales the difference by that sum.
 */
const RELATIVE_TOLERANCE = 1e-5;

/** (batch, inDim, outDim): the odd sizes in every role. The last two exceed the
 * size from which a product is split across threads, and split at an odd edge. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [3, 17, 1], [1, 784, 3], [17, 3, 801], [64, 17, 3], [3, 801, 64], [801, 64, 17], [784, 1, 3],
  [17, 784, 801], [64, 801, 784],
];

/** Floats on either side of every array, checked untouched: edge tiles read past rows but must not write. */
const GUARD = 16;
const SENTINEL = 1234.5;

/** An expected product in float64 and, per element, the sum of magnitudes of its terms. */
interface Expected {
  value: Float64Array;
  magnitude: Float64Array;
}

function expectedForward(inp: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>, batch: number, inDim: number, outDim: number): Expected {
  const value = new Float64Array(batch * outDim);
  const magnitude = new Float64Array(batch * outDim);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outDim; o++) {
      let sum = bias[o];
      let abs = Math.abs(bias[o]);
      for (let i = 0; i < inDim; i++) {
        const term = inp[b * inDim + i] * weight[o * inDim + i];
        sum += term;
        abs += Math.abs(term);
      }
      value[b * outDim + o] = sum;
      magnitude[b * outDim + o] = abs;
    }
  }
  return { value, magnitude };
}

function expectedBackwardInput(dOut: Float32Array, weight: Float32Array, batch: number, inDim: number, outDim: number): Expected {
  const value = new Float64Array(batch * inDim);
  const magnitude = new Float64Array(batch * inDim);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < inDim; i++) {
      let sum = 0;
      let abs = 0;
      for (let o = 0; o < outDim; o++) {
        const term = dOut[b * outDim + o] * weight[o * inDim + i];
        sum += term;
        abs += Math.abs(term);
      }
      value[b * inDim + i] = sum;
      magnitude[b * inDim + i] = abs;
    }
  }
  return { value, magnitude };
}

/** dWeight and dBias after accumulating into their current values. */
function expectedBackwardWeight(
  dWeight: Float32Array, dBias: Float32Array, dOut: Float32Array, inp: Float32Array, batch: number, inDim: number, outDim: number,
): { weight: Expected; bias: Expected } {
  const weight: Expected = { value: Float64Array.from(dWeight), magnitude: Float64Array.from(dWeight, Math.abs) };
  const bias: Expected = { value: Float64Array.from(dBias), magnitude: Float64Array.from(dBias, Math.abs) };
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outDim; o++) {
      const d = dOut[b * outDim + o];
      bias.value[o] += d;
      bias.magnitude[o] += Math.abs(d);
      for (let i = 0; i < inDim; i++) {
        const term = d * inp[b * inDim + i];
        weight.value[o * inDim + i] += term;
        weight.magnitude[o * inDim + i] += Math.abs(term);
      }
    }
  }
  return { weight, bias };
}

/** Max over elements of |got − want| / Σ|term|; throws if any element is NaN. */
function relativeError(got: Float32Array, want: Expected): number {
  let max = 0;
  for (let i = 0; i < got.length; i++) {
    assert.ok(Number.isFinite(got[i]), `element ${i} is ${got[i]}`);
    max = Math.max(max, Math.abs(got[i] - want.value[i]) / Math.max(want.magnitude[i], Number.MIN_VALUE));
  }
  return max;
}

/** A view of `length` floats in the kernels' memory, between two guards of sentinels. */
class Guarded {
  readonly view: Float32Array;
  private readonly whole: Float32Array;

  constructor(kernels: WasmGemmKernels, length: number, fill: (i: number) => number) {
    this.whole = kernels.allocate(length + 2 * GUARD).fill(SENTINEL);
    this.view = this.whole.subarray(GUARD, GUARD + length);
    for (let i = 0; i < length; i++) this.view[i] = fill(i);
  }

  assertGuardsIntact(name: string): void {
    const guards = [...this.whole.subarray(0, GUARD), ...this.whole.subarray(this.whole.length - GUARD)];
    assert.ok(guards.every((value) => value === SENTINEL), `a kernel wrote outside ${name}`);
  }
}

interface ProductErrors {
  forward: number;
  backwardInput: number;
  backwardWeight: number;
  /** The outputs, to compare runs bit for bit. */
  outputs: Float32Array[];
}

function runProducts(kernels: WasmGemmKernels, batch: number, inDim: number, outDim: number): ProductErrors {
  const rng = new Rng(batch * 1_000_003 + inDim * 1009 + outDim);
  const uniform = (): number => rng.nextFloat() * 2 - 1;
  const inp = new Guarded(kernels, batch * inDim, uniform);
  const weight = new Guarded(kernels, outDim * inDim, uniform);
  const bias = new Guarded(kernels, outDim, uniform);
  const dOut = new Guarded(kernels, batch * outDim, uniform);
  // out and dInp start as NaN: a kernel that reads them instead of overwriting shows.
  const out = new Guarded(kernels, batch * outDim, () => NaN);
  const dInp = new Guarded(kernels, batch * inDim, () => NaN);
  // dWeight and dBias start from earlier gradients: the kernel must add to them.
  const dWeight = new Guarded(kernels, outDim * inDim, uniform);
  const dBias = new Guarded(kernels, outDim, uniform);
  const expectedGradients = expectedBackwardWeight(dWeight.view, dBias.view, dOut.view, inp.view, batch, inDim, outDim);

  kernels.matmulForward(out.view, inp.view, weight.view, bias.view, batch, inDim, outDim);
  kernels.matmulBackwardInput(dInp.view, dOut.view, weight.view, batch, inDim, outDim);
  kernels.matmulBackwardWeight(dWeight.view, dBias.view, dOut.view, inp.view, batch, inDim, outDim);

  for (const [name, array] of Object.entries({ out, dInp, dWeight, dBias })) array.assertGuardsIntact(name);
  return {
    forward: relativeError(out.view, expectedForward(inp.view, weight.view, bias.view, batch, inDim, outDim)),
    backwardInput: relativeError(dInp.view, expectedBackwardInput(dOut.view, weight.view, batch, inDim, outDim)),
    backwardWeight: Math.max(relativeError(dWeight.view, expectedGradients.weight), relativeError(dBias.view, expectedGradients.bias)),
    outputs: [out.view, dInp.view, dWeight.view, dBias.view],
  };
}

const VARIANTS: GemmVariant[] = ['relaxed-simd', 'simd'];

for (const variant of VARIANTS) {
  for (const threads of [1, 2]) {
    const skip = variant === 'relaxed-simd' && !relaxedSimdSupported() ? `Node ${process.versions.node} has no relaxed SIMD` : false;
    describe(`wasm ${variant} kernels, ${threads} thread(s), against a naive float64 loop`, { skip }, () => {
      let kernels: WasmGemmKernels;
      before(async () => {
        kernels = await createWasmKernels({ threads, relaxedSimd: variant === 'relaxed-simd' });
      });
      after(() => kernels.dispose());

      for (const [batch, inDim, outDim] of SHAPES) {
        it(`batch ${batch}, in ${inDim}, out ${outDim}`, (t) => {
          const errors = runProducts(kernels, batch, inDim, outDim);
          t.diagnostic(`max |error| / Σ|term|: forward ${errors.forward.toExponential(2)}, input gradient ${errors.backwardInput.toExponential(2)}, weight gradient ${errors.backwardWeight.toExponential(2)}`);
          assert.ok(errors.forward <= RELATIVE_TOLERANCE, `forward: ${errors.forward}`);
          assert.ok(errors.backwardInput <= RELATIVE_TOLERANCE, `input gradient: ${errors.backwardInput}`);
          assert.ok(errors.backwardWeight <= RELATIVE_TOLERANCE, `weight gradient: ${errors.backwardWeight}`);
        });
      }
    });
  }
}

describe('wasm kernels across thread counts', () => {
  it('give bit-identical products on 1 and 2 threads', async () => {
    const single = await createWasmKernels({ threads: 1 });
    const double = await createWasmKernels({ threads: 2 });
    try {
      for (const [batch, inDim, outDim] of [[64, 801, 784], [17, 784, 801]]) {
        const one = runProducts(single, batch, inDim, outDim).outputs;
        const two = runProducts(double, batch, inDim, outDim).outputs;
        one.forEach((output, i) => {
          const at = output.findIndex((value, j) => !Object.is(value, two[i][j]));
          assert.equal(at, -1, `output ${i} differs at element ${at} of ${output.length} (batch ${batch}, in ${inDim}, out ${outDim}): ${output[at]} vs ${two[i][at]}`);
        });
      }
    } finally {
      single.dispose();
      double.dispose();
    }
  });
});

describe('wasm kernels with arrays they cannot address', () => {
  let kernels: WasmGemmKernels;
  before(async () => {
    kernels = await createWasmKernels({ threads: 2 });
  });
  after(() => kernels.dispose());

  it('hand float64 arrays (gradient checks) to the reference kernels', () => {
    const [batch, inDim, outDim] = [3, 17, 5];
    const rng = new Rng(7);
    const random = (n: number): Float64Array => Float64Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
    const inp = random(batch * inDim);
    const weight = random(outDim * inDim);
    const bias = random(outDim);
    const out = new Float64Array(batch * outDim);
    kernels.matmulForward(out, inp, weight, bias, batch, inDim, outDim);
    const want = expectedForward(inp, weight, bias, batch, inDim, outDim).value;
    // Both sum in float64, in different orders.
    const error = Math.max(...out.map((value, i) => Math.abs(value - want[i])));
    assert.ok(error < 1e-12, `max |error| ${error}`);
  });

  it('refuse a float32 array from elsewhere rather than run it slowly', () => {
    const outside = new Float32Array(4);
    const inside = kernels.allocate(4);
    assert.throws(() => kernels.matmulForward(outside, inside, inside, inside, 2, 2, 2), {
      name: 'TypeError',
      message: /take only Float32Arrays from their own allocate\(\)/,
    });
  });

  it('refuse sizes that overrun an array', () => {
    const small = kernels.allocate(6);
    assert.throws(() => kernels.matmulBackwardInput(small, small, small, 2, 3, 4), {
      name: 'RangeError',
      message: 'dOut holds 6 floats; this product needs 8',
    });
    assert.throws(() => kernels.matmulForward(small, small, small, small, 1.5, 2, 2), RangeError);
  });
});

describe('wasm kernels after dispose()', () => {
  it('refuse to run', async () => {
    const kernels = await createWasmKernels({ threads: 2 });
    const buffer = kernels.allocate(1);
    kernels.dispose();
    assert.throws(() => kernels.matmulForward(buffer, buffer, buffer, buffer, 1, 1, 1), /cannot run: they were disposed/);
  });
});
