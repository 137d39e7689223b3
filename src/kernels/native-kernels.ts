import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Kernels } from '../core/kernels.js';
import { referenceKernels } from '../core/reference-kernels.js';

/** The kernels the addon computes: every method of Kernels but its name and allocate(). */
const KERNEL_NAMES = [
  'matmulForward', 'matmulBackwardInput', 'matmulBackwardWeight', 'matmulRectifierForward', 'matmulRectifierBackwardInput',
  'zero', 'sumOfSquares', 'sumOfSquaredDifferences', 'columnMax', 'loadByteRows',
  'rectifierForward', 'rectifierBackward', 'sgdStep', 'momentumStep', 'nesterovStep', 'adamStep',
] as const satisfies readonly (keyof Kernels)[];
type KernelName = (typeof KERNEL_NAMES)[number];

/** A thread team inside the addon, held by JavaScript as an opaque external value. */
declare const teamBrand: unique symbol;
type Team = { readonly [teamBrand]: true };

/** The exports of native/src/addon.cc: each kernel takes its team, then the Kernels method's arguments. */
type NativeAddon = {
  /** A zeroed buffer; one of 2 MiB or more is mapped on huge pages, outside the JavaScript heap. */
  allocate(length: number): Float32Array;
  createTeam(threads: number): Team;
  stopTeam(team: Team): void;
  blasCore(): string;
} & { [K in KernelName]: (team: Team, ...args: Parameters<Kernels[K]>) => ReturnType<Kernels[K]> };

export interface NativeKernelsOptions {
  /** Threads per product, the calling one included (default: the cores available). */
  threads?: number;
}

export interface NativeKernels extends Kernels {
  readonly threads: number;
  /** Which OpenBLAS kernels compute the products, for the start-up log. */
  readonly blas: string;
  /** Ends the helper threads; the kernels then compute on the calling thread alone. */
  dispose(): void;
}

/** Where `npm run build:native` puts the addon: next to this file's compiled JavaScript. */
const ADDON_FILE = './mlp-kernels.node';
let addon: NativeAddon | null = null;

/** The addon, loaded once per thread; throws, saying why, where it was not built or cannot load. */
function loadAddon(): NativeAddon {
  if (addon === null) {
    try {
      addon = createRequire(import.meta.url)(ADDON_FILE) as NativeAddon;
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
      throw new Error(missing
        ? 'not built (npm run build:native needs g++, make and libopenblas-dev)'
        : `cannot load ${ADDON_FILE}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  return addon;
}

/**
 * The native kernels: OpenBLAS sgemm for the products and vectorised C++ for the loops between
 * them, on plain Float32Arrays. A team of `threads` threads takes each product's tiles, and each
 * loop's chunks, from a shared counter; the tiles are fixed by the shape alone and OpenBLAS runs
 * single-threaded inside each, so results are bit-identical for any thread count. Float64 arrays
 * (the network's gradient-check precision) go to the reference kernels.
 */
export function createNativeKernels(options: NativeKernelsOptions = {}): NativeKernels {
  const native = loadAddon();
  const threads = options.threads ?? availableParallelism();
  const team = native.createTeam(threads);
  const kernels = {
    name: `native-openblas x${threads}`,
    threads,
    blas: blasKernels(native),
    allocate: (length: number) => native.allocate(length),
    dispose: () => native.stopTeam(team),
  } as NativeKernels;
  for (const name of KERNEL_NAMES) Object.assign(kernels, { [name]: bind(native, team, name) });
  return kernels;
}

/**
 * OpenBLAS picks its kernels for this CPU when it loads, unless OPENBLAS_CORETYPE names a CPU
 * family: a pin to an older family (Haswell's AVX2 on an AVX-512 CPU, say) costs up to 1.7x on
 * the products, so the log says when the environment chose.
 */
function blasKernels(native: NativeAddon): string {
  const pinned = process.env.OPENBLAS_CORETYPE;
  const kernels = `OpenBLAS's ${native.blasCore()} kernels`;
  return pinned ? `${kernels}, as OPENBLAS_CORETYPE=${pinned} asks` : kernels;
}

/** One entry of the dispatch table: the addon's kernel on float32 arrays, the reference's on float64. */
function bind<K extends KernelName>(native: NativeAddon, team: Team, name: K): Kernels[K] {
  const compute = native[name] as (team: Team, ...args: unknown[]) => unknown;
  const reference = referenceKernels[name] as (...args: unknown[]) => unknown;
  return ((...args: unknown[]) => (args[0] instanceof Float64Array ? reference(...args) : compute(team, ...args))) as Kernels[K];
}
