import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CENSUSES_PER_VERDICT, CENSUS_INTERVAL_MS, CoreCensus, FIRST_SOLO_STRETCH_MS, MAX_SOLO_STRETCH_MS, SHARED_TO_ALONE_LIMIT, SharingJudge, WARM_UP_JOBS,
} from '../../src/kernels/sharing-judge.js';

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

/**
 * A census of a 2-thread team whose one helper is awake, on a machine of `cores`, that counts
 * `others(ms)` other runnable threads at each millisecond. Returns its verdict at each millisecond.
 */
function verdicts(cores: number, ms: number, others: (now: number) => number): boolean[] {
  let now = 0;
  const census = new CoreCensus(2, cores, () => 2 + others(now));
  const seen: boolean[] = [];
  for (; now < ms; now++) seen.push(census.helpersHaveCores(now, 1));
  return seen;
}

describe('the core census of the wasm thread team', () => {
  it('never lets a team share that starts while another process holds the other core', () => {
    const seen = verdicts(2, 1000, () => 1);
    assert.equal(seen.indexOf(true), -1);
  });

  it('keeps sharing on an idle machine through the bursts of other threads it shows now and then', () => {
    // One more thread for the last 3 ms of every 20: 15% of the counts.
    const seen = verdicts(2, 10_000, (now) => (now % 20 >= 17 ? 1 : 0));
    assert.equal(seen.indexOf(false), -1);
  });

  it('stops sharing within one verdict of a process taking the other core, and shares again within one of its leaving', () => {
    const seen = verdicts(2, 3000, (now) => (now >= 1000 && now < 2000 ? 1 : 0));
    const verdictMs = CENSUSES_PER_VERDICT * CENSUS_INTERVAL_MS;
    const stopped = seen.indexOf(false);
    assert.ok(stopped >= 1000 && stopped <= 1000 + verdictMs, `stopped sharing at ${stopped} ms`);
    const resumed = seen.indexOf(true, stopped);
    assert.ok(resumed >= 2000 && resumed <= 2000 + verdictMs, `shared again at ${resumed} ms`);
    assert.equal(seen.slice(stopped, resumed).indexOf(true), -1);
  });

  it('counts the cores the team leaves spare: on 8 cores, a team of 2 shares beside 6 busy threads, not beside 7', () => {
    assert.equal(verdicts(8, 500, () => 6).indexOf(false), -1);
    assert.equal(verdicts(8, 500, () => 7).indexOf(true), -1);
  });

  it('does not count the team\'s own awake helpers as other threads', () => {
    // 3 runnable: the caller and two awake helpers of a 3-thread team on 3 cores.
    const census = new CoreCensus(3, 3, () => 3);
    assert.equal(census.helpersHaveCores(0, 2), true);
    const asleep = new CoreCensus(3, 3, () => 3);
    assert.equal(asleep.helpersHaveCores(0, 0), false, 'with both helpers asleep, two others are runnable');
  });

  it('counts at most once per census interval, and keeps its verdict where the machine does not say', () => {
    let counts = 0;
    const census = new CoreCensus(2, 2, () => (counts++, 3));
    for (let tenth = 0; tenth < 100; tenth++) census.helpersHaveCores(tenth / 10, 1);
    assert.equal(counts, 10 / CENSUS_INTERVAL_MS);
    const silent = new CoreCensus(2, 2, () => null);
    for (let now = 0; now < 100; now++) assert.equal(silent.helpersHaveCores(now, 1), true);
  });
});
