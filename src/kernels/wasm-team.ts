import { once } from 'node:events';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { KernelExports } from './wasm-module.js';
import {
  MAX_THREADS, MAX_TILES, OP, SLOT, controlSlots, createControl, publishTiles, readError, takeTiles, tileCount, type WasmTeamWorkerData,
} from './wasm-team-protocol.js';
import { RunnableThreads } from './runnable-threads.js';
import { CoreCensus, SharingJudge } from './sharing-judge.js';

/**
 * Products smaller than this many flops run on the calling thread alone: waking a
 * helper and joining it costs a few microseconds, about what 2 MFLOP take one thread.
 */
const PARALLEL_MIN_FLOP = 2_000_000;
/**
 * Tiles per thread in a shared job: enough that when another process slows one thread, the
 * others take its share (with 2 threads the split can be 3:3, 4:2 or 5:1), and few enough that
 * the forward product, which packs its input once per tile, packs it only a few times.
 */
const TILES_PER_THREAD = 3;
/**
 * The caller spins this many times (about 0.1 ms) for the helpers before it sleeps. Sleeping leaves
 * its core idle, and an idle core pulls a runnable thread over from a busy one: a helper that another
 * process pushed off its core then finishes its tile there instead of waiting out a time slice.
 */
const CALLER_SPIN_ITERATIONS = 12_500;
/** A helper that makes no progress for this long is taken for dead. */
const HELPER_TIMEOUT_MS = 30_000;

/**
 * The calling thread plus `threads - 1` helper worker threads, each with the kernels
 * instantiated on the same shared memory. The caller writes a product's operation and
 * arguments into `control`, then run() splits its outputs into tiles that every thread
 * takes from a shared counter (see wasm-team-protocol.ts), so a thread slowed by another
 * process takes fewer. A tile's outputs are computed the same way whichever thread takes it,
 * so results do not depend on who took what. While the machine's other threads leave the helpers
 * no core of their own (CoreCensus), or shared jobs prove slower than the caller alone
 * (SharingJudge), jobs run on the caller alone.
 * Helpers are unref'd, so they never keep a process alive; dispose() ends them.
 */
export class WasmTeam {
  readonly threads: number;
  /** Write SLOT.op and SLOT.args here before run(). */
  readonly control: Int32Array;
  private readonly controlBuffer: SharedArrayBuffer;
  private readonly kernels: KernelExports;
  private readonly workers: Worker[];
  private failure: string | null = null;
  private readonly judge = new SharingJudge();
  private readonly runnableThreads = new RunnableThreads();
  private readonly census: CoreCensus;
  /** Set by a job that could have been shared but ran alone: the first shared after it wakes the helpers. */
  private wakeBeforeSharing = false;

  private constructor(kernels: KernelExports, controlBuffer: SharedArrayBuffer, workers: Worker[]) {
    this.kernels = kernels;
    this.controlBuffer = controlBuffer;
    this.control = controlSlots(controlBuffer);
    this.workers = workers;
    this.threads = workers.length + 1;
    // At least one core per thread: os.cpus() is empty where /proc/cpuinfo cannot be read.
    this.census = new CoreCensus(this.threads, Math.max(this.threads, cpus().length), () => this.runnableThreads.count());
    for (const worker of workers) {
      worker.on('error', (error: Error) => {
        this.failure = `a wasm helper thread crashed: ${error.message}`;
      });
    }
  }

  /** Starts `threads - 1` helpers and resolves once each has instantiated the kernels. */
  static async start(
    kernels: KernelExports, module: WebAssembly.Module, memory: WebAssembly.Memory, threads: number,
  ): Promise<WasmTeam> {
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
      throw new RangeError(`threads must be a whole number from 1 to ${MAX_THREADS}, got ${threads}`);
    }
    const control = createControl();
    const workers: Worker[] = [];
    for (let thread = 1; thread < threads; thread++) {
      const workerData: WasmTeamWorkerData = { module, memory, control, thread };
      const worker = new Worker(new URL('./wasm-team-worker.js', import.meta.url), { workerData });
      worker.unref();
      workers.push(worker);
    }
    try {
      await Promise.all(workers.map((worker) => once(worker, 'message')));
    } catch (error) {
      await Promise.all(workers.map((worker) => worker.terminate()));
      throw error;
    }
    return new WasmTeam(kernels, control, workers);
  }

  /**
   * Runs the product in `control` over the outputs [0, count), in tiles of whole `unit`s
   * shared by the threads. `scratch` holds each thread's scratch pointer.
   */
  run(count: number, unit: number, flop: number, scratch: readonly number[]): void {
    if (this.failure !== null) throw new Error(`The wasm GEMM kernels cannot run: ${this.failure}`);
    const { control } = this;
    const units = Math.ceil(count / unit);
    const started = performance.now();
    const shareable = flop >= PARALLEL_MIN_FLOP && units > 1 && this.threads > 1;
    let shared = shareable && this.judge.sharesAt(started) && this.census.helpersHaveCores(started, this.awakeHelpers());
    if (shared && this.wakeBeforeSharing) {
      // Jobs just ran alone, and the helpers may have gone to sleep: a job shared now would wait
      // for them to wake, which looks like a lost core. Wake them with nothing to take (this job
      // runs alone), so they spin for the next one.
      this.wakeBeforeSharing = false;
      shared = false;
      Atomics.add(control, SLOT.sequence, 1);
      Atomics.notify(control, SLOT.sequence);
    } else if (shareable && !shared) {
      this.wakeBeforeSharing = true;
    }
    const tiles = units === 0 ? 0 : shared ? Math.min(units, this.threads * TILES_PER_THREAD, MAX_TILES) : 1;
    control.set(scratch, SLOT.scratch);
    publishTiles(control, count, unit, tiles);
    // A small job is not announced, but a helper still finishing the last job may take one of its
    // tiles, so the caller waits for every tile either way.
    if (shared) {
      Atomics.add(control, SLOT.sequence, 1);
      Atomics.notify(control, SLOT.sequence);
    }
    const callerTiles = takeTiles(this.kernels, control, 0);
    const worked = performance.now();
    this.join();
    const finished = performance.now();
    if (shared) this.judge.record(finished, finished - started, worked - started, callerTiles, tileCount(control));
    const failed = Atomics.exchange(control, SLOT.failed, 0);
    if (failed !== 0) throw new Error(`The wasm kernels failed on thread ${failed - 1}: ${readError(this.controlBuffer)}`);
  }

  /** Ends the helper threads. The kernels cannot run on more than one thread afterwards. */
  dispose(): void {
    if (this.failure === null) this.failure = 'they were disposed';
    const { control } = this;
    control[SLOT.op] = OP.quit;
    Atomics.add(control, SLOT.sequence, 1);
    Atomics.notify(control, SLOT.sequence);
    for (const worker of this.workers) void worker.terminate();
    this.runnableThreads.close();
  }

  /** Helpers spinning for the next job or working, rather than asleep. */
  private awakeHelpers(): number {
    return this.threads - 1 - Atomics.load(this.control, SLOT.sleepers);
  }

  /** Waits until every tile taken is done: spins, then sleeps. */
  private join(): void {
    const { control } = this;
    const tiles = tileCount(control);
    for (let i = 0; i < CALLER_SPIN_ITERATIONS; i++) {
      if (Atomics.load(control, SLOT.done) === tiles) return;
    }
    for (;;) {
      const done = Atomics.load(control, SLOT.done);
      if (done === tiles) return;
      if (Atomics.wait(control, SLOT.done, done, HELPER_TIMEOUT_MS) === 'timed-out') {
        this.failure = `a wasm helper thread made no progress on its tile for ${HELPER_TIMEOUT_MS} ms`;
        throw new Error(`The wasm GEMM kernels stopped: ${this.failure}`);
      }
    }
  }
}
