/**
 * Sharing is judged over windows of this much wall time of shared jobs: does the team finish them
 * sooner than the caller would alone? A core taken by another process makes the caller wait for a
 * held tile in job after job, while a VM also pauses a thread for 0.2-6 ms several times a second
 * when the machine is idle; one job cannot tell the two apart, a window of 20 ms can.
 */
export const JUDGEMENT_WINDOW_MS = 20;
/**
 * The caller's estimate of its time alone comes from its tiles in shared jobs, which run slower
 * than alone as both threads draw on the same cache and memory: sharing goes on only while a
 * window's shared jobs took at most this share of that estimate.
 */
export const SHARED_TO_ALONE_LIMIT = 0.8;
/**
 * How long the caller runs jobs alone once a window found sharing slower, after which the team
 * shares again to see whether the helpers' cores are back. Each window that finds them still
 * taken costs up to its length, so each one in a row doubles the next solo stretch, up to 4 s:
 * under a steady load the tries then cost about 1% of the time, and after a passing load the team
 * is back to sharing within a quarter of a second.
 */
export const FIRST_SOLO_STRETCH_MS = 250;
export const MAX_SOLO_STRETCH_MS = 4000;
/**
 * A team's first shared jobs include each thread's first touches of its data, so they say nothing
 * about a lost core.
 */
export const WARM_UP_JOBS = 8;

/**
 * Whether a thread team should share its next job or run it on the caller alone, from how its
 * shared jobs went: the wasm team's judge (native/src/team.cc keeps the same rule in C++).
 */
export class SharingJudge {
  private soloUntil = 0;
  private nextSoloStretchMs = FIRST_SOLO_STRETCH_MS;
  private sharedJobs = 0;
  private windowSharedMs = 0;
  private windowAloneMs = 0;

  /** Whether a job starting at `now` (ms) may be shared: false within a solo stretch. */
  sharesAt(now: number): boolean {
    return now >= this.soloUntil;
  }

  /**
   * Records a shared job that ended at `finished` and took `wallMs`, of whose `tiles` the caller
   * took `callerTiles` in `callerMs`. Returns true when this starts a solo stretch.
   */
  record(finished: number, wallMs: number, callerMs: number, callerTiles: number, tiles: number): boolean {
    // A job one side took no tile of says nothing of sharing: the helpers were asleep, slow to
    // look or paused by the VM (or the caller was), and one thread ran it as it would have alone.
    // Counted, a window of such jobs (a helper paused for 20 ms) reads as sharing that saves
    // nothing, and sends a team whose helper is back a moment later solo for a quarter of a
    // second. Nor does such a job warm the helpers up.
    if (callerTiles === 0 || callerTiles === tiles) return false;
    if (this.sharedJobs < WARM_UP_JOBS) {
      this.sharedJobs++;
      return false;
    }
    // The caller alone would have taken its own tiles' time for every tile. The kernels compute an
    // output the same way in any tile, so going alone changes the speed and never the bits.
    const aloneMs = (callerMs * tiles) / callerTiles;
    this.windowSharedMs += wallMs;
    this.windowAloneMs += aloneMs;
    if (this.windowSharedMs < JUDGEMENT_WINDOW_MS) return false;
    const slower = this.windowSharedMs > SHARED_TO_ALONE_LIMIT * this.windowAloneMs;
    this.windowSharedMs = 0;
    this.windowAloneMs = 0;
    if (!slower) {
      this.nextSoloStretchMs = FIRST_SOLO_STRETCH_MS;
      return false;
    }
    this.soloUntil = finished + this.nextSoloStretchMs;
    this.nextSoloStretchMs = Math.min(2 * this.nextSoloStretchMs, MAX_SOLO_STRETCH_MS);
    return true;
  }
}
