import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { OP, SLOT, controlSlots, createControl, publishTiles, takeTiles } from '../../src/kernels/wasm-team-protocol.js';
import { tileRecorder } from './tile-recorder.js';

/**
 * The wasm team's protocol with a real helper thread whose tiles take a chosen time: the caller
 * publishes a job of equal tiles and takes tiles itself, as WasmTeam.run does, and the ledger
 * shows who took which.
 */
async function shareJobs(jobs: number, tiles: number, callerTileMicros: number, helperTileMicros: number): Promise<number[][]> {
  const controlBuffer = createControl();
  const control = controlSlots(controlBuffer);
  const ledger = new SharedArrayBuffer(tiles * Int32Array.BYTES_PER_ELEMENT);
  const takenBy = new Int32Array(ledger);
  const helper = new Worker(new URL('./slow-tile-worker.js', import.meta.url), {
    workerData: { control: controlBuffer, ledger, tileMicros: helperTileMicros },
  });
  const caller = tileRecorder({ ledger, tileMicros: callerTileMicros, thread: 0 });
  const results: number[][] = [];
  try {
    await once(helper, 'online');
    control[SLOT.op] = OP.forward;
    for (let job = 0; job < jobs; job++) {
      takenBy.fill(-1);
      publishTiles(control, tiles, 1, tiles);
      Atomics.add(control, SLOT.sequence, 1);
      Atomics.notify(control, SLOT.sequence);
      takeTiles(caller, control, 0);
      while (Atomics.load(control, SLOT.done) < tiles) Atomics.wait(control, SLOT.done, Atomics.load(control, SLOT.done), 1);
      results.push([...takenBy]);
    }
  } finally {
    await helper.terminate();
  }
  return results;
}

const count = (takenBy: number[], who: number): number => takenBy.filter((taker) => taker === who).length;
const shown = (jobs: number[][]): string => jobs.map((takenBy) => takenBy.join('')).join(' ');

describe('the wasm team protocol', () => {
  it('shares equal tiles, the caller taking them from the front and the first helper from the back', async () => {
    const jobs = await shareJobs(20, 12, 200, 200);
    for (const takenBy of jobs) {
      assert.ok(!takenBy.includes(-1), shown(jobs));
      const firstHelperTile = takenBy.indexOf(1);
      if (firstHelperTile >= 0) assert.equal(count(takenBy.slice(firstHelperTile), 0), 0, shown(jobs));
    }
    assert.ok(jobs.some((takenBy) => count(takenBy, 1) > 0), `the helper never took a tile: ${shown(jobs)}`);
  });

  it('gives a helper whose tiles take ten times as long fewer tiles than the caller', async () => {
    const jobs = await shareJobs(8, 12, 100, 1000);
    for (const takenBy of jobs) {
      assert.ok(!takenBy.includes(-1), shown(jobs));
      assert.ok(count(takenBy, 1) < count(takenBy, 0), shown(jobs));
    }
  });
});
