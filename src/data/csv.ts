import { CsvError, parse } from 'csv-parse';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BEYOND_FLOAT32, isFiniteFloat32, type Dataset } from '../core/index.js';
import { AppError, type ErrorCode } from '../errors.js';
import { MAX_CSV_LINE_BYTES, MAX_SAMPLES, MAX_SAMPLE_VALUES } from './limits.js';
import type { MemoryBudget } from './upload-capacity.js';

const MAX_BYTE_VALUE = 255;
/** Square images at least this wide whose values are all 0..255 whole numbers are read as pixels unless the upload says otherwise. */
const MIN_PIXEL_IMAGE_SIDE = 16;
/** The first buffers hold this much whatever the width, so a wide first row cannot make a huge first allocation. */
const INITIAL_SAMPLE_BYTES = 64 * 1024;
/** Header names that mark the label column when the upload names none (pandas and scikit-learn conventions). */
const LABEL_NAMES = ['label', 'labels', 'target', 'class', 'y'];

export const CSV_INPUT_KINDS = ['pixels', 'values'] as const;

/** How to read a CSV: which columns are the answer, how fields are separated, and what the features are. */
export interface CsvOptions {
  /** The label's column, by header name or 0-based index. Default: a column named label, target, class or y, else the first. */
  labelColumn?: string;
  /** Columns of regression targets, by header name or 0-based index; the dataset then has targets instead of labels. */
  targetColumns?: readonly string[];
  delimiter?: string;
  /**
   * pixels: 0..255 whole numbers, stored as bytes and scaled to 0..1 for training and prediction alike;
   * values: numbers used as they are, as pandas reads them. Default: pixels for square images at
   * least 16x16 whose values are all 0..255 whole numbers, else values.
   */
  inputs?: (typeof CSV_INPUT_KINDS)[number];
}

/** Feature rows in a typed array that doubles as rows arrive: bytes while every value is a 0..255 whole number, floats after. */
class GrowingRows {
  values: Uint8Array | Float32Array;
  answers: Float32Array;
  count = 0;

  constructor(readonly width: number, readonly answerWidth: number, private readonly budget: MemoryBudget) {
    const rows = Math.max(1, Math.floor(INITIAL_SAMPLE_BYTES / width));
    budget.reserve(rows * (width + answerWidth * Float32Array.BYTES_PER_ELEMENT), 'the first CSV rows');
    this.values = new Uint8Array(width * rows);
    this.answers = new Float32Array(answerWidth * rows);
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

  /** Room for one more row; returns its index. */
  nextRow(): number {
    if (this.count * this.width === this.values.length) {
      const oldBytes = this.values.byteLength + this.answers.byteLength;
      this.budget.reserve(oldBytes * 2, `${this.count * 2} CSV rows`);
      const values = this.values instanceof Uint8Array ? new Uint8Array(this.values.length * 2) : new Float32Array(this.values.length * 2);
      values.set(this.values);
      this.values = values;
      const answers = new Float32Array(this.answers.length * 2);
      answers.set(this.answers);
      this.answers = answers;
      this.budget.free(oldBytes);
    }
    return this.count++;
  }
}

const ZERO = 0x30;
/** x, b and o, lower-cased with | 0x20: Number() reads 0x10, 0b1 and 0o7 as hex, binary and octal. */
const RADIX_LETTERS = new Set([0x78, 0x62, 0x6f]);

/** A decimal number such as 12, -0.5 or 1e-3: finite, not blank, and no 0x, 0b or 0o prefix (kept off a regex: this runs per value). */
function isNumeric(text: string): boolean {
  if (text === '' || !Number.isFinite(Number(text))) return false;
  const digit = text.charCodeAt(0) === 0x2d ? 1 : 0;
  return !(text.charCodeAt(digit) === ZERO && RADIX_LETTERS.has(text.charCodeAt(digit + 1) | 0x20));
}

/** csv-parse's own errors, as the 4xx they are. */
const PARSER_ERRORS: Record<string, ErrorCode> = {
  CSV_MAX_RECORD_SIZE: 'LINE_TOO_LONG',
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'CSV_WRONG_VALUE_COUNT',
  CSV_QUOTE_NOT_CLOSED: 'CSV_MALFORMED',
  CSV_INVALID_CLOSING_QUOTE: 'CSV_MALFORMED',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'CSV_MALFORMED',
  INVALID_OPENING_QUOTE: 'CSV_MALFORMED',
};

/** Which columns are features and which the answer, from the header (when there is one) and the options. */
function layout(columns: number, header: readonly string[] | null, options: CsvOptions, field: string) {
  const find = (name: string, option: string): number => {
    const index = /^\d+$/.test(name) ? Number(name) : (header?.findIndex((column) => column === name) ?? -1);
    if (index < 0 || index >= columns) {
      const known = header ? `its columns are ${header.slice(0, 12).map((column) => `"${column}"`).join(', ')}${header.length > 12 ? ', …' : ''}` : `it has no header, so name columns 0 to ${columns - 1} by number`;
      throw new AppError('VALIDATION_FAILED', `${option}: the CSV has no column "${name}"; ${known}`, { field: option });
    }
    return index;
  };
  if (options.targetColumns && options.labelColumn !== undefined) {
    throw new AppError('VALIDATION_FAILED', 'labelColumn: give labelColumn (classes) or targetColumns (regression), not both', { field: 'labelColumn' });
  }
  const named = header ? header.findIndex((column) => LABEL_NAMES.includes(column.toLowerCase())) : -1;
  const answers = options.targetColumns
    ? [...new Set(options.targetColumns.map((name) => find(name, 'targetColumns')))]
    : [options.labelColumn !== undefined ? find(options.labelColumn, 'labelColumn') : Math.max(named, 0)];
  const features = Array.from({ length: columns }, (_, i) => i).filter((i) => !answers.includes(i));
  if (features.length === 0) throw new AppError('CSV_WRONG_VALUE_COUNT', `${field}: every column is an answer; a row needs at least one feature`, { field });
  if (features.length > MAX_SAMPLE_VALUES) {
    throw new AppError('ROW_TOO_WIDE', `${field}: line 1: ${features.length} features; a sample has at most ${MAX_SAMPLE_VALUES}`, { field, line: 1 });
  }
  return { answers, features, regression: options.targetColumns !== undefined };
}

/**
 * A CSV read as pandas would read it (csv-parse: quoting, any one-character delimiter, a UTF-8
 * BOM): a first row with any field that is not a number is the header; the label (or the target
 * columns) may be any column; the other columns are the features, used as they are unless they are
 * 0..255 pixels of square images (see CsvOptions.inputs). Every buffer is reserved from `budget`
 * first, and a record longer than MAX_CSV_LINE_BYTES is refused before it is gathered.
 */
export async function parseCsv(source: AsyncIterable<Buffer>, field: string, budget: MemoryBudget, options: CsvOptions = {}): Promise<Dataset> {
  const parser = parse({
    delimiter: options.delimiter ?? ',',
    bom: true,
    trim: true,
    skip_empty_lines: true,
    max_record_size: MAX_CSV_LINE_BYTES,
    info: true,
  });
  // pipeline, not pipe: an error of the source (a decompression limit, a cut upload) must end the parse with it.
  const feeding = pipeline(Readable.from(source), parser).catch(() => {
    // The same error reaches the loop below through the destroyed parser.
  });
  let rows: GrowingRows | null = null;
  let plan: ReturnType<typeof layout> | null = null;
  let header: string[] | null = null;
  let line = 0;
  let maxValue = 0;
  const fail = (code: ErrorCode, message: string): never => {
    throw new AppError(code, `${field}: line ${line}: ${message}`, { field, line });
  };
  /** The value in a data row's column, which must be a decimal number a float32 holds. */
  const numberAt = (text: string, column: number): number => {
    if (!isNumeric(text)) fail('CSV_NOT_NUMERIC', `value ${column + 1} "${text.slice(0, 40)}" is not a decimal number`);
    const value = Number(text);
    if (!isFiniteFloat32(value)) fail('INPUT_OUT_OF_RANGE', `value ${column + 1} is ${text.slice(0, 40)}, ${BEYOND_FLOAT32}`);
    return value;
  };

  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      line = info.lines;
      if (!plan) {
        if (record.length > MAX_SAMPLE_VALUES + 1 && !options.targetColumns) fail('ROW_TOO_WIDE', `${record.length - 1} values; a sample has at most ${MAX_SAMPLE_VALUES}`);
        const isHeader = record.some((value) => !isNumeric(value));
        if (isHeader) header = record;
        plan = layout(record.length, header, options, field);
        rows = new GrowingRows(plan.features.length, plan.answers.length, budget);
        if (isHeader) continue;
      }
      const growing = rows!;
      if (growing.count === MAX_SAMPLES) fail('TOO_MANY_ROWS', `a dataset has at most ${MAX_SAMPLES} samples`);
      const row = growing.nextRow();
      plan.answers.forEach((column, k) => {
        const text = record[column];
        if (!plan!.regression && !isNumeric(text)) {
          fail('CSV_NOT_NUMERIC', `the label "${text.slice(0, 40)}" (value ${column + 1}) is not a class number: labels are whole numbers from 0 to ${MAX_BYTE_VALUE}, so number the classes (0, 1, 2, …) before uploading`);
        }
        const value = numberAt(text, column);
        if (!plan!.regression && (!Number.isInteger(value) || value < 0 || value > MAX_BYTE_VALUE)) {
          fail('LABEL_OUT_OF_RANGE', `the label ${value} must be a whole number from 0 to ${MAX_BYTE_VALUE}`);
        }
        growing.answers[row * plan!.answers.length + k] = value;
      });
      const offset = row * growing.width;
      plan.features.forEach((column, i) => {
        const text = record[column];
        const value = numberAt(text, column);
        if (growing.isBytes && (!Number.isInteger(value) || value < 0 || value > MAX_BYTE_VALUE)) {
          if (options.inputs === 'pixels') fail('PIXEL_OUT_OF_RANGE', `value ${column + 1} is ${value}; pixels are whole numbers from 0 to ${MAX_BYTE_VALUE}`);
          growing.switchToFloats();
        }
        if (value > maxValue) maxValue = value;
        growing.values[offset + i] = value;
      });
    }
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const code = PARSER_ERRORS[error.code] ?? 'CSV_MALFORMED';
    const at = (error as CsvError & { lines?: number }).lines ?? line + 1;
    if (code === 'LINE_TOO_LONG') {
      throw new AppError(code, `${field}: line ${at} is over ${MAX_CSV_LINE_BYTES} bytes; a row holds at most ${MAX_SAMPLE_VALUES} values`, { field, line: at, maxLineBytes: MAX_CSV_LINE_BYTES });
    }
    const counts = /expect (\d+), got (\d+)/.exec(error.message);
    const what = counts ? `${counts[2]} values; expected ${counts[1]}, as the first row has` : error.message;
    throw new AppError(code, `${field}: line ${at}: ${what}`, { field, line: at });
  }

  await feeding;
  if (!rows || rows.count === 0) throw new AppError('EMPTY_FILE', `${field}: the CSV has no data rows`, { field });
  const { count, width } = rows;
  const side = Math.sqrt(width);
  const square = Number.isInteger(side);
  const pixels = options.inputs === 'pixels' || (options.inputs === undefined && rows.isBytes && square && side >= MIN_PIXEL_IMAGE_SIDE && maxValue > 1);
  let inputs = rows.values.subarray(0, count * width);
  if (!pixels && inputs instanceof Uint8Array) {
    budget.reserve(inputs.length * Float32Array.BYTES_PER_ELEMENT, 'CSV values as floats');
    inputs = Float32Array.from(inputs);
  }
  return {
    count,
    inputSize: width,
    inputs,
    labels: plan!.regression ? null : Uint8Array.from(rows.answers.subarray(0, count)),
    targets: plan!.regression ? rows.answers.subarray(0, count * plan!.answers.length) : null,
    ...(pixels && square && { width: side, height: side }),
  };
}
