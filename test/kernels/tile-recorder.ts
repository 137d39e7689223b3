import type { KernelExports } from '../../src/kernels/wasm-module.js';

export interface TileRecorderData {
  /** Per tile of the current job: -1 untaken, else the thread that took it. */
  ledger: SharedArrayBuffer;
  tileMicros: number;
}

/**
 * Stand-in wasm kernels for the team protocol's tests: a forward product's tile records which
 * thread took it in the ledger and then takes `tileMicros` of busy time, instead of computing.
 */
export function tileRecorder({ ledger, tileMicros, thread }: TileRecorderData & { thread: number }): KernelExports {
  const takenBy = new Int32Array(ledger);
  const matmulForward = (...args: number[]): void => {
    const [start, end] = args.slice(-2);
    takenBy[start / (end - start)] = thread;
    const until = performance.now() + tileMicros / 1000;
    while (performance.now() < until);
  };
  return { matmulForward } as unknown as KernelExports;
}
