import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatasetFileError, decodeDataset, encodeDataset, readDatasetHeader } from '../../src/data/dataset-file.js';
import { loadMnistDigits } from '../helpers/mnist.js';

test('byte images with labels survive a round trip', () => {
  const digits = loadMnistDigits(33);
  const dataset = { count: 33, inputSize: 784, inputs: digits.pixels, labels: digits.labels, targets: null, width: 28, height: 28 };
  const bytes = encodeDataset(dataset);
  assert.equal(bytes.length, 32 + 33 * 784 + 36);
  assert.deepEqual(decodeDataset(bytes), dataset);
  assert.deepEqual(readDatasetHeader(bytes.subarray(0, 32)), {
    count: 33, inputSize: 784, inputKind: 'bytes', answerKind: 'labels', targetSize: 0, width: 28, height: 28,
  });
});

test('float inputs with targets survive a round trip, even from an unaligned copy', () => {
  const dataset = {
    count: 3, inputSize: 2, inputs: Float32Array.from([0, 1, 0.5, 0.25, 1, 1]), labels: null, targets: Float32Array.from([1, 0, 0.5]),
  };
  const bytes = encodeDataset(dataset);
  const unaligned = new Uint8Array(bytes.length + 1).subarray(1);
  unaligned.set(bytes);
  assert.deepEqual(decodeDataset(unaligned), dataset);
});

test('a file cut short or of another kind is refused', () => {
  const bytes = encodeDataset({ count: 1, inputSize: 1, inputs: new Uint8Array(1), labels: new Uint8Array(1), targets: null });
  assert.throws(() => decodeDataset(bytes.subarray(0, bytes.length - 4)), DatasetFileError);
  assert.throws(() => decodeDataset(Buffer.from('PK\u0003\u0004'.padEnd(40))), /bad magic/);
});
