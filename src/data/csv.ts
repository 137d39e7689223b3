import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { Dataset } from '../core/types.js';
import { AppError } from '../errors.js';

const MAX_BYTE_VALUE = 255;
const INITIAL_ROW_CAPACITY = 1024;

/** A typed array that doubles as rows arrive; bytes until a fraction shows the values are 0..1 floats. */
class GrowingSamples {
  values: Uint8Array | Float32Array;
  labels: Uint8Array;
  count = 0;

  constructor(readonly width: number) {
    this.values = new Uint8Array(width * INITIAL_ROW_CAPACITY);
    this.labels = new Uint8Array(INITIAL_ROW_CAPACITY);
  }

  get isBytes(): boolean {
    return this.values instanceof Uint8Array;
  }

  switchToFloats(): void {
    this.values = Float32Array.from(this.values);
  }

  /** Room for one more row; returns its offset in `values`. */
  nextRow(): number {
    if (this.count === this.labels.length) {
      const size = this.values.length * 2;
      const values = this.values instanceof Uint8Array ? new Uint8Array(size) : new Float32Array(size);
      values.set(this.values);
      this.values = values;
      const labels = new Uint8Array(this.labels.length * 2);
      labels.set(this.labels);
      this.labels = labels;
    }
    return this.count * this.width;
  }
}

function isNumeric(field: string): boolean {
  return field.trim() !== '' && Number.isFinite(Number(field));
}

/**
 * A CSV of one sample per line: the label, then the pixels (the `mnist_train.csv`
 * layout). A first line whose first value is not a number is a header. Pixels are
 * 0..255 integers (kept as bytes) or 0..1 floats.
 */
export async function parseCsv(source: AsyncIterable<Buffer>, field: string): Promise<Dataset> {
  const lines = createInterface({ input: Readable.from(source), crlfDelay: Infinity });
  let samples: GrowingSamples | null = null;
  let expectedValues = 0;
  let lineNumber = 0;
  let maxValue = 0;

  const fail = (code: 'CSV_NOT_NUMERIC' | 'CSV_WRONG_VALUE_COUNT' | 'PIXEL_OUT_OF_RANGE' | 'LABEL_OUT_OF_RANGE', message: string): never => {
    throw new AppError(code, `${field}: line ${lineNumber}: ${message}`, { field, line: lineNumber });
  };

  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    const values = line.split(',');
    if (expectedValues === 0) {
      expectedValues = values.length;
      if (expectedValues < 2) fail('CSV_WRONG_VALUE_COUNT', 'a row needs a label and at least one pixel, separated by commas');
      if (!isNumeric(values[0])) continue;
    }
    if (values.length !== expectedValues) {
      fail('CSV_WRONG_VALUE_COUNT', `${values.length} values; expected ${expectedValues} (a label, then ${expectedValues - 1} pixels)`);
    }
    samples ??= new GrowingSamples(expectedValues - 1);

    const label = Number(values[0]);
    if (!isNumeric(values[0])) fail('CSV_NOT_NUMERIC', `the label "${values[0]}" is not a number`);
    if (!Number.isInteger(label) || label < 0 || label > MAX_BYTE_VALUE) {
      fail('LABEL_OUT_OF_RANGE', `the label ${label} must be a whole number from 0 to ${MAX_BYTE_VALUE}`);
    }
    const offset = samples.nextRow();
    for (let i = 1; i < expectedValues; i++) {
      const text = values[i];
      const value = Number(text);
      if (!Number.isFinite(value) || text.trim() === '') fail('CSV_NOT_NUMERIC', `value ${i + 1} "${text}" is not a number`);
      if (value < 0 || value > MAX_BYTE_VALUE) fail('PIXEL_OUT_OF_RANGE', `pixel ${i} is ${value}; pixels are 0..255 integers or 0..1 floats`);
      if (samples.isBytes && !Number.isInteger(value)) {
        if (maxValue > 1) fail('PIXEL_OUT_OF_RANGE', `pixel ${i} is ${value}, a fraction among 0..255 integers`);
        samples.switchToFloats();
      }
      if (!samples.isBytes && value > 1) fail('PIXEL_OUT_OF_RANGE', `pixel ${i} is ${value}, above 1 among 0..1 floats`);
      if (value > maxValue) maxValue = value;
      samples.values[offset + i - 1] = value;
    }
    samples.labels[samples.count++] = label;
  }

  if (!samples) throw new AppError('EMPTY_FILE', `${field}: the CSV has no data rows`, { field });
  const { count, width } = samples;
  const side = Math.sqrt(width);
  return {
    count,
    inputSize: width,
    inputs: samples.values.slice(0, count * width),
    labels: samples.labels.slice(0, count),
    targets: null,
    ...(Number.isInteger(side) && { width: side, height: side }),
  };
}
