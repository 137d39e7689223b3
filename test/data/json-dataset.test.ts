import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJsonDataset } from '../../src/data/json-dataset.js';
import { uploadBudget } from '../helpers/budget.js';
import { appError } from '../helpers/errors.js';

async function* json(value: unknown): AsyncGenerator<Buffer> {
  yield Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
}

const XOR_INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]];

test('XOR with labels gives float inputs and byte labels', async () => {
  const dataset = await parseJsonDataset(json({ inputs: XOR_INPUTS, labels: [0, 1, 1, 0] }), 'file', uploadBudget());
  assert.equal(dataset.count, 4);
  assert.equal(dataset.inputSize, 2);
  assert.ok(dataset.inputs instanceof Float32Array);
  assert.deepEqual(Array.from(dataset.labels ?? []), [0, 1, 1, 0]);
  assert.equal(dataset.targets, null);
});

test('XOR with targets gives a target row per sample', async () => {
  const dataset = await parseJsonDataset(json({ inputs: XOR_INPUTS, targets: [[0], [1], [1], [0]] }), 'file', uploadBudget());
  assert.equal(dataset.labels, null);
  assert.deepEqual(Array.from(dataset.targets ?? []), [0, 1, 1, 0]);
});

test('wrong shapes are named by their path', async () => {
  await assert.rejects(parseJsonDataset(json('{"inputs": [[0, 1]'), 'file', uploadBudget()), appError('INVALID_DATASET_JSON', /not valid JSON/));
  await assert.rejects(parseJsonDataset(json({ inputs: XOR_INPUTS }), 'file', uploadBudget()), appError('INVALID_DATASET_JSON', /exactly one of "labels"/));
  await assert.rejects(parseJsonDataset(json({ inputs: [[0, 0], [1]], labels: [0, 1] }), 'file', uploadBudget()), appError('INVALID_DATASET_JSON', /inputs\[1\]: has 1 values but inputs\[0\] has 2/));
  await assert.rejects(parseJsonDataset(json({ inputs: XOR_INPUTS, labels: [0, 1] }), 'file', uploadBudget()), appError('INVALID_DATASET_JSON', /labels: has 2 entries but inputs has 4/));
  await assert.rejects(parseJsonDataset(json({ inputs: [[0, 'a']], labels: [0] }), 'file', uploadBudget()), appError('INVALID_DATASET_JSON', /inputs\[0\]\[1\]/));
  await assert.rejects(parseJsonDataset(json({ inputs: XOR_INPUTS, labels: [0, 1, 1, 0], extra: 1 }), 'file', uploadBudget()), appError('INVALID_DATASET_JSON', /extra/));
});

test('empty inputs or targets are a 400 naming the list, not a crash in the row checks', async () => {
  await assert.rejects(parseJsonDataset(json({ inputs: [], labels: [] }), 'file', uploadBudget()), appError('INVALID_DATASET_JSON', /file: inputs: Too small: expected array to have >=1 items/));
  await assert.rejects(parseJsonDataset(json({ inputs: [], targets: [] }), 'file', uploadBudget()), appError('INVALID_DATASET_JSON', /file: inputs: Too small/));
  await assert.rejects(parseJsonDataset(json({ inputs: XOR_INPUTS, targets: [] }), 'file', uploadBudget()), appError('INVALID_DATASET_JSON', /file: targets: Too small: expected array to have >=1 items/));
});

test('nesting deeper than a dataset needs is refused before JSON.parse', async () => {
  await assert.rejects(parseJsonDataset(json(`{"inputs":${'['.repeat(50_000)}`), 'file', uploadBudget()), appError('JSON_TOO_DEEP', /nest more than 16 deep/));
});

test('a JSON dataset reserves its memory as its text arrives', async () => {
  const big = { inputs: Array.from({ length: 1000 }, () => [0, 1, 0, 1]), labels: new Array(1000).fill(0) };
  await assert.rejects(parseJsonDataset(json(big), 'file', uploadBudget(100_000)), appError('UPLOAD_MEMORY_LIMIT', /a JSON dataset/));
});

test('a value beyond float32 range is a 400 naming where it is, not an Infinity stored for training', async () => {
  await assert.rejects(
    parseJsonDataset(json('{"inputs": [[0, 0], [1, 1e39]], "labels": [0, 1]}'), 'file', uploadBudget()),
    appError('INVALID_DATASET_JSON', /file: inputs\[1\]\[1\]: is 1e\+39, beyond ±3\.4e\+38, the range of the float32 numbers/),
  );
  await assert.rejects(
    parseJsonDataset(json('{"inputs": [[0], [1]], "targets": [[-4e38], [1]]}'), 'file', uploadBudget()),
    appError('INVALID_DATASET_JSON', /file: targets\[0\]\[0\]: is -4e\+38/),
  );
  const largest = await parseJsonDataset(json('{"inputs": [[3.4e38], [-3.4e38]], "labels": [0, 1]}'), 'file', uploadBudget());
  assert.ok(Array.from(largest.inputs).every(Number.isFinite), 'the float32 extremes themselves are kept');
});
