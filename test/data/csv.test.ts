import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCsv } from '../../src/data/csv.js';
import { uploadBudget } from '../helpers/budget.js';
import { appError } from '../helpers/errors.js';

async function* text(content: string): AsyncGenerator<Buffer> {
  yield Buffer.from(content);
}

test('the mnist_train.csv layout with a header gives byte pixels and square images when the upload says pixels', async () => {
  const dataset = await parseCsv(text('label,1x1,1x2,2x1,2x2\r\n3,0,255,12,7\r\n1,1,2,3,4\r\n'), 'file', uploadBudget(), { inputs: 'pixels' });
  assert.equal(dataset.count, 2);
  assert.equal(dataset.inputSize, 4);
  assert.equal(dataset.width, 2);
  assert.ok(dataset.inputs instanceof Uint8Array);
  assert.deepEqual(Array.from(dataset.inputs), [0, 255, 12, 7, 1, 2, 3, 4]);
  assert.deepEqual(Array.from(dataset.labels ?? []), [3, 1]);
});

test('0..1 floats without a header are kept as floats', async () => {
  const dataset = await parseCsv(text('1,0,1,0.5\n0,0.25,0,1\n'), 'file', uploadBudget());
  assert.ok(dataset.inputs instanceof Float32Array);
  assert.deepEqual(Array.from(dataset.inputs), [0, 1, 0.5, 0.25, 0, 1]);
  assert.equal(dataset.width, undefined);
});

test('a 28x28 CSV of 0..255 whole numbers is read as pixels by default; small or tabular data keeps its numbers as they are', async () => {
  const pixels = await parseCsv(text(`7,${Array.from({ length: 784 }, (_, i) => i % 256).join(',')}\n`), 'file', uploadBudget());
  assert.ok(pixels.inputs instanceof Uint8Array);
  assert.deepEqual([pixels.width, pixels.height], [28, 28]);
  const xor = await parseCsv(text('a,b,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n'), 'file', uploadBudget());
  assert.ok(xor.inputs instanceof Float32Array, 'XOR stays 0 and 1, not 0 and 1/255');
  assert.deepEqual(Array.from(xor.inputs), [0, 0, 0, 1, 1, 0, 1, 1]);
  assert.deepEqual(Array.from(xor.labels ?? []), [0, 1, 1, 0], 'the column named label is the label, wherever it stands');
});

test('tabular data as pandas reads it: negative floats, quoting, another delimiter, a label column by name or number', async () => {
  const quoted = await parseCsv(text('"height; cm";weight;species\n-1.5;"2.5";2\n3;4e1;0\n'), 'file', uploadBudget(), { delimiter: ';', labelColumn: 'species' });
  assert.deepEqual([Array.from(quoted.inputs), Array.from(quoted.labels ?? [])], [[-1.5, 2.5, 3, 40], [2, 0]]);
  await assert.rejects(parseCsv(text('a;b;c\n1;"2,5";0\n'), 'file', uploadBudget(), { delimiter: ';', labelColumn: 'c' }), appError('CSV_NOT_NUMERIC', /line 2: value 2 "2,5" is not a decimal number/));
  const byNumber = await parseCsv(text('0.5,1.5,2\n-0.5,2.5,1\n'), 'file', uploadBudget(), { labelColumn: '2' });
  assert.deepEqual([Array.from(byNumber.inputs), Array.from(byNumber.labels ?? [])], [[0.5, 1.5, -0.5, 2.5], [2, 1]]);
});

test('targetColumns make a regression dataset: the targets stay floats and the rest are the features', async () => {
  const dataset = await parseCsv(text('x1,x2,y1,y2\n1,2,0.5,-3\n3,4,1.5,7\n'), 'file', uploadBudget(), { targetColumns: ['y1', 'y2'] });
  assert.equal(dataset.labels, null);
  assert.deepEqual(Array.from(dataset.targets ?? []), [0.5, -3, 1.5, 7]);
  assert.deepEqual(Array.from(dataset.inputs), [1, 2, 3, 4]);
});

test('a column that is not there, or a broken quote, is named in a 400', async () => {
  await assert.rejects(parseCsv(text('a,b,c\n1,2,3\n'), 'file', uploadBudget(), { labelColumn: 'kind' }), appError('VALIDATION_FAILED', /labelColumn: the CSV has no column "kind"; its columns are "a", "b", "c"/));
  await assert.rejects(parseCsv(text('1,2,3\n'), 'file', uploadBudget(), { labelColumn: 'kind' }), appError('VALIDATION_FAILED', /it has no header, so name columns 0 to 2 by number/));
  await assert.rejects(parseCsv(text('1,2,3\n'), 'file', uploadBudget(), { labelColumn: '0', targetColumns: ['1'] }), appError('VALIDATION_FAILED', /not both/));
  await assert.rejects(parseCsv(text('1,"2,3\n4,5,6\n'), 'file', uploadBudget()), appError('CSV_MALFORMED', /line \d+: /));
});

test('many rows grow the buffers without losing any', async () => {
  const rows = Array.from({ length: 3000 }, (_, i) => `${i % 10},${i % 256},${(i * 7) % 256}`).join('\n');
  const dataset = await parseCsv(text(rows), 'file', uploadBudget());
  assert.equal(dataset.count, 3000);
  assert.equal(dataset.inputs[2999 * 2], 2999 % 256);
  assert.equal(dataset.labels?.[2999], 9);
});

test('bad rows are named by line with what is wrong', async () => {
  await assert.rejects(parseCsv(text('1,2,3\n1,x,3\n'), 'file', uploadBudget()), appError('CSV_NOT_NUMERIC', /line 2: value 2 "x" is not a decimal number/));
  await assert.rejects(parseCsv(text('1,2,3\n1,,3\n'), 'file', uploadBudget()), appError('CSV_NOT_NUMERIC', /line 2/));
  await assert.rejects(parseCsv(text('1,2,3\n1,2\n'), 'file', uploadBudget()), appError('CSV_WRONG_VALUE_COUNT', /line 2: .*2 fields.*3|line 2/));
  await assert.rejects(parseCsv(text('1,2,300\n'), 'file', uploadBudget(), { inputs: 'pixels' }), appError('PIXEL_OUT_OF_RANGE', /value 3 is 300; pixels are whole numbers from 0 to 255/));
  await assert.rejects(parseCsv(text('1,200,3\n1,0.5,3\n'), 'file', uploadBudget(), { inputs: 'pixels' }), appError('PIXEL_OUT_OF_RANGE', /value 2 is 0.5/));
  await assert.rejects(parseCsv(text('1.5,2,3\n'), 'file', uploadBudget()), appError('LABEL_OUT_OF_RANGE', /label 1.5/));
  await assert.rejects(parseCsv(text('label,a,b\n'), 'file', uploadBudget()), appError('EMPTY_FILE', /no data rows/));
});

test('a 10 MB line of 5M values is refused at the line limit, not allocated', async () => {
  await assert.rejects(parseCsv(text(`1${',0'.repeat(5_000_000)}\n`), 'file', uploadBudget()), appError('LINE_TOO_LONG', /line 1 is over 1048576 bytes/));
});

test('a 10 MB quoted field is refused at the line limit too', async () => {
  await assert.rejects(parseCsv(text(`1,"${'9'.repeat(10_000_000)}"\n`), 'file', uploadBudget()), appError('LINE_TOO_LONG', /line 1 is over 1048576 bytes/));
});

test('a line that never ends stops being read at the line limit', async () => {
  let chunksRead = 0;
  async function* endless(): AsyncGenerator<Buffer> {
    const chunk = Buffer.from('1,'.repeat(32 * 1024));
    for (;;) {
      chunksRead++;
      yield chunk;
    }
  }
  await assert.rejects(parseCsv(endless(), 'file', uploadBudget()), appError('LINE_TOO_LONG', /line 1/));
  assert.ok(chunksRead <= 40, `${chunksRead} chunks of 64 KiB read for a 1 MiB line limit`);
});

test('a row wider than a sample may be is 413, and a wide first row starts small', async () => {
  await assert.rejects(parseCsv(text(`1${',0'.repeat(70_000)}\n`), 'file', uploadBudget()), appError('ROW_TOO_WIDE', /line 1: 70000 values; a sample has at most 65536/));
  const wide = await parseCsv(text(`1${',7'.repeat(65_536)}\n`), 'file', uploadBudget(1024 * 1024));
  assert.equal(wide.count, 1);
  assert.equal(wide.inputs[65_535], 7);
});

test('rows that outgrow the memory budget are 413 UPLOAD_MEMORY_LIMIT', async () => {
  const rows = Array.from({ length: 2000 }, () => `1${',0'.repeat(100)}`).join('\n');
  await assert.rejects(parseCsv(text(rows), 'file', uploadBudget(150_000)), appError('UPLOAD_MEMORY_LIMIT', /CSV rows would take this upload/));
});

test('a class name where a label belongs says to number the classes', async () => {
  await assert.rejects(
    parseCsv(text('length,width,species\n1.5,0.2,setosa\n'), 'file', uploadBudget(), { labelColumn: 'species' }),
    appError('CSV_NOT_NUMERIC', /line 2: the label "setosa" \(value 3\) is not a class number: labels are whole numbers from 0 to 255, so number the classes/),
  );
});

test('a value beyond float32 range is a 400 naming its line, not an Infinity stored for training', async () => {
  await assert.rejects(parseCsv(text('a,b,label\n1,2,0\n1e39,2,1\n'), 'file', uploadBudget()), appError('INPUT_OUT_OF_RANGE', /line 3: value 1 is 1e39, beyond ±3\.4e\+38/));
  await assert.rejects(
    parseCsv(text('x,t\n1,-5e38\n'), 'file', uploadBudget(), { targetColumns: ['t'] }),
    appError('INPUT_OUT_OF_RANGE', /line 2: value 2 is -5e38, beyond ±3\.4e\+38/),
  );
  assert.deepEqual(Array.from((await parseCsv(text('1,3.4e38\n0,-3.4e38\n'), 'file', uploadBudget())).inputs), [Math.fround(3.4e38), Math.fround(-3.4e38)]);
});

test('values are decimal: hex, binary, octal and Infinity are not numbers here', async () => {
  for (const value of ['0x10', '0B1', '0o7', 'Infinity', ' ']) {
    await assert.rejects(parseCsv(text(`1,2\n1,${value}\n`), 'file', uploadBudget()), appError('CSV_NOT_NUMERIC', /line 2: value 2 ".*" is not a decimal number/), value);
  }
  assert.deepEqual(Array.from((await parseCsv(text('1,1e2\n2, 0\n'), 'file', uploadBudget())).inputs), [100, 0], 'an exponent and spaces are decimal');
});
