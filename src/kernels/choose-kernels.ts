import type { Kernels } from '../core/kernels.js';
import { referenceKernels } from '../core/reference-kernels.js';
import { GEMM_VARIANTS, relaxedSimdSupported } from './wasm-module.js';
import { createNativeKernels } from './native-kernels.js';
import { createWasmKernels } from './wasm-kernels.js';

export interface ChosenKernels {
  kernels: Kernels;
  /** One line for the log: the kernels chosen and why any faster ones were passed over. */
  description: string;
  /** Ends the kernels' helper threads; the reference kernels have none. */
  dispose(): void;
}

/**
 * The fastest kernels this runtime runs: the native addon (OpenBLAS), else WebAssembly with
 * relaxed-SIMD fused multiply-add, else plain WebAssembly SIMD, else the TypeScript reference.
 * Each training job and each loaded model calls it for kernels of its own thread count, and
 * ends them with dispose(). That is cheap: the addon is loaded and the WebAssembly compiled
 * once per thread, so a call only starts the helper threads.
 */
export async function chooseKernels(options: { threads?: number } = {}): Promise<ChosenKernels> {
  const passedOver: string[] = [];
  try {
    const kernels = createNativeKernels({ threads: options.threads });
    return { kernels, description: describe(`${kernels.name} on ${kernels.blas}`, passedOver), dispose: () => kernels.dispose() };
  } catch (error) {
    // A bad thread count is the caller's mistake, not a missing capability.
    if (error instanceof RangeError) throw error;
    passedOver.push(`native: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const variant of GEMM_VARIANTS) {
    const relaxedSimd = variant === 'relaxed-simd';
    if (relaxedSimd && !relaxedSimdSupported()) {
      passedOver.push(`wasm-${variant}: not supported by Node ${process.versions.node}`);
      continue;
    }
    try {
      const kernels = await createWasmKernels({ threads: options.threads, relaxedSimd });
      return { kernels, description: describe(kernels.name, passedOver), dispose: () => kernels.dispose() };
    } catch (error) {
      if (error instanceof RangeError) throw error;
      passedOver.push(`wasm-${variant}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { kernels: referenceKernels, description: describe(referenceKernels.name, passedOver), dispose: () => undefined };
}

/** What chooseKernels gives a job of `threads` threads on this runtime, for the start-up log: chosen, then ended. */
export async function describeKernels(threads: number): Promise<string> {
  const chosen = await chooseKernels({ threads });
  chosen.dispose();
  return chosen.description;
}

function describe(name: string, passedOver: readonly string[]): string {
  return passedOver.length === 0 ? `Kernels: ${name}` : `Kernels: ${name} (passed over ${passedOver.join('; ')})`;
}
