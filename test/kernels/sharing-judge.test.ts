import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIRST_SOLO_STRETCH_MS, MAX_SOLO_STRETCH_MS, SHARED_TO_ALONE_LIMIT, SharingJudge, WARM_UP_JOBS } from '../../src/kernels/sharing-judge.js';

/** Tiles in each job, of which the caller takes half unless a case says otherwise. */
const TILES = 6;

/**
 * Feeds the judge shared jobs from `start` (ms) until it starts a solo stretch or `until`: each
 * takes `wallMs(job)` and would have taken `aloneMs` alone, as the caller's `callerTiles` of them
 * tell. Returns when the stretch started, or null.
 */
function share(
  judge: SharingJudge, start: number, until: number, wallMs: (job: number) => number, aloneMs: number, callerTiles = TILES / 2,
): number | null {
  let now = start;
  for (let job = 0; now < until; job++) {
    assert.ok(judge.sharesAt(now), `job ${job} at ${now} ms was not shared`);
    const wall = wallMs(job);
    now += wall;
    if (judge.record(now, wall, (aloneMs * callerTiles) / TILES, callerTiles, TILES)) return now;
  }
  return null;
}

describe('the sharing judge of the wasm thread team', () => {
  it('keeps sharing through the short pauses an idle VM gives a thread now and then', () => {
    // Jobs of 0.6 ms that would take 1.2 ms alone, and every 20th waits 2 ms more for a paused helper.
    const judge = new SharingJudge();
    assert.equal(share(judge, 0, 10_000, (job) => (job % 20 === 19 ? 2.6 : 0.6), 1.2), null);
  });

  it('learns nothing from jobs one thread took every tile of, as when a paused helper misses a window of them', () => {
    // Jobs the caller ran alone, at its speed alone, while the helper did not look, then jobs the
    // helper ran alone while the caller was paused: sharing would have to save 20% to go on, and
    // these save nothing.
    const judge = new SharingJudge();
    assert.equal(share(judge, 0, 100, () => 1.2, 1.2, TILES), null);
    assert.equal(share(judge, 100, 200, () => 1.2, 1.2, 0), null);
    // The judge still judges the jobs both take part in, once they have warmed up.
    assert.ok(share(judge, 200, 10_000, () => 3.6, 1.2) !== null);
  });

  it('goes solo once a window of shared jobs took longer than the caller alone, and shares again after the stretch', () => {
    // A helper that lost its core: every job waits 3 ms for the tile it holds.
    const judge = new SharingJudge();
    const soloFrom = share(judge, 0, 10_000, () => 3.6, 1.2);
    assert.ok(soloFrom !== null && soloFrom <= (WARM_UP_JOBS + 7) * 3.6, `went solo at ${soloFrom} ms`);
    assert.equal(judge.sharesAt(soloFrom + FIRST_SOLO_STRETCH_MS - 1), false);
    assert.equal(judge.sharesAt(soloFrom + FIRST_SOLO_STRETCH_MS), true);
  });

  it('goes solo when sharing beats the caller\'s estimate of its time alone by less than the margin that estimate needs', () => {
    // Jobs of 1 ms that the caller estimates at 1.2 ms alone: its tiles ran slower for sharing the
    // cache, so it would not really save the 0.2 ms.
    const slightlyFaster = new SharingJudge();
    assert.ok(share(slightlyFaster, 0, 10_000, () => 1.2 * SHARED_TO_ALONE_LIMIT + 0.05, 1.2) !== null);
    const clearlyFaster = new SharingJudge();
    assert.equal(share(clearlyFaster, 0, 10_000, () => 1.2 * SHARED_TO_ALONE_LIMIT - 0.05, 1.2), null);
  });

  it('doubles the solo stretch while the helper stays slow, up to its limit, and starts over once sharing pays again', () => {
    const judge = new SharingJudge();
    let now = share(judge, 0, 10_000, () => 3.6, 1.2)!;
    for (const stretch of [250, 500, 1000, 2000, MAX_SOLO_STRETCH_MS, MAX_SOLO_STRETCH_MS]) {
      assert.equal(judge.sharesAt(now + stretch - 0.01), false, `still solo just before ${stretch} ms`);
      assert.equal(judge.sharesAt(now + stretch), true, `sharing again after ${stretch} ms`);
      now = share(judge, now + stretch, now + stretch + 10_000, () => 3.6, 1.2)!;
    }
    const resumes = now + MAX_SOLO_STRETCH_MS;
    // The helper's core is back: a window of fast shared jobs, then one slow window again.
    assert.equal(share(judge, resumes, resumes + 25, () => 0.6, 1.2), null);
    const slowAgain = share(judge, resumes + 25, resumes + 10_000, () => 3.6, 1.2)!;
    assert.equal(judge.sharesAt(slowAgain + FIRST_SOLO_STRETCH_MS), true, 'the stretch starts over at 250 ms');
    assert.equal(judge.sharesAt(slowAgain + FIRST_SOLO_STRETCH_MS - 0.01), false);
  });
});
