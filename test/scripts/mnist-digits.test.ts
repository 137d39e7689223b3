import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadMnistDigits, MNIST_CLASSES, MNIST_PIXELS, toIdx } from '../../scripts/mnist-digits.js';

test('a split into the first n digits and the rest is stratified: each class within two digits of its share', () => {
  const { labels, count, pixels } = loadMnistDigits(10_000, 7);
  assert.equal(count, 10_000);
  assert.equal(pixels.length, 10_000 * MNIST_PIXELS);
  const total = new Array<number>(MNIST_CLASSES).fill(0);
  for (const label of labels) total[label]++;
  for (const tail of [1_000, 2_000]) {
    const held = new Array<number>(MNIST_CLASSES).fill(0);
    for (const label of labels.subarray(count - tail)) held[label]++;
    held.forEach((n, digit) => {
      const share = (total[digit] * tail) / count;
      assert.ok(Math.abs(n - share) <= 2, `class ${digit}: ${n} of the last ${tail}, share ${share.toFixed(1)}`);
    });
  }
});

test('the same seed gives the same digits and another seed gives others', () => {
  const a = loadMnistDigits(50, 3);
  const b = loadMnistDigits(50, 3);
  const c = loadMnistDigits(50, 4);
  assert.deepEqual(a.pixels, b.pixels);
  assert.notDeepEqual(a.pixels, c.pixels);
});

test('all 10,000 digits are dealt with the package class counts', () => {
  const { labels } = loadMnistDigits();
  const counts = new Array<number>(MNIST_CLASSES).fill(0);
  for (const label of labels) counts[label]++;
  assert.deepEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
});

test('toIdx writes the MNIST headers big-endian followed by the bytes', () => {
  const { pixels, labels } = loadMnistDigits(12);
  const idx = toIdx(pixels, labels, 12);
  assert.deepEqual([0, 4, 8, 12].map((o) => idx.images.readUInt32BE(o)), [2051, 12, 28, 28]);
  assert.deepEqual([0, 4].map((o) => idx.labels.readUInt32BE(o)), [2049, 12]);
  assert.equal(idx.images.length, 16 + 12 * MNIST_PIXELS);
  assert.deepEqual(idx.labels.subarray(8), Buffer.from(labels));
});
