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
 * a shared counter. Each output element is summed by one thread in a fixed order, each float
 * of a loop gets the same arithmetic on any thread, and the sums run on the calling thread, so
 * results are bit-identical for any thread count.
 */
export async function createWasmKernels(options: WasmKernelsOptions = {}): Promise<WasmKernels> {
  const threads = options.threads ?? availableParallelism();
  const variant: GemmVariant = (options.relaxedSimd ?? relaxedSimdSupported()) ? 'relaxed-simd' : 'simd';
  const module = await compileGemmModule(variant);
  const memory = new LinearMemory();
  const exports = instantiateGemm(module, memory.memory);
  const team = await WasmTeam.start(exports, module, memory.memory, threads);
  return new SharedMemoryKernels(variant, memory, exports, team).kernels();
}

/**
 * The kernels that run on WebAssembly memory: every method of Kernels but its name, allocate(),
 * the composed rectifier products, and loadByteRows(), whose dataset bytes live outside that memory.
 */
type TableKernel = Exclude<keyof Kernels, 'name' | 'allocate' | 'matmulRectifierForward' | 'matmulRectifierBackwardInput' | 'loadByteRows'>;

/** What the table's kernels reach of their team: the exports, and the two ways of handing work to the threads. */
interface WasmContext {
  readonly exports: KernelExports;
  /**
   * Hands a product to the threads: its arrays in the order of the kernel's parameters (the
   * input gradient has three; its fourth is ignored), its sizes, and how its `count` outputs
   * split into ranges of whole `unit`s.
   */
  product(op: TeamOp, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, batch: number, inDim: number, outDim: number, count: number, unit: number): void;
  /**
   * Hands an elementwise loop over `n` floats to the threads: its arrays in the order of the
   * export's parameters (unused ones repeat the last), the weights among the floats, and its scalars.
   */
  elementwise(op: TeamOp, n: number, weightCount: number, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, ...scalars: number[]): void;
}

/**
 * The dispatch table: each kernel on arrays that live in the team's memory, checking its sizes
 * before WebAssembly reads a byte. bindKernel() sends float64 arrays to the reference kernels.
 */
const WASM_KERNELS: { [K in TableKernel]: (wasm: WasmContext, ...args: Parameters<Kernels[K]>) => ReturnType<Kernels[K]> } = {
  matmulForward(wasm, out, inp, weight, bias, batch, inDim, outDim) {
    // inp is (batch, inDim), weight is (outDim, inDim), bias is (outDim), out is (batch, outDim)
    checkSizes(batch, inDim, outDim);
    checkLengths({ out: [out, batch * outDim], inp: [inp, batch * inDim], weight: [weight, outDim * inDim], bias: [bias, outDim] });
    wasm.product(OP.forward, out, inp, weight, bias, batch, inDim, outDim, outDim, TILE_ROWS);
  },
  matmulBackwardInput(wasm, dInp, dOut, weight, batch, inDim, outDim) {
    // dOut is (batch, outDim), weight is (outDim, inDim), dInp is (batch, inDim)
    checkSizes(batch, inDim, outDim);
    checkLengths({ dInp: [dInp, batch * inDim], dOut: [dOut, batch * outDim], weight: [weight, outDim * inDim] });
    wasm.product(OP.backwardInput, dInp, dOut, weight, weight, batch, inDim, outDim, inDim, TILE_COLS);
  },
  matmulBackwardWeight(wasm, dWeight, dBias, dOut, inp, batch, inDim, outDim) {
    // dOut is (batch, outDim), inp is (batch, inDim), dWeight is (outDim, inDim), dBias is (outDim)
    checkSizes(batch, inDim, outDim);
    checkLengths({ dWeight: [dWeight, outDim * inDim], dBias: [dBias, outDim], dOut: [dOut, batch * outDim], inp: [inp, batch * inDim] });
    wasm.product(OP.backwardWeight, dWeight, dBias, dOut, inp, batch, inDim, outDim, outDim, TILE_ROWS);
  },
  zero(wasm, values) {
    wasm.elementwise(OP.zero, values.length, 0, values, values, values, values);
  },
  sumOfSquares(wasm, values) {
    return wasm.exports.sumOfSquares(values.byteOffset, values.length);
  },
  sumOfSquaredDifferences(wasm, a, b) {
    checkLengths({ b: [b, a.length] });
    return wasm.exports.sumOfSquaredDifferences(a.byteOffset, b.byteOffset, a.length);
  },
  columnMax(wasm, peak, z, batch, width) {
    checkCount(batch);
    checkCount(width);
    checkLengths({ peak: [peak, width], z: [z, batch * width] });
    wasm.exports.columnMax(peak.byteOffset, z.byteOffset, batch, width);
  },
  rectifierForward(wasm, a, z, n, negativeSlope) {
    checkCount(n);
    checkLengths({ a: [a, n], z: [z, n] });
    wasm.exports.rectifierForward(a.byteOffset, z.byteOffset, n, negativeSlope);
  },
  rectifierBackward(wasm, dZ, dA, z, n, negativeSlope) {
    checkCount(n);
    checkLengths({ dZ: [dZ, n], dA: [dA, n], z: [z, n] });
    wasm.exports.rectifierBackward(dZ.byteOffset, dA.byteOffset, z.byteOffset, n, negativeSlope);
  },
  sgdStep(wasm, params, grads, weightCount, l2, lr) {
    checkStep(params, weightCount, { grads });
    wasm.elementwise(OP.sgdStep, params.length, weightCount, params, grads, grads, grads, l2, lr);
  },
  momentumStep(wasm, params, grads, velocity, weightCount, l2, lr, mu) {
    checkStep(params, weightCount, { grads, velocity });
    wasm.elementwise(OP.momentumStep, params.length, weightCount, params, grads, velocity, velocity, l2, lr, mu);
  },
  nesterovStep(wasm, params, grads, velocity, weightCount, l2, lr, mu) {
    checkStep(params, weightCount, { grads, velocity });
    wasm.elementwise(OP.nesterovStep, params.length, weightCount, params, grads, velocity, velocity, l2, lr, mu);
  },
  adamStep(wasm, params, grads, m, v, weightCount, l2, stepSize, beta1, beta2, epsilon) {
    checkStep(params, weightCount, { grads, m, v });
    wasm.elementwise(OP.adamStep, params.length, weightCount, params, grads, m, v, l2, stepSize, beta1, 1 - beta1, beta2, 1 - beta2, epsilon);
  },
};

class SharedMemoryKernels implements WasmContext {
  readonly name: string;
  readonly variant: GemmVariant;
  readonly threads: number;
  readonly exports: KernelExports;
  private readonly memory: LinearMemory;
  private readonly team: WasmTeam;
  /** Each thread's tile buffer and packed forward input. */
  private readonly scratch: Float32Array[] = [];
  private readonly scratchPointers: number[];

  constructor(variant: GemmVariant, memory: LinearMemory, exports: KernelExports, team: WasmTeam) {
    this.variant = variant;
    this.threads = team.threads;
    this.name = `wasm-${variant} x${team.threads}`;
    this.memory = memory;
    this.exports = exports;
    this.team = team;
    this.scratchPointers = new Array<number>(team.threads).fill(0);
  }

  /** The Kernels object: the table's kernels bound to this team, and the rectifier products composed from them. */
  kernels(): WasmKernels {
    const kernels = {
      name: this.name,
      variant: this.variant,
      threads: this.threads,
      allocate: (length: number) => this.memory.allocate(length),
      dispose: () => this.team.dispose(),
    } as WasmKernels;
    for (const name of Object.keys(WASM_KERNELS) as TableKernel[]) Object.assign(kernels, { [name]: this.bindKernel(name) });
    // Unfused: the products and the loops each run every tile once either way.
    return Object.assign(kernels, composedRectifierProducts(kernels), { loadByteRows: referenceKernels.loadByteRows });
  }

  product(
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

  elementwise(
    op: TeamOp, n: number, weightCount: number, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, ...scalars: number[]
  ): void {
    const control = this.writeOperation(op, a, b, c, d);
    control[SLOT.args + 4] = weightCount;
    writeScalars(control, scalars);
    this.team.run(n, LINE_FLOATS, FLOP_PER_ELEMENTWISE_FLOAT * n, this.scratchPointers);
  }

  /** One entry of the table, on arrays WebAssembly can address; the reference kernel on float64 arrays. */
  private bindKernel<K extends TableKernel>(name: K): Kernels[K] {
    const compute = WASM_KERNELS[name] as (wasm: WasmContext, ...args: unknown[]) => unknown;
    const reference = referenceKernels[name] as (...args: unknown[]) => unknown;
    return ((...args: unknown[]) => (this.addressable(args) ? compute(this, ...args) : reference(...args))) as Kernels[K];
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
   * Whether WebAssembly can address a call's arrays: they are views from allocate(). Float64
   * arrays (the network's gradient-check precision) go to the reference kernels instead;
   * any other array is a mistake that would otherwise run silently at a tenth of the speed.
   */
  private addressable(args: readonly unknown[]): boolean {
    const arrays = args.filter((arg): arg is FloatArray => arg instanceof Float32Array || arg instanceof Float64Array);
    if (arrays.every((array) => this.memory.owns(array))) return true;
    if (arrays.some((array) => array instanceof Float64Array)) return false;
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

/** Each named array must hold at least its needed floats. */
function checkLengths(needs: Record<string, [FloatArray, number]>): void {
  for (const [name, [array, needed]] of Object.entries(needs)) {
    if (array.length < needed) throw new RangeError(`${name} holds ${array.length} floats; this call needs ${needed}`);
  }
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`An elementwise count must be a whole number ≥ 0, got ${n}`);
}

/** An optimizer step runs over all of params: its gradient and state must be as long, and the weights a prefix. */
function checkStep(params: FloatArray, weightCount: number, mirrors: Record<string, FloatArray>): void {
  if (!Number.isInteger(weightCount) || weightCount < 0 || weightCount > params.length) {
    throw new RangeError(`weightCount must be a whole number from 0 to the ${params.length} parameters, got ${weightCount}`);
  }
  checkLengths(Object.fromEntries(Object.entries(mirrors).map(([name, array]) => [name, [array, params.length]])));
}
