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
 * How often a team counts the machine's runnable threads (about 4 µs a count here), and how many
 * counts make a verdict after the first. While a team trained alone on this VM, about one count in
 * ten still showed a thread or two more, in bursts: a mean over 8 counts reached 3/4 in one verdict
 * in ten, a mean over 32 in one in thirty. A process that holds a core shows in every count.
 */
export const CENSUS_INTERVAL_MS = 1;
export const CENSUSES_PER_VERDICT = 32;

/**
 * Whether the machine's other threads leave a team's helpers cores of their own, from counts of
 * its runnable threads: the wasm team's census (native/src/team.cc keeps the same rule in C++).
 * When they do not, the team runs jobs on the caller alone without trying to share, as a helper
 * would only take turns with another process on its core and hold the caller up.
 */
export class CoreCensus {
  private nextCensusAt = -Infinity;
  private censuses = 0;
  private otherThreads = 0;
  private verdict = true;

  /**
   * `countRunnable` gives the machine's runnable threads now, the caller included, or null where
   * unknown; the team has `threads` threads on a machine of `onlineCores`.
   */
  constructor(
    private readonly threads: number,
    private readonly onlineCores: number,
    private readonly countRunnable: () => number | null,
  ) {}

  /**
   * The verdict for a job starting at `now` (ms), while `awakeHelpers` of the team's helpers are
   * spinning or working rather than asleep. Counts at most once per census interval; the first
   * count decides alone, so a team that starts on a busy machine never shares.
   */
  helpersHaveCores(now: number, awakeHelpers: number): boolean {
    if (now < this.nextCensusAt) return this.verdict;
    const first = this.nextCensusAt === -Infinity;
    this.nextCensusAt = now + CENSUS_INTERVAL_MS;
    const runnable = this.countRunnable();
    if (runnable === null) return this.verdict;
    this.otherThreads += Math.max(0, runnable - 1 - awakeHelpers);
    this.censuses++;
    if (first || this.censuses === CENSUSES_PER_VERDICT) {
      // The helpers have cores of their own while the other threads, on average, take fewer than
      // the cores the team leaves spare and three quarters of one more.
      const spareCores = this.onlineCores - this.threads;
      this.verdict = this.otherThreads < (spareCores + 0.75) * this.censuses;
      this.otherThreads = 0;
      this.censuses = 0;
    }
    return this.verdict;
  }
}

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
