import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uploadBudget } from '../helpers/budget.js';
import { appError } from '../helpers/errors.js';
import { datasetFromIdx, readIdxImages, readIdxLabels } from '../../src/data/idx.js';
import { loadMnistDigits, toIdx } from '../helpers/mnist.js';

const LIMIT_BYTES = 10_000_000;

/** Feeds bytes in chunks of `size`, so headers straddle chunk boundaries. */
async function* inChunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let start = 0; start < bytes.length; start += size) yield bytes.subarray(start, start + size);
}

test('an MNIST IDX pair read in odd-sized chunks gives back the digits', async () => {
  const digits = loadMnistDigits(50);
  const idx = toIdx(digits.pixels, digits.labels, digits.count);
  const images = await readIdxImages(inChunks(idx.images, 7), 'images', LIMIT_BYTES, uploadBudget());
  const labels = await readIdxLabels(inChunks(idx.labels, 3), 'labels', LIMIT_BYTES, uploadBudget());
  const dataset = datasetFromIdx(images, labels);
  assert.equal(dataset.count, 50);
  assert.equal(dataset.inputSize, 784);
  assert.equal(dataset.width, 28);
  assert.deepEqual(dataset.inputs, digits.pixels);
  assert.deepEqual(dataset.labels, digits.labels);
});

test('a labels file in the images part is named as swapped', async () => {
  const digits = loadMnistDigits(10);
  const idx = toIdx(digits.pixels, digits.labels, 10);
  await assert.rejects(readIdxImages(inChunks(idx.labels, 64), 'images', LIMIT_BYTES, uploadBudget()), appError('IDX_BAD_MAGIC', /magic number is 2049.*swapped/));
});

test('a truncated body says how many bytes were declared and received', async () => {
  const digits = loadMnistDigits(10);
  const idx = toIdx(digits.pixels, digits.labels, 10);
  await assert.rejects(
    readIdxImages(inChunks(idx.images.subarray(0, 1000), 4096), 'images', LIMIT_BYTES, uploadBudget()),
    appError('IDX_TRUNCATED', /declares 10x28x28 = 7840 bytes of images, but only 984 follow/),
  );
  await assert.rejects(readIdxLabels(inChunks(idx.labels.subarray(0, 6), 4096), 'labels', LIMIT_BYTES, uploadBudget()), appError('IDX_TRUNCATED', /shorter than the 8-byte/));
});

test('bytes after the declared body are refused', async () => {
  const idx = toIdx(new Uint8Array(784), new Uint8Array(1), 1);
  const padded = Buffer.concat([idx.labels, Buffer.from([1])]);
  await assert.rejects(readIdxLabels(inChunks(padded, 4096), 'labels', LIMIT_BYTES, uploadBudget()), appError('IDX_TRAILING_BYTES', /after the 1 labels/));
});

test('a header declaring more than the limit is refused before anything is allocated', async () => {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(2051, 0);
  header.writeUInt32BE(1_000_000, 4);
  header.writeUInt32BE(28, 8);
  header.writeUInt32BE(28, 12);
  await assert.rejects(readIdxImages(inChunks(header, 16), 'images', LIMIT_BYTES, uploadBudget()), appError('DECOMPRESSED_TOO_LARGE', /over the limit/));
  header.writeUInt32BE(0, 8);
  await assert.rejects(readIdxImages(inChunks(header, 16), 'images', LIMIT_BYTES, uploadBudget()), appError('IDX_BAD_DIMENSIONS', /each side must be 1 or more, and an image at most 65536 pixels/));
});

test('images and labels with different counts are refused', () => {
  const images = { count: 3, rows: 2, cols: 2, pixels: new Uint8Array(12) };
  assert.throws(() => datasetFromIdx(images, { count: 2, labels: new Uint8Array(2) }), appError('COUNT_MISMATCH', /3 images but the labels file holds 2/));
});

test('a header declaring more labels than bytes follow costs memory for the bytes that came, not the claim', async () => {
  const labels = Buffer.alloc(8 + 1000);
  labels.writeUInt32BE(2049, 0);
  labels.writeUInt32BE(500_000_000, 4);
  await assert.rejects(readIdxLabels(inChunks(labels, 100), 'labels', 512 * 1024 * 1024, uploadBudget()), appError('IDX_BAD_DIMENSIONS', /500000000 labels; a dataset holds 1 to 10000000/));
  labels.writeUInt32BE(9_000_000, 4);
  await assert.rejects(
    readIdxLabels(inChunks(labels, 100), 'labels', 512 * 1024 * 1024, uploadBudget(1024 * 1024)),
    appError('IDX_TRUNCATED', /declares 9000000 = 9000000 bytes of labels, but only 1000 follow/),
  );
});

test('an IDX body the budget cannot hold is 413 UPLOAD_MEMORY_LIMIT', async () => {
  const idx = toIdx(new Uint8Array(200 * 784), new Uint8Array(200), 200);
  await assert.rejects(
    readIdxImages(inChunks(idx.images, 4096), 'images', LIMIT_BYTES, uploadBudget(100_000)),
    appError('UPLOAD_MEMORY_LIMIT', /the images of images would take this upload to 1 MiB of memory; one upload may use 1 MiB/),
  );
});
