import type { GemmExports } from './gemm-module.js';

/**
 * How the calling thread hands one product to its helper threads: through an Int32Array
 * on a SharedArrayBuffer, synchronised with Atomics.
 *
 * The caller writes the operation, its arguments and one range of output rows or columns
 * per thread, sets `pending` to the number of helpers, bumps `sequence` and notifies.
 * Every thread, the caller included, runs its own range with runPart(); each helper then
 * decrements `pending`, and the caller waits for it to reach 0.
 */
export const SLOT = {
  sequence: 0,
  pending: 1,
  /** 0, or 1 + the index of a helper whose part threw; its message is in the error bytes. */
  failed: 2,
  op: 3,
  /** Four pointers in the order of the kernel's parameters (the input gradient uses three), then batch, inDim, outDim. */
  args: 4,
  /** Per thread: range start, range end, scratch pointer. */
  parts: 16,
} as const;

export const OP = { forward: 1, backwardInput: 2, backwardWeight: 3, quit: 4 } as const;
export type GemmOp = (typeof OP)[keyof typeof OP];

export const MAX_THREADS = 64;
const SLOTS_PER_PART = 3;
const CONTROL_SLOTS = SLOT.parts + SLOTS_PER_PART * MAX_THREADS;
const ERROR_BYTES = 1024;

/**
 * How long a helper spins for the next product before it sleeps. Waking a sleeping thread
 * takes about 50 µs on this VM (milliseconds at worst), and the work between two products
 * of a training step takes under a millisecond once it is vectorised.
 */
const HELPER_SPIN_MS = 1;
/** Atomics.load polls between two looks at the clock. */
const POLLS_PER_CLOCK_READ = 1024;

/** What a helper thread is started with. */
export interface GemmWorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  thread: number;
}

export function createControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT + ERROR_BYTES);
}

/** The slots of a control buffer, as every thread views them. */
export function controlSlots(controlBuffer: SharedArrayBuffer): Int32Array {
  return new Int32Array(controlBuffer, 0, CONTROL_SLOTS);
}

export function writePart(control: Int32Array, thread: number, start: number, end: number, scratch: number): void {
  const at = SLOT.parts + SLOTS_PER_PART * thread;
  control[at] = start;
  control[at + 1] = end;
  control[at + 2] = scratch;
}

/** Runs this thread's range of the product described in `control`. */
export function runPart(kernels: GemmExports, control: Int32Array, thread: number): void {
  const at = SLOT.parts + SLOTS_PER_PART * thread;
  const start = control[at];
  const end = control[at + 1];
  if (start >= end) return;
  const a = SLOT.args;
  const scratch = control[at + 2];
  const batch = control[a + 4];
  const inDim = control[a + 5];
  const outDim = control[a + 6];
  switch (control[SLOT.op]) {
    case OP.forward:
      kernels.matmulForward(control[a], control[a + 1], control[a + 2], control[a + 3], scratch, batch, inDim, outDim, start, end);
      return;
    case OP.backwardInput:
      kernels.matmulBackwardInput(control[a], control[a + 1], control[a + 2], scratch, batch, inDim, outDim, start, end);
      return;
    case OP.backwardWeight:
      kernels.matmulBackwardWeight(control[a], control[a + 1], control[a + 2], control[a + 3], scratch, batch, inDim, outDim, start, end);
      return;
    default:
      throw new Error(`Unknown GEMM operation ${control[SLOT.op]}`);
  }
}

/** The message a helper left when its part threw. */
export function readError(controlBuffer: SharedArrayBuffer): string {
  const bytes = new Uint8Array(controlBuffer, CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT, ERROR_BYTES);
  const length = bytes.indexOf(0);
  // TextDecoder does not read shared memory, so the message is copied out first.
  return new TextDecoder().decode(bytes.slice(0, length === -1 ? ERROR_BYTES : length));
}

function writeError(controlBuffer: SharedArrayBuffer, message: string): void {
  const bytes = new Uint8Array(controlBuffer, CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT, ERROR_BYTES);
  bytes.fill(0);
  bytes.set(new TextEncoder().encode(message).subarray(0, ERROR_BYTES - 1));
}

/**
 * A helper thread's life: wait for the next product, run its part, report, until told to quit.
 * A part that throws is reported through `failed` and the helper keeps serving, so the
 * caller never waits for a thread that died.
 */
export function serveParts(kernels: GemmExports, controlBuffer: SharedArrayBuffer, thread: number): void {
  const control = controlSlots(controlBuffer);
  let seen = 0;
  for (;;) {
    seen = awaitChange(control, seen);
    if (control[SLOT.op] === OP.quit) return;
    try {
      runPart(kernels, control, thread);
    } catch (error) {
      if (Atomics.compareExchange(control, SLOT.failed, 0, thread + 1) === 0) {
        writeError(controlBuffer, error instanceof Error ? error.message : String(error));
      }
    }
    if (Atomics.sub(control, SLOT.pending, 1) === 1) Atomics.notify(control, SLOT.pending);
  }
}

/** Spins, then sleeps, until the sequence number differs from `seen`; returns the new one. */
function awaitChange(control: Int32Array, seen: number): number {
  const deadline = performance.now() + HELPER_SPIN_MS;
  for (let polls = 1; ; polls++) {
    const sequence = Atomics.load(control, SLOT.sequence);
    if (sequence !== seen) return sequence;
    if (polls % POLLS_PER_CLOCK_READ === 0 && performance.now() > deadline) break;
  }
  for (;;) {
    Atomics.wait(control, SLOT.sequence, seen);
    const sequence = Atomics.load(control, SLOT.sequence);
    if (sequence !== seen) return sequence;
  }
}
