import type { KernelExports } from './wasm-module.js';

/**
 * How the calling thread hands one product, or one optimizer step or zeroing over the
 * parameters, to its helper threads: through an Int32Array on a SharedArrayBuffer,
 * synchronised with Atomics.
 *
 * The caller writes the operation, its arguments and how its outputs split into tiles (ranges
 * of output rows or columns, or of floats), resets `done`, publishes the tile count in `next`,
 * bumps `sequence` and notifies. Every thread, the caller included, then takes the next untaken
 * tile with takeTiles() until none is left, so a thread slowed by another process takes fewer;
 * the caller waits until `done` counts every tile, never for a helper that took none.
 */
export const SLOT = {
  sequence: 0,
  /**
   * The untaken tiles [front, back): back in the high 16 bits, front in the low 16. The caller
   * and most helpers take from the front, the first helper from the back, so on an idle machine
   * each of two threads computes the same outputs job after job and finds them in its own cache.
   */
  next: 1,
  /** 0, or 1 + the index of the first thread (0 is the caller) whose tile threw; its message is in the error bytes. */
  failed: 2,
  op: 3,
  /**
   * Four pointers in the order of the kernel's parameters (the input gradient uses three, the
   * elementwise loops one to four), then for a product batch, inDim, outDim, and for an
   * elementwise loop weightCount and up to 7 float32 scalars, as bits.
   */
  args: 4,
  /** Tiles done so far. */
  done: 16,
  /** Outputs in all; the whole units (cache lines, say) tiles are made of; tiles in the job. */
  count: 17,
  unit: 18,
  tiles: 19,
  /** Helpers asleep until the next job, rather than spinning for it or working. */
  sleepers: 20,
  /** Per thread: its scratch pointer. */
  scratch: 21,
} as const;

/** Scalars of an elementwise loop start here: l2, then the rest of the export's parameters in order. */
const SCALARS = SLOT.args + 5;

export const OP = {
  forward: 1, backwardInput: 2, backwardWeight: 3, quit: 4,
  sgdStep: 5, momentumStep: 6, nesterovStep: 7, adamStep: 8, zero: 9,
} as const;
export type TeamOp = (typeof OP)[keyof typeof OP];

export const MAX_THREADS = 64;
/** Tile counts fit the 15 bits of `next`'s back below its sign bit. */
export const MAX_TILES = 32767;
const TILE_BITS = 16;
const TILE_MASK = (1 << TILE_BITS) - 1;
const CONTROL_SLOTS = SLOT.scratch + MAX_THREADS;
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
export interface WasmTeamWorkerData {
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

/**
 * Publishes a job of `tiles` tiles over the outputs [0, count), each of whole `unit`s: once
 * `next` holds the count, any thread may take a tile, so the operation and arguments must be
 * written before.
 */
export function publishTiles(control: Int32Array, count: number, unit: number, tiles: number): void {
  control[SLOT.count] = count;
  control[SLOT.unit] = unit;
  control[SLOT.tiles] = tiles;
  Atomics.store(control, SLOT.done, 0);
  Atomics.store(control, SLOT.next, tiles << TILE_BITS);
}

/**
 * Tile `tile`'s first output. The units are dealt out as evenly as whole units allow: 50 lines
 * in 6 tiles are 8, 8, 9, 8, 8 and 9 lines, which two threads split 25:25, where tiles of one
 * size (9 × 5 and 5) would leave one of them 27.
 */
function tileStart(control: Int32Array, tile: number): number {
  const unit = control[SLOT.unit];
  const units = Math.ceil(control[SLOT.count] / unit);
  return Math.min(control[SLOT.count], Math.floor((tile * units) / control[SLOT.tiles]) * unit);
}

/** The tile count of the job last published. */
export function tileCount(control: Int32Array): number {
  return Atomics.load(control, SLOT.tiles);
}

/** Float32 scalars travel as their bits in Int32 slots. */
const scalarBits = new Int32Array(1);
const scalarValue = new Float32Array(scalarBits.buffer);

export function writeScalars(control: Int32Array, scalars: readonly number[]): void {
  for (let i = 0; i < scalars.length; i++) {
    scalarValue[0] = scalars[i];
    control[SCALARS + i] = scalarBits[0];
  }
}

function scalar(control: Int32Array, i: number): number {
  scalarBits[0] = control[SCALARS + i];
  return scalarValue[0];
}

/**
 * Takes tiles of the current job until none is left, and runs each: the compare-and-swap on
 * `next` takes a tile of whichever job is current when it succeeds, and that job cannot change
 * until the tile is counted done, so its arguments are read after the tile is taken. A tile that
 * throws is recorded in `failed` (the first one only) before it is counted done, so the caller
 * sees it once the job ends, and the thread goes on taking tiles, so the job always ends.
 * Returns how many tiles this thread took.
 */
export function takeTiles(kernels: KernelExports, control: Int32Array, thread: number): number {
  const fromBack = thread === 1;
  for (let taken = 0; ; ) {
    const next = Atomics.load(control, SLOT.next);
    const front = next & TILE_MASK;
    const back = next >>> TILE_BITS;
    if (front >= back) return taken;
    const tile = fromBack ? back - 1 : front;
    if (Atomics.compareExchange(control, SLOT.next, next, fromBack ? next - (1 << TILE_BITS) : next + 1) !== next) continue;
    taken++;
    const tiles = control[SLOT.tiles];
    try {
      runTile(kernels, control, thread, tileStart(control, tile), tileStart(control, tile + 1));
    } catch (error) {
      if (Atomics.compareExchange(control, SLOT.failed, 0, thread + 1) === 0) {
        writeError(control.buffer as SharedArrayBuffer, error instanceof Error ? error.message : String(error));
      }
    }
    if (Atomics.add(control, SLOT.done, 1) === tiles - 1) Atomics.notify(control, SLOT.done);
  }
}

/** Runs the outputs [start, end) of the product or elementwise loop described in `control`. */
function runTile(kernels: KernelExports, control: Int32Array, thread: number, start: number, end: number): void {
  const op = control[SLOT.op];
  if (op >= OP.sgdStep) {
    runElementwise(kernels, control, op, start, end);
    return;
  }
  const a = SLOT.args;
  const scratch = control[SLOT.scratch + thread];
  const batch = control[a + 4];
  const inDim = control[a + 5];
  const outDim = control[a + 6];
  switch (op) {
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
      throw new Error(`Unknown wasm team operation ${op}`);
  }
}

/**
 * The floats [start, end) of an elementwise loop: its arrays from float `start` on, and the
 * part of them that is weights. Every float gets the same arithmetic wherever a range
 * starts, so the result does not depend on the split.
 */
function runElementwise(kernels: KernelExports, control: Int32Array, op: number, start: number, end: number): void {
  const a = SLOT.args;
  const offset = start * Float32Array.BYTES_PER_ELEMENT;
  const p0 = control[a] + offset;
  const p1 = control[a + 1] + offset;
  const p2 = control[a + 2] + offset;
  const p3 = control[a + 3] + offset;
  const n = end - start;
  const weights = Math.min(Math.max(control[a + 4] - start, 0), n);
  const s = (i: number): number => scalar(control, i);
  switch (op) {
    case OP.sgdStep:
      kernels.sgdStep(p0, p1, n, weights, s(0), s(1));
      return;
    case OP.momentumStep:
      kernels.momentumStep(p0, p1, p2, n, weights, s(0), s(1), s(2));
      return;
    case OP.nesterovStep:
      kernels.nesterovStep(p0, p1, p2, n, weights, s(0), s(1), s(2));
      return;
    case OP.adamStep:
      kernels.adamStep(p0, p1, p2, p3, n, weights, s(0), s(1), s(2), s(3), s(4), s(5), s(6));
      return;
    case OP.zero:
      kernels.zero(p0, n);
      return;
    default:
      throw new Error(`Unknown elementwise operation ${op}`);
  }
}

/** The message the first failed tile left. */
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
 * A helper thread's life: wait for the next job, take its tiles, until told to quit. A tile
 * that throws is still counted done and is reported through `failed`, and the helper keeps
 * serving, so the caller never waits for a thread that died.
 */
export function serveParts(kernels: KernelExports, controlBuffer: SharedArrayBuffer, thread: number): void {
  const control = controlSlots(controlBuffer);
  let seen = 0;
  for (;;) {
    seen = awaitChange(control, seen);
    if (control[SLOT.op] === OP.quit) return;
    takeTiles(kernels, control, thread);
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
  Atomics.add(control, SLOT.sleepers, 1);
  for (;;) {
    Atomics.wait(control, SLOT.sequence, seen);
    const sequence = Atomics.load(control, SLOT.sequence);
    if (sequence !== seen) {
      Atomics.sub(control, SLOT.sleepers, 1);
      return sequence;
    }
  }
}
