import { z } from 'zod';
import { displayNameSchema, idSchema, integerTextSchema, UNSAFE_NAME_CHARACTER } from '../storage/ids.js';
import { nextCursorSchema } from '../storage/paging.js';
import { CSV_INPUT_KINDS } from './csv.js';
import { MAX_SAMPLES } from './limits.js';

export const DATASET_FORMATS = ['idx', 'csv', 'json'] as const;

/** A stored dataset's metadata: the API answer and the Redis record. */
export const datasetSchema = z
  .object({
    id: idSchema('dataset'),
    name: z.string(),
    format: z.enum(DATASET_FORMATS),
    count: z.int().describe('Number of samples'),
    inputSize: z.int().describe('Values per sample, e.g. 784 for 28x28 images'),
    width: z.int().optional(),
    height: z.int().optional(),
    inputKind: z.enum(['bytes', 'floats']).describe('bytes: 0..255 pixels, scaled to 0..1 in training; floats: used as they are'),
    numClasses: z.int().nullable().describe('Number of classes for labelled data; null for regression targets'),
    classCounts: z.array(z.int()).nullable().describe('Samples per class, indexed by label'),
    targetSize: z.int().nullable().describe('Values per target row for regression data; null for labels'),
    targetRange: z.object({ min: z.number(), max: z.number() }).nullable().optional()
      .describe('The smallest and largest target value, for regression data; null for labels (absent on datasets uploaded before it was recorded)'),
    warnings: z.array(z.string()).default([]).describe('What to know before training on it: classes with no samples, or very unbalanced ones'),
    sha256: z.string().describe('SHA-256 of the stored dataset and its class count; the same content uploaded again returns this dataset'),
    bytes: z.int().describe('Size of the stored dataset'),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Dataset' });

export type DatasetRecord = z.infer<typeof datasetSchema>;

/** A dataset as the API shows it: the record, and what uses it. */
export const datasetViewSchema = datasetSchema.extend({
  usedBy: z.object({
    jobs: z.array(idSchema('job')).describe('Queued or running jobs that train or validate on it'),
    models: z.array(idSchema('model')).describe('Models trained on it; while there are any, it cannot be deleted'),
  }),
}).meta({ id: 'DatasetView' });
export type DatasetView = z.infer<typeof datasetViewSchema>;


export const datasetParamsSchema = z.object({ id: idSchema('dataset') });

export const sampleParamsSchema = z.object({ id: idSchema('dataset'), index: integerTextSchema(0, MAX_SAMPLES - 1) });

export const sampleSchema = z.object({
  index: z.int(),
  label: z.int().nullable(),
  target: z.array(z.number()).nullable(),
  pixels: z.array(z.number()).describe('The sample\'s inputs: 0..255 for byte datasets'),
});

export type Sample = z.infer<typeof sampleSchema>;

export const datasetListSchema = z.object({ datasets: z.array(datasetViewSchema), nextCursor: nextCursorSchema });

const file = (description: string) => z.string().meta({ format: 'binary' }).describe(description);

/** Longest dataset name, in UTF-16 code units as JavaScript counts them; a longer file name is cut to it. */
export const MAX_NAME_LENGTH = 200;
/** A whole ANSI escape sequence (CSI): removed from a file name as one, not just its ESC. */
const ANSI_ESCAPE = /\u001b\[[0-?]*[ -/]*[@-~]/g;

/**
 * A file name as a dataset name, when the upload gives no `name`: control characters and ANSI
 * sequences removed, cut to MAX_NAME_LENGTH without splitting a character, or a plain name when nothing is left.
 */
export function nameFromFilename(filename: string, format: (typeof DATASET_FORMATS)[number]): string {
  const cleaned = filename.replace(ANSI_ESCAPE, '').replace(new RegExp(UNSAFE_NAME_CHARACTER, 'g'), '').trim();
  let name = '';
  for (const character of cleaned) {
    if (name.length + character.length > MAX_NAME_LENGTH) break;
    name += character;
  }
  return name.trimEnd() || `unnamed ${format} dataset`;
}

/** The text fields a dataset upload may carry next to its files. */
export const uploadFieldsSchema = z.strictObject({
  name: displayNameSchema(MAX_NAME_LENGTH).optional(),
  numClasses: integerTextSchema(1, 256).optional()
    .describe('Number of classes; every label must be below it (default: the largest label + 1)'),
  labelColumn: z.string().trim().min(1).max(MAX_NAME_LENGTH).optional()
    .describe('CSV: the label\'s column, by header name or 0-based number (default: a column named label, target, class or y, else the first)'),
  targetColumns: z.string().trim().min(1).max(10_000).transform((list) => list.split(',').map((column) => column.trim())).optional()
    .describe('CSV: regression targets instead of a label: their columns, comma-separated names or numbers'),
  delimiter: z.enum([',', ';', '|', '\t', 'tab']).transform((delimiter) => (delimiter === 'tab' ? '\t' : delimiter)).optional()
    .describe('CSV: the field separator, "," (default), ";", "|", or a tab (sent as a tab or as "tab")'),
  inputs: z.enum(CSV_INPUT_KINDS).optional()
    .describe('CSV: "pixels" for 0..255 values scaled to 0..1, "values" to use numbers as they are (default: pixels for square images of 16x16 or more whose values are all 0..255 whole numbers, else values)'),
});

/** The upload's parts as the OpenAPI document shows them, so Swagger UI can send one: the files, then the text fields above. */
export const uploadFormSchema = z.object({
  images: file('IDX images (magic 2051), raw or gzip').optional(),
  labels: file('IDX labels (magic 2049), raw or gzip; goes with images').optional(),
  file: file('Instead of images + labels: a CSV or a JSON { inputs, labels } / { inputs, targets }').optional(),
}).extend(uploadFieldsSchema.shape);
