import { readFile } from 'node:fs/promises';
import v8 from 'node:v8';

/**
 * Loading the kernels compiled from assembly/gemm.ts and assembly/elementwise.ts into one
 * module. `npm run build:wasm` writes one
 * .wasm per variant next to this file's compiled JavaScript; this is the only place
 * that reads them.
 */

/** Fused multiply-add first: it is faster where the runtime has it. */
export const GEMM_VARIANTS = ['relaxed-simd', 'simd'] as const;
export type GemmVariant = (typeof GEMM_VARIANTS)[number];

const WASM_FILES: Record<GemmVariant, string> = {
  'relaxed-simd': 'gemm-relaxed.wasm',
  simd: 'gemm-simd.wasm',
};

/**
 * The linear memory's ceiling in 64 KiB pages (4 GiB, as declared in assembly/asconfig.json).
 * A shared memory reserves its maximum as address space up front and never moves, so
 * growing it never detaches the views handed out.
 */
export const MAXIMUM_MEMORY_PAGES = 65536;

/** The exports of assembly/gemm.ts. Pointers are byte offsets into the linear memory, sizes count floats. */
export interface GemmExports {
  /** Floats of scratch each thread needs for products with this batch and inDim. */
  scratchLength(batch: number, inDim: number): number;
  matmulForward(
    out: number, inp: number, weight: number, bias: number, scratch: number,
    batch: number, inDim: number, outDim: number, oStart: number, oEnd: number,
  ): void;
  matmulBackwardInput(
    dInp: number, dOut: number, weight: number, scratch: number,
    batch: number, inDim: number, outDim: number, iStart: number, iEnd: number,
  ): void;
  matmulBackwardWeight(
    dWeight: number, dBias: number, dOut: number, inp: number, scratch: number,
    batch: number, inDim: number, outDim: number, oStart: number, oEnd: number,
  ): void;
}

/** The exports of assembly/elementwise.ts, which run on the calling thread. */
export interface ElementwiseExports {
  rectifierForward(a: number, z: number, n: number, negativeSlope: number): void;
  rectifierBackward(dZ: number, dA: number, z: number, n: number, negativeSlope: number): void;
  sgdStep(params: number, grads: number, n: number, weightCount: number, l2: number, lr: number): void;
  momentumStep(params: number, grads: number, velocity: number, n: number, weightCount: number, l2: number, lr: number, mu: number): void;
  nesterovStep(params: number, grads: number, velocity: number, n: number, weightCount: number, l2: number, lr: number, mu: number): void;
  adamStep(
    params: number, grads: number, m: number, v: number, n: number, weightCount: number, l2: number, stepSize: number,
    beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, epsilon: number,
  ): void;
  zero(values: number, n: number): void;
  sumOfSquares(values: number, n: number): number;
  sumOfSquaredDifferences(a: number, b: number, n: number): number;
  columnMax(peak: number, z: number, batch: number, width: number): void;
}

export type KernelExports = GemmExports & ElementwiseExports;

const EXPORT_NAMES: readonly (keyof KernelExports)[] = [
  'scratchLength', 'matmulForward', 'matmulBackwardInput', 'matmulBackwardWeight',
  'rectifierForward', 'rectifierBackward', 'sgdStep', 'momentumStep', 'nesterovStep', 'adamStep',
  'zero', 'sumOfSquares', 'sumOfSquaredDifferences', 'columnMax',
];

/** (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0)))) */
const RELAXED_MADD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x3d, 0x01, 0x3b, 0x00, // code section: one body of 59 bytes, no locals
  ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array<number>(16).fill(0)]), // three v128.const 0
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd
  0x0b, // end
]);

let relaxedSimd: boolean | null = null;

/**
 * Whether this runtime compiles relaxed SIMD. Node 20 has it behind a V8 flag, which is
 * turned on here, before the first relaxed module is compiled; newer Node has it by default.
 */
export function relaxedSimdSupported(): boolean {
  if (relaxedSimd === null) {
    if (!WebAssembly.validate(RELAXED_MADD_PROBE)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    relaxedSimd = WebAssembly.validate(RELAXED_MADD_PROBE);
  }
  return relaxedSimd;
}

const compiled = new Map<GemmVariant, Promise<WebAssembly.Module>>();

/** The compiled kernels of one variant, compiled once per thread and shared by every instance. */
export function compileGemmModule(variant: GemmVariant): Promise<WebAssembly.Module> {
  let module = compiled.get(variant);
  if (!module) {
    module = compile(variant);
    compiled.set(variant, module);
    // A failed compile is not cached: the next call tries again (after `npm run build:wasm`, say).
    module.catch(() => compiled.delete(variant));
  }
  return module;
}

async function compile(variant: GemmVariant): Promise<WebAssembly.Module> {
  if (variant === 'relaxed-simd' && !relaxedSimdSupported()) {
    throw new Error(`Node ${process.versions.node} cannot compile relaxed SIMD WebAssembly; use the "simd" variant`);
  }
  const url = new URL(`./${WASM_FILES[variant]}`, import.meta.url);
  let bytes: Buffer;
  try {
    bytes = await readFile(url);
  } catch (error) {
    throw new Error(`Cannot read the ${variant} GEMM kernels at ${url.pathname}: run "npm run build:wasm"`, { cause: error });
  }
  return WebAssembly.compile(bytes);
}

/** Instantiates the kernels on `memory`; every thread does this with the same module and memory. */
export function instantiateGemm(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  for (const name of EXPORT_NAMES) {
    if (typeof exports[name] !== 'function') throw new Error(`The wasm kernels module does not export ${name}: rebuild it with "npm run build:wasm"`);
  }
  return exports as unknown as KernelExports;
}
