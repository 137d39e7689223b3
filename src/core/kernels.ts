import type { RectifierKernels } from './activations.js';
import type { OptimizerKernels } from './optimizers.js';
import type { FloatArray } from './types.js';

/**
 * The three matrix products of a dense layer. A layer's weight is (outDim, inDim),
 * row-major, as in llm.c and PyTorch, so every kernel below walks memory in order
 * and no product needs a transposed copy.
 *
 * A backend owns the memory it computes on: the network asks it for one buffer and
 * carves parameters, gradients and activations out of it, so a WebAssembly backend
 * can hand out views of its own linear memory and never copy.
 */
export interface GemmKernels {
  readonly name: string;
  /** One zeroed buffer of `length` floats that the kernels may read and write. */
  allocate(length: number): Float32Array;
  /** out = inp · weightᵀ + bias. inp is (batch, inDim), weight is (outDim, inDim), out is (batch, outDim). */
  matmulForward(out: FloatArray, inp: FloatArray, weight: FloatArray, bias: FloatArray, batch: number, inDim: number, outDim: number): void;
  /** dInp = dOut · weight (overwrites). dOut is (batch, outDim), weight is (outDim, inDim), dInp is (batch, inDim). */
  matmulBackwardInput(dInp: FloatArray, dOut: FloatArray, weight: FloatArray, batch: number, inDim: number, outDim: number): void;
  /** dWeight = dOutᵀ · inp and dBias = Σ_b dOut (overwrites: a step needs no zeroing pass before it). */
  matmulBackwardWeight(dWeight: FloatArray, dBias: FloatArray, dOut: FloatArray, inp: FloatArray, batch: number, inDim: number, outDim: number): void;
}

/**
 * A rectifier layer's products with their elementwise work fused in: a backend that splits a
 * product into tiles can rectify each tile while it is still in the cache of the core that
 * computed it, rather than in a second pass that may run on the other core.
 * composedRectifierProducts() gives the unfused reference.
 */
export interface RectifierProductKernels {
  /** z = inp · weightᵀ + bias, then a = z > 0 ? z : negativeSlope·z. Shapes as matmulForward; a is (batch, outDim). */
  matmulRectifierForward(
    z: FloatArray, a: FloatArray, inp: FloatArray, weight: FloatArray, bias: FloatArray,
    batch: number, inDim: number, outDim: number, negativeSlope: number,
  ): void;
  /**
   * Into the layer below, whose pre-activations are z and dropout multipliers mask (or null):
   * dA = (dOut · weight) ⊙ mask, then dZ = z > 0 ? dA : negativeSlope·dA.
   * Shapes as matmulBackwardInput; dZ, z and mask are (batch, inDim).
   */
  matmulRectifierBackwardInput(
    dZ: FloatArray, dOut: FloatArray, weight: FloatArray, z: FloatArray, mask: FloatArray | null,
    batch: number, inDim: number, outDim: number, negativeSlope: number,
  ): void;
}

/**
 * The flat loops that run between the products of a training step. Once the products are
 * fast these dominate a step if left in JavaScript, so a backend runs them too; the plain
 * TypeScript loops next to the math (activations.ts, optimizers.ts, reference-kernels.ts) are the reference.
 */
export interface ElementwiseKernels extends RectifierKernels, OptimizerKernels {
  /** values = 0: optimizer state on a reset, and the diagnostics' running peaks. */
  zero(values: FloatArray): void;
  /** Σ values², summed in float64: finite exactly when every value is finite. */
  sumOfSquares(values: FloatArray): number;
  /** Σ (a - b)² over a's length, summed in float64. */
  sumOfSquaredDifferences(a: FloatArray, b: FloatArray): number;
  /** peak[j] = max(peak[j], max over the batch of z[b, j]). z is (batch, width), peak is (width). */
  columnMax(peak: FloatArray, z: FloatArray, batch: number, width: number): void;
  /**
   * out[b, i] = bytes[order[start + b], i] · scale, rounded to out's precision: a batch of byte
   * rows (pixels) gathered from a dataset of rows of `width` bytes. out is (count, width).
   * Rows come from anywhere in a dataset of tens of megabytes, so this waits on memory.
   */
  loadByteRows(out: FloatArray, bytes: Uint8Array, order: Uint32Array, start: number, count: number, width: number, scale: number): void;
}

/** Everything a backend computes: the products and the elementwise loops, over memory it allocates. */
export interface Kernels extends GemmKernels, RectifierProductKernels, ElementwiseKernels {}

/** The rectifier products as a product followed by its elementwise loops, on any backend. */
export function composedRectifierProducts(
  kernels: Pick<GemmKernels, 'matmulForward' | 'matmulBackwardInput'> & RectifierKernels,
): RectifierProductKernels {
  return {
    matmulRectifierForward(z, a, inp, weight, bias, batch, inDim, outDim, negativeSlope) {
      kernels.matmulForward(z, inp, weight, bias, batch, inDim, outDim);
      kernels.rectifierForward(a, z, batch * outDim, negativeSlope);
    },
    matmulRectifierBackwardInput(dZ, dOut, weight, z, mask, batch, inDim, outDim, negativeSlope) {
      kernels.matmulBackwardInput(dZ, dOut, weight, batch, inDim, outDim);
      const n = batch * inDim;
      if (mask) for (let i = 0; i < n; i++) dZ[i] *= mask[i];
      kernels.rectifierBackward(dZ, dZ, z, n, negativeSlope);
    },
  };
}
