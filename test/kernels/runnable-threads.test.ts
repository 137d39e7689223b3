import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { describe, it } from 'node:test';
import { RunnableThreads } from '../../src/kernels/runnable-threads.js';
import { holdCores } from '../helpers/busy-cores.js';

const skip = process.platform === 'linux' ? false : 'the count of runnable threads comes from Linux\'s /proc/loadavg';

/** The mean of `reads` counts, a millisecond apart. */
async function meanCount(runnable: RunnableThreads, reads: number): Promise<number> {
  let sum = 0;
  for (let read = 0; read < reads; read++) {
    sum += runnable.count()!;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return sum / reads;
}

describe('the count of runnable threads', { skip }, () => {
  it('counts the reading thread, and each busy process beside it', async () => {
    const runnable = new RunnableThreads();
    try {
      assert.ok(runnable.count()! >= 1);
      const busy = cpus().length - 1;
      const load = await holdCores(400, busy);
      const loaded = await meanCount(runnable, 50);
      await load.ended;
      assert.ok(loaded >= 1 + busy - 0.25, `a mean of ${loaded} runnable threads beside ${busy} busy processes`);
    } finally {
      runnable.close();
    }
  });

  it('says nothing where the file cannot be read, and nothing once closed', () => {
    assert.equal(new RunnableThreads('/proc/no-such-file').count(), null);
    const runnable = new RunnableThreads();
    runnable.close();
    assert.equal(runnable.count(), null);
  });
});
