import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { referenceKernels } from '../../src/core/reference-kernels.js';
import { Rng } from '../../src/core/rng.js';
import { maxAbsDifference } from './fixtures.js';

/** Naive triple loops, the definition each product must match. */
export const naive = {
  forward(inp: Float32Array, weight: Float32Array, bias: Float32Array, batch: number, inDim: number, outDim: number): Float64Array {
    const out = new Float64Array(batch * outDim);
    for (let b = 0; b < batch; b++)
      for (let o = 0; o < outDim; o++) {
        let sum = bias[o];
        for (let i = 0; i < inDim; i++) sum += inp[b * inDim + i] * weight[o * inDim + i];
        out[b * outDim + o] = sum;
      }
    return out;
  },
  backwardInput(dOut: Float32Array, weight: Float32Array, batch: number, inDim: number, outDim: number): Float64Array {
    const dInp = new Float64Array(batch * inDim);
    for (let b = 0; b < batch; b++)
      for (let i = 0; i < inDim; i++) {
        let sum = 0;
        for (let o = 0; o < outDim; o++) sum += dOut[b * outDim + o] * weight[o * inDim + i];
        dInp[b * inDim + i] = sum;
      }
    return dInp;
  },
  backwardWeight(dOut: Float32Array, inp: Float32Array, batch: number, inDim: number, outDim: number): Float64Array {
    const dWeight = new Float64Array(outDim * inDim);
    for (let o = 0; o < outDim; o++)
      for (let i = 0; i < inDim; i++) {
        let sum = 0;
        for (let b = 0; b < batch; b++) sum += dOut[b * outDim + o] * inp[b * inDim + i];
        dWeight[o * inDim + i] = sum;
      }
    return dWeight;
  },
};

function random(rng: Rng, n: number): Float32Array {
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = rng.nextFloat() * 2 - 1;
  return values;
}

/** (batch, inDim, outDim): every odd size of the issue appears in every role. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [3, 17, 5], [17, 3, 64], [64, 784, 17], [1, 801, 3], [3, 784, 801], [801, 64, 1], [17, 801, 784], [784, 1, 3], [5, 64, 801],
];
/** float32 storage of sums of up to 801 products of values in [-1, 1]: rounding stays far below this. */
const TOLERANCE = 1e-4;

describe('reference GEMM kernels against a naive triple loop', () => {
  for (const [batch, inDim, outDim] of SHAPES) {
    it(`batch ${batch}, in ${inDim}, out ${outDim}`, () => {
      const rng = new Rng(batch * 1000 + inDim + outDim);
      const inp = random(rng, batch * inDim);
      const weight = random(rng, outDim * inDim);
      const bias = random(rng, outDim);
      const dOut = random(rng, batch * outDim);

      const out = new Float32Array(batch * outDim);
      referenceKernels.matmulForward(out, inp, weight, bias, batch, inDim, outDim);
      const forwardError = maxAbsDifference(out, naive.forward(inp, weight, bias, batch, inDim, outDim));

      const dInp = new Float32Array(batch * inDim).fill(123); // overwritten, not accumulated
      referenceKernels.matmulBackwardInput(dInp, dOut, weight, batch, inDim, outDim);
      const inputError = maxAbsDifference(dInp, naive.backwardInput(dOut, weight, batch, inDim, outDim));

      // Overwrites, as the input gradient does.
      const dWeight = new Float32Array(outDim * inDim).fill(123);
      const dBias = new Float32Array(outDim).fill(123);
      referenceKernels.matmulBackwardWeight(dWeight, dBias, dOut, inp, batch, inDim, outDim);
      const expectedWeight = naive.backwardWeight(dOut, inp, batch, inDim, outDim);
      const expectedBias = new Float64Array(outDim);
      for (let b = 0; b < batch; b++) for (let o = 0; o < outDim; o++) expectedBias[o] += dOut[b * outDim + o];
      const weightError = Math.max(maxAbsDifference(dWeight, expectedWeight), maxAbsDifference(dBias, expectedBias));

      assert.ok(forwardError < TOLERANCE, `forward max diff ${forwardError}`);
      assert.ok(inputError < TOLERANCE, `backward-input max diff ${inputError}`);
      assert.ok(weightError < TOLERANCE, `backward-weight max diff ${weightError}`);
    });
  }
});
