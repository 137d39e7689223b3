/**
 * Why a run ends before its own end, in one vocabulary from the request to the job record:
 * cancel discards the run, stop keeps the model trained so far, shutdown puts the job back in
 * the queue, and max_runtime is the job's own deadline, which the thread notices itself.
 */
export const STOP_CAUSES = ['cancel', 'stop', 'shutdown', 'max_runtime'] as const;
export type StopCause = (typeof STOP_CAUSES)[number];

/** What a person can ask of a running job; shutdown and max_runtime come from the worker and the clock. */
export const REQUESTED_STOPS = ['cancel', 'stop'] as const satisfies readonly StopCause[];
export type RequestedStop = (typeof REQUESTED_STOPS)[number];

/**
 * A stop flag is one Int32 in a SharedArrayBuffer that the trainer reads before every batch:
 * 0 while the run goes on, else 1 + the index of the cause. The first cause set wins, so a job
 * cancelled just before its worker shuts down stays cancelled.
 */
const RUNNING = 0;

export function newStopFlag(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
}

export function requestStop(flag: Int32Array, cause: StopCause): void {
  Atomics.compareExchange(flag, 0, RUNNING, STOP_CAUSES.indexOf(cause) + 1);
}

export function stopCauseOf(flag: Int32Array): StopCause | null {
  const value = Atomics.load(flag, 0);
  return value === RUNNING ? null : STOP_CAUSES[value - 1];
}
