import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import type { Kernels } from '../../src/core/index.js';
import { createWasmKernels, type WasmKernels } from '../../src/kernels/wasm-kernels.js';
import { BACKENDS, type DisposableKernels } from './backends.js';
import { Guarded } from './guarded.js';

/**
 * Each product against a naive float64 triple loop. The kernels sum in float32, so an
 * element's error is bounded by a multiple of its sum of magnitudes Σ|term| (Higham's
 * bound for a dot product is n·ε·Σ|term|); the test scales the difference by that sum.
 */
const RELATIVE_TOLERANCE = 1e-5;

/**
 * (batch, inDim, outDim): the odd sizes in every role. An empty batch leaves empty
 * sums: the gradients are zero, whatever the buffers held. Batches up to 3 take the
 * forward product's dot-product path; 32 or more weight rows per thread, the weight
 * gradient's packed path, in blocks of 128 samples past that. One sample of 801 inputs and
 * 67 outputs is two tiles in the native kernels, of 32 and 35 weight rows, which their
 * matrix-vector kernel takes four at a time, then the last three one by one. The last five
 * exceed the size from which a product is split across threads, and split at an odd edge; the
 * first of them has too few outputs to split by columns, so the native forward product splits
 * its samples.
 */
const SHAPES: [number, number, number][] = [
  [0, 17, 5], [1, 1, 1], [3, 17, 1], [1, 784, 3], [2, 3, 17], [17, 3, 801], [64, 17, 3], [3, 801, 64], [801, 64, 17], [784, 1, 3],
  [1, 801, 67], [250, 301, 7], [801, 17, 64], [801, 64, 65], [3, 801, 784], [17, 784, 801], [64, 801, 784],
];

/** An expected product in float64 and, per element, the sum of magnitudes of its terms. */
interface Expected {
  value: Float64Array;
  magnitude: Float64Array;
}

/** Every element (r, c) of a rows × cols result: start(r, c) + Σ_k term(r, c, k), in float64. */
function expected(
  rows: number, cols: number, depth: number, start: (r: number, c: number) => number, term: (r: number, c: number, k: number) => number,
): Expected {
  const value = new Float64Array(rows * cols);
  const magnitude = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let sum = start(r, c);
      let abs = Math.abs(sum);
      for (let k = 0; k < depth; k++) {
        const t = term(r, c, k);
        sum += t;
        abs += Math.abs(t);
      }
      value[r * cols + c] = sum;
      magnitude[r * cols + c] = abs;
    }
  }
  return { value, magnitude };
}

/** Seeded operands of one shape and the four results the kernels must produce from them. */
interface ProductCase {
  inp: Float32Array;
  weight: Float32Array;
  bias: Float32Array;
  dOut: Float32Array;
  out: Expected;
  dInp: Expected;
  dWeight: Expected;
  dBias: Expected;
}

const cases = new Map<string, ProductCase>();

/** The case of one shape, computed once and shared by every variant and thread count. */
function productCase(batch: number, inDim: number, outDim: number): ProductCase {
  const key = `${batch}x${inDim}x${outDim}`;
  const known = cases.get(key);
  if (known) return known;
  const rng = new Rng(batch * 1_000_003 + inDim * 1009 + outDim);
  const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
  const [inp, weight, bias, dOut] = [batch * inDim, outDim * inDim, outDim, batch * outDim].map(random);
  const made: ProductCase = {
    inp, weight, bias, dOut,
    out: expected(batch, outDim, inDim, (_, o) => bias[o], (b, o, i) => inp[b * inDim + i] * weight[o * inDim + i]),
    dInp: expected(batch, inDim, outDim, () => 0, (b, i, o) => dOut[b * outDim + o] * weight[o * inDim + i]),
    dWeight: expected(outDim, inDim, batch, () => 0, (o, i, b) => dOut[b * outDim + o] * inp[b * inDim + i]),
    dBias: expected(1, outDim, batch, () => 0, (_, o, b) => dOut[b * outDim + o]),
  };
  cases.set(key, made);
  return made;
}

/** Max over elements of |got − want| / Σ|term|; fails on a NaN or infinite element. */
function relativeError(got: Float32Array, want: Expected): number {
  let max = 0;
  for (let i = 0; i < got.length; i++) {
    assert.ok(Number.isFinite(got[i]), `element ${i} is ${got[i]}`);
    max = Math.max(max, Math.abs(got[i] - want.value[i]) / Math.max(want.magnitude[i], Number.MIN_VALUE));
  }
  return max;
}

interface ProductErrors {
  forward: number;
  backwardInput: number;
  backwardWeight: number;
  /** The outputs, to compare runs bit for bit. */
  outputs: Float32Array[];
}

function runProducts(kernels: Kernels, batch: number, inDim: number, outDim: number): ProductErrors {
  const known = productCase(batch, inDim, outDim);
  const [inp, weight, bias, dOut] = [known.inp, known.weight, known.bias, known.dOut].map((values) => new Guarded(kernels, values).view);
  // Every output starts as NaN: a kernel that reads one instead of overwriting it shows.
  const [out, dInp, dWeight, dBias] = [batch * outDim, batch * inDim, outDim * inDim, outDim]
    .map((length) => new Guarded(kernels, new Float32Array(length).fill(NaN)));

  kernels.matmulForward(out.view, inp, weight, bias, batch, inDim, outDim);
  kernels.matmulBackwardInput(dInp.view, dOut, weight, batch, inDim, outDim);
  kernels.matmulBackwardWeight(dWeight.view, dBias.view, dOut, inp, batch, inDim, outDim);

  for (const [name, array] of Object.entries({ out, dInp, dWeight, dBias })) array.assertGuardsIntact(name);
  return {
    forward: relativeError(out.view, known.out),
    backwardInput: relativeError(dInp.view, known.dInp),
    backwardWeight: Math.max(relativeError(dWeight.view, known.dWeight), relativeError(dBias.view, known.dBias)),
    outputs: [out.view, dInp.view, dWeight.view, dBias.view],
  };
}

for (const backend of BACKENDS) {
  for (const threads of [1, 2]) {
    describe(`${backend.name} kernels, ${threads} thread(s), against a naive float64 loop`, { skip: backend.skip }, () => {
      let kernels: DisposableKernels;
      before(async () => {
        kernels = await backend.create(threads);
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

  describe(`${backend.name} kernels across thread counts`, { skip: backend.skip }, () => {
    it('give bit-identical products on 1 and 2 threads', async () => {
      const single = await backend.create(1);
      const double = await backend.create(2);
      try {
        for (const [batch, inDim, outDim] of [[64, 801, 784], [17, 784, 801], [3, 801, 784], [1, 784, 801]]) {
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
}

describe('wasm kernels with arrays they cannot address', () => {
  let kernels: WasmKernels;
  before(async () => {
    kernels = await createWasmKernels({ threads: 2 });
  });
  after(() => kernels.dispose());

  it('hand float64 arrays (gradient checks) to the reference kernels', () => {
    const [batch, inDim, outDim] = [3, 17, 5];
    const known = productCase(batch, inDim, outDim);
    const out = new Float64Array(batch * outDim);
    kernels.matmulForward(out, Float64Array.from(known.inp), Float64Array.from(known.weight), Float64Array.from(known.bias), batch, inDim, outDim);
    // Both sum the same float32 values in float64, in different orders.
    const error = Math.max(...out.map((value, i) => Math.abs(value - known.out.value[i])));
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
      message: 'dOut holds 6 floats; this call needs 8',
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

describe('wasm kernels memory', () => {
  it('keeps computing on buffers allocated before the memory grew', async () => {
    const kernels = await createWasmKernels({ threads: 2 });
    try {
      const [batch, inDim, outDim] = [64, 801, 784];
      const known = productCase(batch, inDim, outDim);
      const [inp, weight, bias] = [known.inp, known.weight, known.bias].map((values) => kernels.allocate(values.length).fill(0));
      const out = kernels.allocate(batch * outDim);
      const bytesBefore = inp.buffer.byteLength;
      kernels.allocate(64 * 262_144);
      inp.set(known.inp);
      weight.set(known.weight);
      bias.set(known.bias);
      kernels.matmulForward(out, inp, weight, bias, batch, inDim, outDim);
      assert.equal(inp.buffer.byteLength, bytesBefore, 'these views were made before the memory grew');
      assert.ok(relativeError(out, known.out) <= RELATIVE_TOLERANCE);
    } finally {
      kernels.dispose();
    }
  });
});
