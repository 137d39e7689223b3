import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { createNativeKernels } from '../../src/kernels/native-kernels.js';
import { BACKENDS, NATIVE_UNAVAILABLE } from './backends.js';

const MEGABYTE = 2 ** 20;
const NATIVE_SKIP = NATIVE_UNAVAILABLE !== null && process.env.CI !== 'true';

/** Lengths on both sides of the native backend's 2 MiB line, with a ragged end. */
const LENGTHS = [0, 5, 524_287, 524_288, 3_000_001];

for (const backend of BACKENDS) {
  describe(`${backend.name} allocate()`, { skip: backend.skip }, () => {
    it('gives zeroed buffers of the length asked, which do not overlap', async () => {
      const kernels = await backend.create(1);
      try {
        const buffers = LENGTHS.map((length) => kernels.allocate(length));
        buffers.forEach((buffer, i) => {
          assert.equal(buffer.length, LENGTHS[i]);
          assert.ok(buffer.every((value) => value === 0), `the ${LENGTHS[i]}-float buffer is zeroed`);
        });
        buffers.forEach((buffer, i) => buffer.fill(i + 1));
        buffers.forEach((buffer, i) => assert.ok(buffer.every((value) => value === i + 1), `the ${LENGTHS[i]}-float buffer keeps its own values`));
      } finally {
        kernels.dispose();
      }
    });
  });
}

/** Anonymous memory on transparent huge pages in this process, in kB, or null where the kernel does not say. */
function anonymousHugePagesKb(): number | null {
  try {
    const line = readFileSync('/proc/self/smaps_rollup', 'utf8').split('\n').find((l) => l.startsWith('AnonHugePages:'));
    return line ? Number(line.split(/\s+/)[1]) : null;
  } catch {
    return null;
  }
}

function transparentHugePagesOff(): boolean {
  try {
    return readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').includes('[never]');
  } catch {
    return true;
  }
}

describe('native allocate()', { skip: NATIVE_SKIP }, () => {
  it('puts a large buffer on huge pages where the kernel offers them', { skip: transparentHugePagesOff() && 'transparent huge pages are off' }, () => {
    const kernels = createNativeKernels({ threads: 1 });
    try {
      const before = anonymousHugePagesKb();
      const buffer = kernels.allocate((64 * MEGABYTE) / 4);
      buffer.fill(1);
      const grown = (anonymousHugePagesKb() ?? 0) - (before ?? 0);
      // Huge pages are the kernel's to give: half the buffer on them shows the advice took.
      assert.ok(grown >= 32 * 1024, `AnonHugePages grew by ${grown} kB for a 64 MB buffer`);
    } finally {
      kernels.dispose();
    }
  });

  it('keeps the ragged end of a large buffer off huge pages, so a written buffer costs its own size', { skip: transparentHugePagesOff() && 'transparent huge pages are off' }, () => {
    const kernels = createNativeKernels({ threads: 1 });
    try {
      // 2.5 MiB each: one huge page and half of one, which on a huge page of its own would make the
      // 16 cost 64 MiB where they hold 40.
      const before = anonymousHugePagesKb() ?? 0;
      const buffers = Array.from({ length: 16 }, () => kernels.allocate((2.5 * MEGABYTE) / 4).fill(1));
      const grownMiB = ((anonymousHugePagesKb() ?? 0) - before) / 1024;
      assert.equal(buffers.length, 16);
      assert.ok(grownMiB >= 16 && grownMiB <= 32, `AnonHugePages grew by ${grownMiB} MiB for 16 written buffers of 2.5 MiB`);
    } finally {
      kernels.dispose();
    }
  });

  it('refuses a length that is not a whole number of floats', () => {
    const kernels = createNativeKernels({ threads: 1 });
    try {
      for (const length of [-1, 1.5, Number.NaN, 2 ** 33]) {
        assert.throws(() => kernels.allocate(length), { name: 'RangeError', message: 'length must be a whole number ≥ 0' });
      }
    } finally {
      kernels.dispose();
    }
  });

  it('unmaps the buffers of a thread that ends, so job after job does not grow the process', async () => {
    const addonFile = new URL('../../src/kernels/mlp-kernels.node', import.meta.url).pathname;
    // Each thread holds 4 buffers of 48 MB, as a deep net's parameters, gradients and state, written.
    const code = `
      const addon = require(${JSON.stringify(addonFile)});
      const held = Array.from({ length: 4 }, () => addon.allocate(12_000_000).fill(1));
      require('node:worker_threads').parentPort.postMessage(held.length);
    `;
    const runThread = () => new Promise<void>((resolve, reject) => {
      const thread = new Worker(code, { eval: true });
      thread.once('message', () => void thread.terminate());
      thread.once('exit', () => resolve());
      thread.once('error', reject);
    });
    await runThread();
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 6; i++) await runThread();
    const grown = (process.memoryUsage().rss - rssBefore) / MEGABYTE;
    assert.ok(grown < 96, `RSS grew by ${grown.toFixed(0)} MB over six threads that each held 192 MB`);
  });
});
