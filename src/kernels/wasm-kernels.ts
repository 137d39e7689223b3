import { availableParallelism } from 'node:os';
import { composedRectifierProducts, type Kernels } from '../core/kernels.js';
import { referenceKernels } from '../core/reference-kernels.js';
import type { FloatArray } from '../core/types.js';
import { compileGemmModule, instantiateGemm, relaxedSimdSupported, type GemmVariant, type KernelExports } from './wasm-module.js';
import { OP, SLOT, writeScalars, type TeamOp } from './wasm-team-protocol.js';
import { WasmTeam } from './wasm-team.js';
import { LinearMemory } from './linear-memory.js';

export interface WasmKernelsOptions {
  /** Threads per product, the calling one included (default: the cores available). */
  threads?: number;
  /** true: fused multiply-add, or fail where the runtime lacks it; false: plain SIMD;
   * unset: fused multiply-add where the runtime has it. */
  relaxedSimd?: boolean;
}

export interface WasmKernels extends Kernels {
  readonly variant: GemmVariant;
  readonly threads: number;
  /** Ends the helper threads; the kernels must not be called afterwards. */
  dispose(): void;
}

/** Register tile sizes of assembly/gemm.ts: threads split outputs at whole tiles. */
const TILE_ROWS = 4;
const TILE_COLS = 8;
/** Threads split an elementwise loop at whole cache lines of 16 floats, so no line is written by two. */
const LINE_FLOATS = 16;
/**
 * A float of an optimizer step takes one thread about as long as 16 flops of a product
 * (0.36 ns against 45 GFLOP/s), so loops over fewer than about 125,000 floats stay on the calling thread.
 */
const FLOP_PER_ELEMENTWISE_FLOAT = 16;

/**
 * The WebAssembly SIMD kernels, with every product cut into tiles of output rows or columns,
 * and the optimizer steps and zeroing into ranges of floats, that `threads` threads take from
 * a shared counter. Each
 * output element is summed by one thread in a fixed order, each float of a loop gets the
 * same arithmetic on any thread, and the sums run on the calling thread, so results are
 * bit-identical for any thread count.
 */
export async function createWasmKernels(options: WasmKernelsOptions = {}): Promise<WasmKernels> {
  const threads = options.threads ?? availableParallelism();
  const variant: GemmVariant = (options.relaxedSimd ?? relaxedSimdSupported()) ? 'relaxed-simd' : 'simd';
  const module = await compileGemmModule(variant);
  const memory = new LinearMemory();
  const exports = instantiateGemm(module, memory.memory);
  const team = await WasmTeam.start(exports, module, memory.memory, threads);
  return new SharedMemoryKernels(variant, memory, exports, team);
}

class SharedMemoryKernels implements WasmKernels {
  readonly name: string;
  readonly variant: GemmVariant;
  readonly threads: number;
  private readonly memory: LinearMemory;
  private readonly exports: KernelExports;
  private readonly team: WasmTeam;
  /** Each thread's tile buffer and packed forward input. */
  private readonly scratch: Float32Array[] = [];
  private readonly scratchPointers: number[];
  /** Unfused: the wasm team would pay a second wake-up for the loop, but its kernels run each tile once either way. */
  readonly matmulRectifierForward: Kernels['matmulRectifierForward'];
  readonly matmulRectifierBackwardInput: Kernels['matmulRectifierBackwardInput'];

  constructor(variant: GemmVariant, memory: LinearMemory, exports: KernelExports, team: WasmTeam) {
    this.variant = variant;
    this.threads = team.threads;
    this.name = `wasm-${variant} x${team.threads}`;
    this.memory = memory;
    this.exports = exports;
    this.team = team;
    this.scratchPointers = new Array<number>(team.threads).fill(0);
    ({ matmulRectifierForward: this.matmulRectifierForward, matmulRectifierBackwardInput: this.matmulRectifierBackwardInput } =
      composedRectifierProducts(this));
  }

  allocate(length: number): Float32Array {
    return this.memory.allocate(length);
  }

  dispose(): void {
    this.team.dispose();
  }

  matmulForward(out: FloatArray, inp: FloatArray, weight: FloatArray, bias: FloatArray, batch: number, inDim: number, outDim: number): void {
    // inp is (batch, inDim), weight is (outDim, inDim), bias is (outDim), out is (batch, outDim)
    if (!this.addressable(out, inp, weight, bias)) {
      referenceKernels.matmulForward(out, inp, weight, bias, batch, inDim, outDim);
      return;
    }
    checkSizes(batch, inDim, outDim);
    checkLength('out', out, batch * outDim);
    checkLength('inp', inp, batch * inDim);
    checkLength('weight', weight, outDim * inDim);
    checkLength('bias', bias, outDim);
    this.run(OP.forward, out, inp, weight, bias, batch, inDim, outDim, outDim, TILE_ROWS);
  }

  matmulBackwardInput(dInp: FloatArray, dOut: FloatArray, weight: FloatArray, batch: number, inDim: number, outDim: number): void {
    // dOut is (batch, outDim), weight is (outDim, inDim), dInp is (batch, inDim)
    if (!this.addressable(dInp, dOut, weight, weight)) {
      referenceKernels.matmulBackwardInput(dInp, dOut, weight, batch, inDim, outDim);
      return;
    }
    checkSizes(batch, inDim, outDim);
    checkLength('dInp', dInp, batch * inDim);
    checkLength('dOut', dOut, batch * outDim);
    checkLength('weight', weight, outDim * inDim);
    this.run(OP.backwardInput, dInp, dOut, weight, weight, batch, inDim, outDim, inDim, TILE_COLS);
  }

  matmulBackwardWeight(dWeight: FloatArray, dBias: FloatArray, dOut: FloatArray, inp: FloatArray, batch: number, inDim: number, outDim: number): void {
    // dOut is (batch, outDim), inp is (batch, inDim), dWeight is (outDim, inDim), dBias is (outDim)
    if (!this.addressable(dWeight, dBias, dOut, inp)) {
      referenceKernels.matmulBackwardWeight(dWeight, dBias, dOut, inp, batch, inDim, outDim);
      return;
    }
    checkSizes(batch, inDim, outDim);
    checkLength('dWeight', dWeight, outDim * inDim);
    checkLength('dBias', dBias, outDim);
    checkLength('dOut', dOut, batch * outDim);
    checkLength('inp', inp, batch * inDim);
    this.run(OP.backwardWeight, dWeight, dBias, dOut, inp, batch, inDim, outDim, outDim, TILE_ROWS);
  }

  zero(values: FloatArray): void {
    if (!this.addressable(values)) {
      referenceKernels.zero(values);
      return;
    }
    this.runElementwise(OP.zero, values.length, 0, values, values, values, values);
  }

  sumOfSquares(values: FloatArray): number {
    if (!this.addressable(values)) return referenceKernels.sumOfSquares(values);
    return this.exports.sumOfSquares(values.byteOffset, values.length);
  }

  sumOfSquaredDifferences(a: FloatArray, b: FloatArray): number {
    if (!this.addressable(a, b)) return referenceKernels.sumOfSquaredDifferences(a, b);
    checkLength('b', b, a.length);
    return this.exports.sumOfSquaredDifferences(a.byteOffset, b.byteOffset, a.length);
  }

  columnMax(peak: FloatArray, z: FloatArray, batch: number, width: number): void {
    if (!this.addressable(peak, z)) {
      referenceKernels.columnMax(peak, z, batch, width);
      return;
    }
    checkCount(batch);
    checkCount(width);
    checkLength('peak', peak, width);
    checkLength('z', z, batch * width);
    this.exports.columnMax(peak.byteOffset, z.byteOffset, batch, width);
  }

  rectifierForward(a: FloatArray, z: FloatArray, n: number, negativeSlope: number): void {
    if (!this.addressable(a, z)) {
      referenceKernels.rectifierForward(a, z, n, negativeSlope);
      return;
    }
    checkCount(n);
    checkLength('a', a, n);
    checkLength('z', z, n);
    this.exports.rectifierForward(a.byteOffset, z.byteOffset, n, negativeSlope);
  }

  rectifierBackward(dZ: FloatArray, dA: FloatArray, z: FloatArray, n: number, negativeSlope: number): void {
    if (!this.addressable(dZ, dA, z)) {
      referenceKernels.rectifierBackward(dZ, dA, z, n, negativeSlope);
      return;
    }
    checkCount(n);
    checkLength('dZ', dZ, n);
    checkLength('dA', dA, n);
    checkLength('z', z, n);
    this.exports.rectifierBackward(dZ.byteOffset, dA.byteOffset, z.byteOffset, n, negativeSlope);
  }

  sgdStep(params: FloatArray, grads: FloatArray, weightCount: number, l2: number, lr: number): void {
    if (!this.addressable(params, grads)) {
      referenceKernels.sgdStep(params, grads, weightCount, l2, lr);
      return;
    }
    checkStep(params, weightCount, { grads });
    this.runElementwise(OP.sgdStep, params.length, weightCount, params, grads, grads, grads, l2, lr);
  }

  momentumStep(params: FloatArray, grads: FloatArray, velocity: FloatArray, weightCount: number, l2: number, lr: number, mu: number): void {
    if (!this.addressable(params, grads, velocity)) {
      referenceKernels.momentumStep(params, grads, velocity, weightCount, l2, lr, mu);
      return;
    }
    checkStep(params, weightCount, { grads, velocity });
    this.runElementwise(OP.momentumStep, params.length, weightCount, params, grads, velocity, velocity, l2, lr, mu);
  }

  nesterovStep(params: FloatArray, grads: FloatArray, velocity: FloatArray, weightCount: number, l2: number, lr: number, mu: number): void {
    if (!this.addressable(params, grads, velocity)) {
      referenceKernels.nesterovStep(params, grads, velocity, weightCount, l2, lr, mu);
      return;
    }
    checkStep(params, weightCount, { grads, velocity });
    this.runElementwise(OP.nesterovStep, params.length, weightCount, params, grads, velocity, velocity, l2, lr, mu);
  }

  adamStep(
    params: FloatArray, grads: FloatArray, m: FloatArray, v: FloatArray, weightCount: number, l2: number,
    stepSize: number, beta1: number, beta2: number, epsilon: number,
  ): void {
    if (!this.addressable(params, grads, m, v)) {
      referenceKernels.adamStep(params, grads, m, v, weightCount, l2, stepSize, beta1, beta2, epsilon);
      return;
    }
    checkStep(params, weightCount, { grads, m, v });
    this.runElementwise(OP.adamStep, params.length, weightCount, params, grads, m, v, l2, stepSize, beta1, 1 - beta1, beta2, 1 - beta2, epsilon);
  }

  /**
   * Hands a product to the threads: its arrays in the order of the kernel's parameters
   * (the input gradient has three; its fourth is ignored), its sizes, and how its
   * `count` outputs split into ranges of whole `unit`s.
   */
  private run(
    op: TeamOp, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray,
    batch: number, inDim: number, outDim: number, count: number, unit: number,
  ): void {
    this.reserveScratch(batch, inDim);
    const control = this.writeOperation(op, a, b, c, d);
    const args = SLOT.args;
    control[args + 4] = batch;
    control[args + 5] = inDim;
    control[args + 6] = outDim;
    this.team.run(count, unit, 2 * batch * inDim * outDim, this.scratchPointers);
  }

  /**
   * Hands an elementwise loop over `n` floats to the threads: its arrays in the order of the
   * export's parameters (unused ones repeat the last), the weights among the floats, and its scalars.
   */
  private runElementwise(
    op: TeamOp, n: number, weightCount: number, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, ...scalars: number[]
  ): void {
    const control = this.writeOperation(op, a, b, c, d);
    control[SLOT.args + 4] = weightCount;
    writeScalars(control, scalars);
    this.team.run(n, LINE_FLOATS, FLOP_PER_ELEMENTWISE_FLOAT * n, this.scratchPointers);
  }

  /** Writes the operation and its four array pointers into the control slots, and returns them. */
  private writeOperation(op: TeamOp, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray): Int32Array {
    const { control } = this.team;
    const args = SLOT.args;
    control[SLOT.op] = op;
    control[args] = a.byteOffset;
    control[args + 1] = b.byteOffset;
    control[args + 2] = c.byteOffset;
    control[args + 3] = d.byteOffset;
    return control;
  }

  /**
   * Whether WebAssembly can address the arrays: they are views from allocate(). Float64
   * arrays (the network's gradient-check precision) go to the reference kernels instead;
   * any other array is a mistake that would otherwise run silently at a tenth of the speed.
   */
  private addressable(a: FloatArray, b = a, c = a, d = a): boolean {
    const { memory } = this;
    if (memory.owns(a) && memory.owns(b) && memory.owns(c) && memory.owns(d)) return true;
    if (a instanceof Float64Array || b instanceof Float64Array || c instanceof Float64Array || d instanceof Float64Array) return false;
    throw new TypeError(`The ${this.name} kernels take only Float32Arrays from their own allocate(), or Float64Arrays for the reference kernels`);
  }

  /** Makes every thread's scratch large enough for products with this batch and inDim. */
  private reserveScratch(batch: number, inDim: number): void {
    const length = this.exports.scratchLength(batch, inDim);
    if (this.scratch.length > 0 && this.scratch[0].length >= length) return;
    for (const buffer of this.scratch) this.memory.release(buffer);
    for (let thread = 0; thread < this.threads; thread++) {
      this.scratch[thread] = this.memory.allocate(length);
      this.scratchPointers[thread] = this.scratch[thread].byteOffset;
    }
  }
}

function checkSizes(batch: number, inDim: number, outDim: number): void {
  if (!Number.isInteger(batch) || !Number.isInteger(inDim) || !Number.isInteger(outDim) || batch < 0 || inDim < 0 || outDim < 0) {
    throw new RangeError(`GEMM sizes must be whole numbers ≥ 0, got batch ${batch}, inDim ${inDim}, outDim ${outDim}`);
  }
}

function checkLength(name: string, array: FloatArray, needed: number): void {
  if (array.length < needed) throw new RangeError(`${name} holds ${array.length} floats; this call needs ${needed}`);
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`An elementwise count must be a whole number ≥ 0, got ${n}`);
}

/** An optimizer step runs over all of params: its gradient and state must be as long, and the weights a prefix. */
function checkStep(params: FloatArray, weightCount: number, mirrors: Record<string, FloatArray>): void {
  if (!Number.isInteger(weightCount) || weightCount < 0 || weightCount > params.length) {
    throw new RangeError(`weightCount must be a whole number from 0 to the ${params.length} parameters, got ${weightCount}`);
  }
  for (const [name, array] of Object.entries(mirrors)) checkLength(name, array, params.length);
}
