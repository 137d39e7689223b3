import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCsv } from '../../src/data/csv.js';
import { appError } from '../helpers/errors.js';

async function* text(content: string): AsyncGenerator<Buffer> {
  yield Buffer.from(content);
}

test('the mnist_train.csv layout with a header gives byte pixels and square images', async () => {
  const dataset = await parseCsv(text('label,1x1,1x2,2x1,2x2\r\n3,0,255,12,7\r\n1,1,2,3,4\r\n'), 'file');
  assert.equal(dataset.count, 2);
  assert.equal(dataset.inputSize, 4);
  assert.equal(dataset.width, 2);
  assert.ok(dataset.inputs instanceof Uint8Array);
  assert.deepEqual(Array.from(dataset.inputs), [0, 255, 12, 7, 1, 2, 3, 4]);
  assert.deepEqual(Array.from(dataset.labels ?? []), [3, 1]);
});

test('0..1 floats without a header are kept as floats', async () => {
  const dataset = await parseCsv(text('1,0,1,0.5\n0,0.25,0,1\n'), 'file');
  assert.ok(dataset.inputs instanceof Float32Array);
  assert.deepEqual(Array.from(dataset.inputs), [0, 1, 0.5, 0.25, 0, 1]);
  assert.equal(dataset.width, undefined);
});

test('many rows grow the buffers without losing any', async () => {
  const rows = Array.from({ length: 3000 }, (_, i) => `${i % 10},${i % 256},${(i * 7) % 256}`).join('\n');
  const dataset = await parseCsv(text(rows), 'file');
  assert.equal(dataset.count, 3000);
  assert.equal(dataset.inputs[2999 * 2], 2999 % 256);
  assert.equal(dataset.labels?.[2999], 9);
});

test('bad rows are named by line with what is wrong', async () => {
  await assert.rejects(parseCsv(text('1,2,3\n1,x,3\n'), 'file'), appError('CSV_NOT_NUMERIC', /line 2: value 2 "x" is not a number/));
  await assert.rejects(parseCsv(text('1,2,3\n1,,3\n'), 'file'), appError('CSV_NOT_NUMERIC', /line 2/));
  await assert.rejects(parseCsv(text('1,2,3\n1,2\n'), 'file'), appError('CSV_WRONG_VALUE_COUNT', /line 2: 2 values; expected 3/));
  await assert.rejects(parseCsv(text('1,2,300\n'), 'file'), appError('PIXEL_OUT_OF_RANGE', /pixel 2 is 300/));
  await assert.rejects(parseCsv(text('1,200,3\n1,0.5,3\n'), 'file'), appError('PIXEL_OUT_OF_RANGE', /fraction among 0..255 integers/));
  await assert.rejects(parseCsv(text('1.5,2,3\n'), 'file'), appError('LABEL_OUT_OF_RANGE', /label 1.5/));
  await assert.rejects(parseCsv(text('label,a,b\n'), 'file'), appError('EMPTY_FILE', /no data rows/));
});
