import { z } from 'zod';
import { BEYOND_FLOAT32, isFiniteFloat32, type Dataset } from '../core/index.js';
import { AppError } from '../errors.js';
import { JsonDepthScanner } from './json-depth.js';
import { MAX_JSON_DATASET_BYTES, MAX_JSON_DEPTH, MAX_SAMPLES, MAX_SAMPLE_VALUES } from './limits.js';
import type { MemoryBudget } from './upload-capacity.js';

const MAX_LABEL = 255;
/**
 * Memory a JSON dataset takes per byte of its text, reserved as the text arrives: the text itself,
 * its string, JSON.parse's arrays of doubles (8 bytes for a value written in 2, "0,") and the
 * flattened copy come to about this.
 */
const MEMORY_PER_JSON_BYTE = 16;

const row = z.array(z.number()).min(1).max(MAX_SAMPLE_VALUES);

/** `{ inputs, labels }` for classes, or `{ inputs, targets }` for regression, such as XOR. */
const jsonDatasetSchema = z
  .strictObject({
    // abort: the row checks below read inputs[0] and targets[0], so an empty list stops here.
    inputs: z.array(row).min(1, { abort: true }).max(MAX_SAMPLES),
    labels: z.array(z.int().min(0).max(MAX_LABEL)).optional(),
    targets: z.array(row).min(1, { abort: true }).max(MAX_SAMPLES).optional(),
  })
  .superRefine((data, context) => {
    if ((data.labels === undefined) === (data.targets === undefined)) {
      context.addIssue({ code: 'custom', path: ['labels'], message: 'give exactly one of "labels" (class indices) or "targets" (rows of numbers)' });
      return;
    }
    const width = data.inputs[0].length;
    const badInput = data.inputs.findIndex((values) => values.length !== width);
    if (badInput >= 0) {
      context.addIssue({ code: 'custom', path: ['inputs', badInput], message: `has ${data.inputs[badInput].length} values but inputs[0] has ${width}` });
    }
    const answers = data.labels ?? data.targets ?? [];
    const name = data.labels ? 'labels' : 'targets';
    if (answers.length !== data.inputs.length) {
      context.addIssue({ code: 'custom', path: [name], message: `has ${answers.length} entries but inputs has ${data.inputs.length}` });
    }
    for (const name of ['inputs', 'targets'] as const) {
      const out = outsideFloat32(data[name] ?? []);
      if (out) {
        context.addIssue({
          code: 'custom', path: [name, out.row, out.column],
          message: `is ${out.value}, ${BEYOND_FLOAT32}`,
        });
      }
    }
    if (data.targets) {
      const targetWidth = data.targets[0].length;
      const badTarget = data.targets.findIndex((values) => values.length !== targetWidth);
      if (badTarget >= 0) {
        context.addIssue({ code: 'custom', path: ['targets', badTarget], message: `has ${data.targets[badTarget].length} values but targets[0] has ${targetWidth}` });
      }
    }
  });

/** The first value a float32 cannot hold, in a plain loop: a per-value zod check would be far slower on large datasets. */
function outsideFloat32(rows: readonly number[][]): { row: number; column: number; value: number } | null {
  for (let row = 0; row < rows.length; row++) {
    const values = rows[row];
    for (let column = 0; column < values.length; column++) {
      if (!isFiniteFloat32(values[column])) return { row, column, value: values[column] };
    }
  }
  return null;
}

/** The text, once its nesting is known to be within MAX_JSON_DEPTH and its memory is reserved. */
async function readText(source: AsyncIterable<Buffer>, field: string, budget: MemoryBudget): Promise<string> {
  const chunks: Buffer[] = [];
  const depth = new JsonDepthScanner(MAX_JSON_DEPTH);
  let bytes = 0;
  for await (const chunk of source) {
    bytes += chunk.length;
    if (bytes > MAX_JSON_DATASET_BYTES) {
      throw new AppError('DECOMPRESSED_TOO_LARGE', `${field}: a JSON dataset may be ${MAX_JSON_DATASET_BYTES} bytes; send larger data as CSV or IDX`, { field, maxBytes: MAX_JSON_DATASET_BYTES });
    }
    budget.reserve(chunk.length * MEMORY_PER_JSON_BYTE, `${field} (a JSON dataset)`);
    if (!depth.feed(chunk)) {
      throw new AppError('JSON_TOO_DEEP', `${field}: arrays and objects nest more than ${MAX_JSON_DEPTH} deep; a dataset is { "inputs": number[][], ... }`, { field, maxDepth: MAX_JSON_DEPTH });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function pathText(path: PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index > 0 ? '.' : ''}${String(part)}`)).join('');
}

/** A small dataset written as JSON; numbers are used as they are (no 0..255 scaling). */
export async function parseJsonDataset(source: AsyncIterable<Buffer>, field: string, budget: MemoryBudget): Promise<Dataset> {
  const text = await readText(source, field, budget);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AppError('INVALID_DATASET_JSON', `${field}: not valid JSON (${(error as Error).message})`, { field });
  }
  const result = jsonDatasetSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length > 0 ? pathText(issue.path) : 'the document';
    throw new AppError('INVALID_DATASET_JSON', `${field}: ${where}: ${issue.message}. Expected { "inputs": number[][], "labels": number[] } or { "inputs", "targets": number[][] }`, {
      field,
      issues: result.error.issues.map((each) => ({ path: pathText(each.path), message: each.message })),
    });
  }
  const { inputs, labels, targets } = result.data;
  return {
    count: inputs.length,
    inputSize: inputs[0].length,
    inputs: Float32Array.from(inputs.flat()),
    labels: labels ? Uint8Array.from(labels) : null,
    targets: targets ? Float32Array.from(targets.flat()) : null,
  };
}
