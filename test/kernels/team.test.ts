import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { NATIVE_UNAVAILABLE } from './backends.js';
import { holdCores } from '../helpers/busy-cores.js';

/**
 * The native thread team, driven through native/test/team-probe.cc: jobs whose tiles take a
 * chosen time on the calling thread and another on the helper, as when another process holds
 * the helper's core, and optionally a pause on every nth helper tile. Each job reports who took
 * each tile: 0 the caller, 1 the helper. The team ignores the machine's other threads unless a
 * case asks it to watch them.
 */
type RunJobs = (
  threads: number, jobs: number, tiles: number, callerTileMicros: number, helperTileMicros: number, pauseEvery?: number, pauseMicros?: number,
  watchMachine?: 0 | 1,
) => number[][];

const probe = ((): { runJobs: RunJobs } | null => {
  try {
    return createRequire(import.meta.url)('../../../native/build/Release/team_probe.node') as { runJobs: RunJobs };
  } catch {
    return null;
  }
})();
const skip = probe === null && process.env.CI !== 'true' ? `the native team probe is not built: ${NATIVE_UNAVAILABLE ?? 'see npm run build:native'}` : false;

const count = (takenBy: number[], who: number): number => takenBy.filter((taker) => taker === who).length;

/** Every tile taken once, the caller's from the front and the helper's from the back. */
function assertSplitFromBothEnds(jobs: number[][]): void {
  jobs.forEach((takenBy, job) => {
    assert.ok(!takenBy.includes(-1), `job ${job}: a tile was never taken: ${takenBy.join('')}`);
    const firstHelperTile = takenBy.indexOf(1);
    if (firstHelperTile >= 0) assert.equal(count(takenBy.slice(firstHelperTile), 0), 0, `job ${job}: ${takenBy.join('')}`);
  });
}

describe('the native thread team', { skip }, () => {
  it('shares tiles of equal cost, the caller taking them from the front and the helper from the back', () => {
    const jobs = probe!.runJobs(2, 20, 12, 200, 200);
    assertSplitFromBothEnds(jobs);
    assert.ok(jobs.some((takenBy) => count(takenBy, 1) > 0), `the helper never took a tile: ${jobs.map((j) => j.join('')).join(' ')}`);
  });

  it('gives a helper whose tiles take ten times as long fewer tiles than the caller', () => {
    const jobs = probe!.runJobs(2, 8, 12, 100, 1000);
    assertSplitFromBothEnds(jobs);
    for (const takenBy of jobs) assert.ok(count(takenBy, 1) < count(takenBy, 0), takenBy.join(''));
  });

  it('runs the next jobs on the caller alone once a helper held a tile for a time slice', () => {
    // Sharing every job, the helper would take one 20 ms tile in each. The team's first 8 shared
    // jobs are its warm-up, in which a slow helper is taken for one setting up; the first job past
    // them fills a 20 ms judgement window that took far longer than the caller alone would, so the
    // caller goes alone for 250 ms, far longer than these jobs take. (A caller that was itself
    // slowed may not tell the held tile from its own work once, so a second held tile is allowed.)
    const jobs = probe!.runJobs(2, 30, 6, 500, 20_000);
    assertSplitFromBothEnds(jobs);
    const helperTiles = jobs.reduce((sum, takenBy) => sum + count(takenBy, 1), 0);
    assert.ok(helperTiles >= 1 && helperTiles <= 8 + 2, `the helper took ${helperTiles} tiles: ${jobs.map((j) => j.join('')).join(' ')}`);
    assert.deepEqual(jobs.slice(-10).map((takenBy) => count(takenBy, 1)), new Array(10).fill(0), 'the last jobs ran on the caller alone');
  });

  it('keeps sharing through the short pauses an idle VM gives a thread now and then', () => {
    // Tiles of 0.2 ms, 6 a job, and every 60th helper tile (about every 20th job) takes 2 ms: that
    // job waits longer than the caller worked, but the jobs around it finish in half the time the
    // caller alone would take. Going solo on such a job would leave the helper idle for 250 ms.
    const jobs = probe!.runJobs(2, 300, 6, 200, 200, 60, 2000);
    assertSplitFromBothEnds(jobs);
    const sharedJobs = jobs.slice(8).filter((takenBy) => count(takenBy, 1) > 0).length;
    assert.ok(sharedJobs >= 0.8 * (jobs.length - 8), `the helper took tiles in ${sharedJobs} of ${jobs.length - 8} jobs past the warm-up`);
  });

  it('runs every job on the caller alone, from the first, while other processes keep the other cores busy', async () => {
    const load = await holdCores(200);
    const jobs = probe!.runJobs(2, 50, 6, 200, 200, 0, 0, 1);
    await load.ended;
    assertSplitFromBothEnds(jobs);
    assert.equal(jobs.reduce((sum, takenBy) => sum + count(takenBy, 1), 0), 0, `the helper took tiles: ${jobs.map((j) => j.join('')).join(' ')}`);
  });

  it('shares again soon after the other processes end', async () => {
    // Jobs of 0.6 ms alone for about a second, while the busy loops end 0.3 s in.
    const load = await holdCores(300);
    const started = performance.now();
    const jobs = probe!.runJobs(2, 1500, 6, 100, 100, 0, 0, 1);
    const seconds = (performance.now() - started) / 1000;
    await load.ended;
    assertSplitFromBothEnds(jobs);
    const firstJobs = jobs.slice(0, 100);
    assert.equal(firstJobs.filter((takenBy) => count(takenBy, 1) > 0).length, 0, 'the helper took tiles of the first jobs, while the cores were busy');
    const lastJobs = jobs.slice(-200);
    const shared = lastJobs.filter((takenBy) => count(takenBy, 1) > 0).length;
    assert.ok(load.endsAt - started < 0.6 * seconds * 1000, `the load lasted ${(load.endsAt - started).toFixed(0)} ms of the ${seconds.toFixed(2)} s run`);
    assert.ok(shared >= 150, `the helper took tiles in ${shared} of the last 200 jobs`);
  });

  it('runs every tile on the caller when it has no helpers', () => {
    for (const takenBy of probe!.runJobs(1, 3, 7, 10, 10)) assert.deepEqual(takenBy, [0, 0, 0, 0, 0, 0, 0]);
  });
});
