import { referenceRectifierKernels } from './activations.js';
import { composedRectifierProducts, type Kernels } from './kernels.js';
import { referenceOptimizerKernels } from './optimizers.js';
import type { FloatArray } from './types.js';

/**
 * Plain TypeScript kernels, register-tiled 4x4 over (output unit, sample).
 *
 * Loop order: the tile walks output units in the outer loop and samples in the
 * inner one, so four weight rows (4 x inDim floats, 12.5 KB at inDim 784) stay in L1
 * while the whole batch of activations (64 x 784 floats, 200 KB) is streamed from L2.
 * Each weight row is read from memory once per product. Accumulators are locals,
 * which V8 keeps in registers as doubles; the store rounds to the array's precision.
 */

function dot(a: FloatArray, aOffset: number, b: FloatArray, bOffset: number, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[aOffset + i] * b[bOffset + i];
  return sum;
}

export function matmulForward(
  out: FloatArray, inp: FloatArray, weight: FloatArray, bias: FloatArray,
  batch: number, inDim: number, outDim: number,
): void {
  // inp is (batch, inDim), weight is (outDim, inDim), bias is (outDim), out is (batch, outDim)
  const batch4 = batch - (batch % 4);
  const outDim4 = outDim - (outDim % 4);
  for (let o = 0; o < outDim4; o += 4) {
    const w0 = o * inDim, w1 = w0 + inDim, w2 = w1 + inDim, w3 = w2 + inDim;
    const bias0 = bias[o], bias1 = bias[o + 1], bias2 = bias[o + 2], bias3 = bias[o + 3];
    for (let b = 0; b < batch4; b += 4) {
      const x0 = b * inDim, x1 = x0 + inDim, x2 = x1 + inDim, x3 = x2 + inDim;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let i = 0; i < inDim; i++) {
        const a0 = inp[x0 + i], a1 = inp[x1 + i], a2 = inp[x2 + i], a3 = inp[x3 + i];
        const v0 = weight[w0 + i], v1 = weight[w1 + i], v2 = weight[w2 + i], v3 = weight[w3 + i];
        c00 += a0 * v0; c01 += a0 * v1; c02 += a0 * v2; c03 += a0 * v3;
        c10 += a1 * v0; c11 += a1 * v1; c12 += a1 * v2; c13 += a1 * v3;
        c20 += a2 * v0; c21 += a2 * v1; c22 += a2 * v2; c23 += a2 * v3;
        c30 += a3 * v0; c31 += a3 * v1; c32 += a3 * v2; c33 += a3 * v3;
      }
      let row = b * outDim + o;
      out[row] = c00 + bias0; out[row + 1] = c01 + bias1; out[row + 2] = c02 + bias2; out[row + 3] = c03 + bias3;
      row += outDim;
      out[row] = c10 + bias0; out[row + 1] = c11 + bias1; out[row + 2] = c12 + bias2; out[row + 3] = c13 + bias3;
      row += outDim;
      out[row] = c20 + bias0; out[row + 1] = c21 + bias1; out[row + 2] = c22 + bias2; out[row + 3] = c23 + bias3;
      row += outDim;
      out[row] = c30 + bias0; out[row + 1] = c31 + bias1; out[row + 2] = c32 + bias2; out[row + 3] = c33 + bias3;
    }
  }
  // Remainders of the 4x4 tiling: the last outDim % 4 units for every sample, then
  // the last batch % 4 samples for the tiled units.
  for (let o = outDim4; o < outDim; o++) {
    for (let b = 0; b < batch; b++) out[b * outDim + o] = dot(inp, b * inDim, weight, o * inDim, inDim) + bias[o];
  }
  // The remaining samples take 1x4 tiles: this is the whole product for a single-sample predict.
  for (let b = batch4; b < batch; b++) {
    const x = b * inDim;
    for (let o = 0; o < outDim4; o += 4) {
      const w0 = o * inDim, w1 = w0 + inDim, w2 = w1 + inDim, w3 = w2 + inDim;
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let i = 0; i < inDim; i++) {
        const a = inp[x + i];
        c0 += a * weight[w0 + i]; c1 += a * weight[w1 + i]; c2 += a * weight[w2 + i]; c3 += a * weight[w3 + i];
      }
      const row = b * outDim + o;
      out[row] = c0 + bias[o]; out[row + 1] = c1 + bias[o + 1]; out[row + 2] = c2 + bias[o + 2]; out[row + 3] = c3 + bias[o + 3];
    }
  }
}

export function matmulBackwardInput(
  dInp: FloatArray, dOut: FloatArray, weight: FloatArray,
  batch: number, inDim: number, outDim: number,
): void {
  // dOut is (batch, outDim), weight is (outDim, inDim), dInp is (batch, inDim).
  // Reverses out = inp · weightᵀ: dInp[b, i] = Σ_o dOut[b, o] · weight[o, i].
  dInp.fill(0, 0, batch * inDim);
  const batch4 = batch - (batch % 4);
  const outDim4 = outDim - (outDim % 4);
  for (let o = 0; o < outDim4; o += 4) {
    const w0 = o * inDim, w1 = w0 + inDim, w2 = w1 + inDim, w3 = w2 + inDim;
    for (let b = 0; b < batch4; b += 4) {
      const g0 = b * outDim + o, g1 = g0 + outDim, g2 = g1 + outDim, g3 = g2 + outDim;
      const d00 = dOut[g0], d01 = dOut[g0 + 1], d02 = dOut[g0 + 2], d03 = dOut[g0 + 3];
      const d10 = dOut[g1], d11 = dOut[g1 + 1], d12 = dOut[g1 + 2], d13 = dOut[g1 + 3];
      const d20 = dOut[g2], d21 = dOut[g2 + 1], d22 = dOut[g2 + 2], d23 = dOut[g2 + 3];
      const d30 = dOut[g3], d31 = dOut[g3 + 1], d32 = dOut[g3 + 2], d33 = dOut[g3 + 3];
      const x0 = b * inDim, x1 = x0 + inDim, x2 = x1 + inDim, x3 = x2 + inDim;
      for (let i = 0; i < inDim; i++) {
        const v0 = weight[w0 + i], v1 = weight[w1 + i], v2 = weight[w2 + i], v3 = weight[w3 + i];
        dInp[x0 + i] += d00 * v0 + d01 * v1 + d02 * v2 + d03 * v3;
        dInp[x1 + i] += d10 * v0 + d11 * v1 + d12 * v2 + d13 * v3;
        dInp[x2 + i] += d20 * v0 + d21 * v1 + d22 * v2 + d23 * v3;
        dInp[x3 + i] += d30 * v0 + d31 * v1 + d32 * v2 + d33 * v3;
      }
    }
    // Remainder: the last batch % 4 samples for these four units.
    for (let b = batch4; b < batch; b++) {
      const g = b * outDim + o;
      const d0 = dOut[g], d1 = dOut[g + 1], d2 = dOut[g + 2], d3 = dOut[g + 3];
      const x = b * inDim;
      for (let i = 0; i < inDim; i++) {
        dInp[x + i] += d0 * weight[w0 + i] + d1 * weight[w1 + i] + d2 * weight[w2 + i] + d3 * weight[w3 + i];
      }
    }
  }
  // Remainder: the last outDim % 4 units, one weight row at a time.
  for (let o = outDim4; o < outDim; o++) {
    const w = o * inDim;
    for (let b = 0; b < batch; b++) {
      const d = dOut[b * outDim + o];
      const x = b * inDim;
      for (let i = 0; i < inDim; i++) dInp[x + i] += d * weight[w + i];
    }
  }
}

export function matmulBackwardWeight(
  dWeight: FloatArray, dBias: FloatArray, dOut: FloatArray, inp: FloatArray,
  batch: number, inDim: number, outDim: number,
): void {
  // dOut is (batch, outDim), inp is (batch, inDim), dWeight is (outDim, inDim), dBias is (outDim).
  // Reverses out = inp · weightᵀ + bias: dWeight[o, i] = Σ_b dOut[b, o] · inp[b, i], dBias[o] = Σ_b dOut[b, o].
  // The sums start from zero and gather blocks of 4 samples.
  dWeight.fill(0, 0, outDim * inDim);
  dBias.fill(0, 0, outDim);
  const batch4 = batch - (batch % 4);
  const outDim4 = outDim - (outDim % 4);
  for (let o = 0; o < outDim4; o += 4) {
    const w0 = o * inDim, w1 = w0 + inDim, w2 = w1 + inDim, w3 = w2 + inDim;
    for (let b = 0; b < batch4; b += 4) {
      const g0 = b * outDim + o, g1 = g0 + outDim, g2 = g1 + outDim, g3 = g2 + outDim;
      const d00 = dOut[g0], d01 = dOut[g0 + 1], d02 = dOut[g0 + 2], d03 = dOut[g0 + 3];
      const d10 = dOut[g1], d11 = dOut[g1 + 1], d12 = dOut[g1 + 2], d13 = dOut[g1 + 3];
      const d20 = dOut[g2], d21 = dOut[g2 + 1], d22 = dOut[g2 + 2], d23 = dOut[g2 + 3];
      const d30 = dOut[g3], d31 = dOut[g3 + 1], d32 = dOut[g3 + 2], d33 = dOut[g3 + 3];
      const x0 = b * inDim, x1 = x0 + inDim, x2 = x1 + inDim, x3 = x2 + inDim;
      for (let i = 0; i < inDim; i++) {
        const a0 = inp[x0 + i], a1 = inp[x1 + i], a2 = inp[x2 + i], a3 = inp[x3 + i];
        dWeight[w0 + i] += d00 * a0 + d10 * a1 + d20 * a2 + d30 * a3;
        dWeight[w1 + i] += d01 * a0 + d11 * a1 + d21 * a2 + d31 * a3;
        dWeight[w2 + i] += d02 * a0 + d12 * a1 + d22 * a2 + d32 * a3;
        dWeight[w3 + i] += d03 * a0 + d13 * a1 + d23 * a2 + d33 * a3;
      }
    }
    // Remainder: the last batch % 4 samples for these four weight rows.
    for (let b = batch4; b < batch; b++) {
      const g = b * outDim + o;
      const d0 = dOut[g], d1 = dOut[g + 1], d2 = dOut[g + 2], d3 = dOut[g + 3];
      const x = b * inDim;
      for (let i = 0; i < inDim; i++) {
        const a = inp[x + i];
        dWeight[w0 + i] += d0 * a;
        dWeight[w1 + i] += d1 * a;
        dWeight[w2 + i] += d2 * a;
        dWeight[w3 + i] += d3 * a;
      }
    }
  }
  // Remainder: the last outDim % 4 weight rows.
  for (let o = outDim4; o < outDim; o++) {
    const w = o * inDim;
    for (let b = 0; b < batch; b++) {
      const d = dOut[b * outDim + o];
      const x = b * inDim;
      for (let i = 0; i < inDim; i++) dWeight[w + i] += d * inp[x + i];
    }
  }
  for (let b = 0; b < batch; b++) {
    const g = b * outDim;
    for (let o = 0; o < outDim; o++) dBias[o] += dOut[g + o];
  }
}

/** The whole-buffer loops of ElementwiseKernels; the rectifier and optimizer loops live next to their math. */
function zero(values: FloatArray): void {
  values.fill(0);
}

function sumOfSquares(values: FloatArray): number {
  let sum = 0;
  const n = values.length;
  for (let i = 0; i < n; i++) sum += values[i] * values[i];
  return sum;
}

function sumOfSquaredDifferences(a: FloatArray, b: FloatArray): number {
  let sum = 0;
  const n = a.length;
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

function columnMax(peak: FloatArray, z: FloatArray, batch: number, width: number): void {
  for (let b = 0; b < batch; b++) {
    const row = b * width;
    for (let j = 0; j < width; j++) {
      const v = z[row + j];
      if (peak[j] < v) peak[j] = v;
    }
  }
}

function loadByteRows(out: FloatArray, bytes: Uint8Array, order: Uint32Array, start: number, count: number, width: number, scale: number): void {
  for (let b = 0; b < count; b++) {
    const from = order[start + b] * width;
    const row = b * width;
    for (let i = 0; i < width; i++) out[row + i] = bytes[from + i] * scale;
  }
}

export const referenceKernels: Kernels = {
  name: 'typescript-4x4',
  allocate: (length) => new Float32Array(length),
  matmulForward,
  matmulBackwardInput,
  matmulBackwardWeight,
  ...composedRectifierProducts({ matmulForward, matmulBackwardInput, ...referenceRectifierKernels }),
  zero,
  sumOfSquares,
  sumOfSquaredDifferences,
  columnMax,
  loadByteRows,
  ...referenceRectifierKernels,
  ...referenceOptimizerKernels,
};
