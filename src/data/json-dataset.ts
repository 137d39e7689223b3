import { z } from 'zod';
import type { Dataset } from '../core/types.js';
import { AppError } from '../errors.js';

const MAX_LABEL = 255;

const row = z.array(z.number()).min(1);

/** `{ inputs, labels }` for classes, or `{ inputs, targets }` for regression, such as XOR. */
const jsonDatasetSchema = z
  .strictObject({
    // abort: the row checks below read inputs[0] and targets[0], so an empty list stops here.
    inputs: z.array(row).min(1, { abort: true }),
    labels: z.array(z.int().min(0).max(MAX_LABEL)).optional(),
    targets: z.array(row).min(1, { abort: true }).optional(),
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
    if (data.targets) {
      const targetWidth = data.targets[0].length;
      const badTarget = data.targets.findIndex((values) => values.length !== targetWidth);
      if (badTarget >= 0) {
        context.addIssue({ code: 'custom', path: ['targets', badTarget], message: `has ${data.targets[badTarget].length} values but targets[0] has ${targetWidth}` });
      }
    }
  });

async function readText(source: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function pathText(path: PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index > 0 ? '.' : ''}${String(part)}`)).join('');
}

/** A small dataset written as JSON; numbers are used as they are (no 0..255 scaling). */
export async function parseJsonDataset(source: AsyncIterable<Buffer>, field: string): Promise<Dataset> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readText(source));
  } catch (error) {
    if (error instanceof AppError) throw error;
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
