import type { Kernels } from '../../src/core/index.js';
import { relaxedSimdSupported } from '../../src/kernels/wasm-module.js';
import { createNativeKernels } from '../../src/kernels/native-kernels.js';
import { createWasmKernels } from '../../src/kernels/wasm-kernels.js';

export interface DisposableKernels extends Kernels {
  dispose(): void;
}

/** A backend the chooser may pick, how to make its kernels, and why a run skips it (false: it never may). */
export interface Backend {
  name: string;
  create(threads: number): Promise<DisposableKernels>;
  skip: string | false;
}

/** Why the native addon does not load here, or null where it does. */
function nativeUnavailable(): string | null {
  try {
    createNativeKernels({ threads: 1 }).dispose();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Why the native addon does not load here, or null where it does. */
export const NATIVE_UNAVAILABLE = nativeUnavailable();

/**
 * Every backend faster than the TypeScript reference. CI installs what the native build needs,
 * so there a native addon that does not load fails its tests instead of skipping them.
 */
export const BACKENDS: readonly Backend[] = [
  {
    name: 'native',
    create: async (threads) => createNativeKernels({ threads }),
    skip: NATIVE_UNAVAILABLE !== null && process.env.CI !== 'true' ? `the native addon: ${NATIVE_UNAVAILABLE}` : false,
  },
  {
    name: 'wasm relaxed-simd',
    create: (threads) => createWasmKernels({ threads, relaxedSimd: true }),
    skip: relaxedSimdSupported() ? false : `Node ${process.versions.node} has no relaxed SIMD`,
  },
  { name: 'wasm simd', create: (threads) => createWasmKernels({ threads, relaxedSimd: false }), skip: false },
];
