import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchLoader } from '../../src/core/batch.js';
import { Rng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/core/index.js';

/** A 6x6 image with a 2x2 bright square in the middle, and a second, empty one. */
function squares(): Dataset {
  const inputs = new Uint8Array(2 * 36);
  for (const [x, y] of [[2, 2], [3, 2], [2, 3], [3, 3]]) inputs[y * 6 + x] = 255;
  return { count: 2, inputSize: 36, inputs, labels: Uint8Array.of(3, 1), targets: null, width: 6, height: 6 };
}

describe('batches', () => {
  it('normalises pixels to 0..1 and one-hot encodes labels, in the given order', () => {
    const input = new Float32Array(2 * 36);
    const loader = new BatchLoader(squares(), input, 4, 2);
    loader.fill(Uint32Array.of(1, 0), 0, 2);
    assert.equal(input.subarray(0, 36).reduce((a, v) => a + v, 0), 0);
    assert.equal(input[36 + 2 * 6 + 2], 1);
    assert.deepEqual([...loader.target], [0, 1, 0, 0, 0, 0, 0, 1]);
  });

  it('reads a label as the 0/1 target of a one-output network, and copies regression targets', () => {
    const labelled = new BatchLoader(squares(), new Float32Array(72), 1, 2);
    labelled.fill(Uint32Array.of(1, 0), 0, 2);
    assert.deepEqual([...labelled.target], [1, 3]);
    const regression: Dataset = { count: 1, inputSize: 2, inputs: Float32Array.of(0.5, -2), labels: null, targets: Float32Array.of(0.25, 0.75) };
    const input = new Float32Array(2);
    const loader = new BatchLoader(regression, input, 2, 1);
    loader.fill(Uint32Array.of(0), 0, 1);
    assert.deepEqual([...input], [0.5, -2]);
    assert.deepEqual([...loader.target], [0.25, 0.75]);
  });

  it('shifts images by whole pixels without losing the ink, and rotates them about the centre', () => {
    const data = squares();
    const input = new Float32Array(36);
    const loader = new BatchLoader(data, input, 4, 1);
    const rng = new Rng(5);
    const seen = new Set<string>();
    for (let trial = 0; trial < 40; trial++) {
      loader.fill(Uint32Array.of(0), 0, 1, { maxShift: 1, maxRotationDegrees: 0 }, rng);
      assert.equal(input.reduce((a, v) => a + v, 0), 4, 'a 1-pixel shift keeps the 2x2 square inside the 6x6 image');
      seen.add([...input].join(''));
    }
    assert.equal(seen.size, 9, 'every shift in [-1, 1]² occurs');
    loader.fill(Uint32Array.of(0), 0, 1, { maxShift: 0, maxRotationDegrees: 30 }, rng);
    const ink = input.reduce((a, v) => a + v, 0);
    assert.ok(ink > 3 && ink < 5, `rotation resamples but roughly keeps the ink, got ${ink}`);
    assert.ok(input[2 * 6 + 2] > 0.2 && input[3 * 6 + 3] > 0.2, 'the square stays at the centre');
  });
});
