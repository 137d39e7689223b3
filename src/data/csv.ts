import type { Dataset } from '../core/types.js';
import { AppError } from '../errors.js';
import { MAX_CSV_LINE_BYTES, MAX_SAMPLES, MAX_SAMPLE_VALUES } from './limits.js';
import type { MemoryBudget } from './upload-capacity.js';

const MAX_BYTE_VALUE = 255;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
/** The first buffers hold this much whatever the width, so a wide first row cannot make a huge first allocation. */
const INITIAL_SAMPLE_BYTES = 64 * 1024;

/** A typed array that doubles as rows arrive; bytes until a fraction shows the values are 0..1 floats. */
class GrowingSamples {
  values: Uint8Array | Float32Array;
  labels: Uint8Array;
  count = 0;

  constructor(readonly width: number, private readonly budget: MemoryBudget) {
    const rows = Math.max(1, Math.floor(INITIAL_SAMPLE_BYTES / width));
    budget.reserve(rows * (width + 1), 'the first CSV rows');
    this.values = new Uint8Array(width * rows);
    this.labels = new Uint8Array(rows);
  }

  get isBytes(): boolean {
    return this.values instanceof Uint8Array;
  }

  switchToFloats(): void {
    this.budget.reserve(this.values.length * Float32Array.BYTES_PER_ELEMENT, 'CSV values as floats');
    const bytes = this.values.byteLength;
    this.values = Float32Array.from(this.values);
    this.budget.free(bytes);
  }

  /** Room for one more row; returns its offset in `values`. */
  nextRow(): number {
    if (this.count === this.labels.length) {
      const size = this.values.length * 2;
      const oldBytes = this.values.byteLength + this.labels.byteLength;
      this.budget.reserve(oldBytes * 2, `${this.count * 2} CSV rows`);
      const values = this.values instanceof Uint8Array ? new Uint8Array(size) : new Float32Array(size);
      values.set(this.values);
      this.values = values;
      const labels = new Uint8Array(this.labels.length * 2);
      labels.set(this.labels);
      this.labels = labels;
      this.budget.free(oldBytes);
    }
    return this.count * this.width;
  }
}

/**
 * The lines of `source` without their line breaks (LF or CRLF), each at most MAX_CSV_LINE_BYTES:
 * a file of one huge line is refused at the limit instead of being gathered into one string.
 */
async function* csvLines(source: AsyncIterable<Buffer>, field: string): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineNumber = 0;
  const line = (last: Buffer): string => {
    lineNumber++;
    const bytes = pending.length === 0 ? last : Buffer.concat([...pending, last]);
    pending = [];
    pendingBytes = 0;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN ? bytes.length - 1 : bytes.length;
    return bytes.toString('utf8', 0, end);
  };
  const checkLength = (bytes: number): void => {
    if (bytes <= MAX_CSV_LINE_BYTES) return;
    throw new AppError('LINE_TOO_LONG', `${field}: line ${lineNumber + 1} is over ${MAX_CSV_LINE_BYTES} bytes; a row holds at most ${MAX_SAMPLE_VALUES} pixels`, {
      field, line: lineNumber + 1, maxLineBytes: MAX_CSV_LINE_BYTES,
    });
  };
  for await (const chunk of source) {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE, start); end >= 0; end = chunk.indexOf(NEWLINE, start)) {
      checkLength(pendingBytes + end - start);
      yield line(chunk.subarray(start, end));
      start = end + 1;
    }
    pendingBytes += chunk.length - start;
    checkLength(pendingBytes);
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pendingBytes > 0) yield line(Buffer.alloc(0));
}

const ZERO = 0x30;
/** x, b and o, lower-cased with | 0x20: Number() reads 0x10, 0b1 and 0o7 as hex, binary and octal. */
const RADIX_LETTERS = new Set([0x78, 0x62, 0x6f]);

/** A decimal number such as 12, 0.5 or 1e-3: finite, not blank, and no 0x, 0b or 0o prefix (kept off a regex: this runs per pixel). */
function isNumeric(field: string): boolean {
  const text = field.trim();
  if (text === '' || !Number.isFinite(Number(text))) return false;
  return !(text.charCodeAt(0) === ZERO && RADIX_LETTERS.has(text.charCodeAt(1) | 0x20));
}

/**
 * A CSV of one sample per line: the label, then the pixels (the `mnist_train.csv`
 * layout). A first line whose first value is not a number is a header. Pixels are
 * 0..255 integers (kept as bytes) or 0..1 floats. Every buffer is reserved from `budget` first.
 */
export async function parseCsv(source: AsyncIterable<Buffer>, field: string, budget: MemoryBudget): Promise<Dataset> {
  let samples: GrowingSamples | null = null;
  let expectedValues = 0;
  let lineNumber = 0;
  let maxValue = 0;

  const fail = (code: 'CSV_NOT_NUMERIC' | 'CSV_WRONG_VALUE_COUNT' | 'PIXEL_OUT_OF_RANGE' | 'LABEL_OUT_OF_RANGE' | 'ROW_TOO_WIDE' | 'TOO_MANY_ROWS', message: string): never => {
    throw new AppError(code, `${field}: line ${lineNumber}: ${message}`, { field, line: lineNumber });
  };

  for await (const line of csvLines(source, field)) {
    lineNumber++;
    if (line.trim() === '') continue;
    const values = line.split(',');
    if (expectedValues === 0) {
      expectedValues = values.length;
      if (expectedValues < 2) fail('CSV_WRONG_VALUE_COUNT', 'a row needs a label and at least one pixel, separated by commas');
      if (expectedValues - 1 > MAX_SAMPLE_VALUES) fail('ROW_TOO_WIDE', `${expectedValues - 1} pixels; a sample has at most ${MAX_SAMPLE_VALUES}`);
      if (!isNumeric(values[0])) continue;
    }
    if (values.length !== expectedValues) {
      fail('CSV_WRONG_VALUE_COUNT', `${values.length} values; expected ${expectedValues} (a label, then ${expectedValues - 1} pixels)`);
    }
    samples ??= new GrowingSamples(expectedValues - 1, budget);
    if (samples.count === MAX_SAMPLES) fail('TOO_MANY_ROWS', `a dataset has at most ${MAX_SAMPLES} samples`);

    const label = Number(values[0]);
    if (!isNumeric(values[0])) fail('CSV_NOT_NUMERIC', `the label "${values[0].slice(0, 40)}" is not a decimal number`);
    if (!Number.isInteger(label) || label < 0 || label > MAX_BYTE_VALUE) {
      fail('LABEL_OUT_OF_RANGE', `the label ${label} must be a whole number from 0 to ${MAX_BYTE_VALUE}`);
    }
    const offset = samples.nextRow();
    for (let i = 1; i < expectedValues; i++) {
      const text = values[i];
      const value = Number(text);
      if (!isNumeric(text)) fail('CSV_NOT_NUMERIC', `value ${i + 1} "${text.slice(0, 40)}" is not a decimal number`);
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
    inputs: samples.values.subarray(0, count * width),
    labels: samples.labels.subarray(0, count),
    targets: null,
    ...(Number.isInteger(side) && { width: side, height: side }),
  };
}
