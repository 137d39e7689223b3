import { z } from 'zod';
import { MAX_SAMPLE_VALUES } from '../data/limits.js';
import { STOP_REASONS, trainingConfigSchema } from '../queue/job-schema.js';
import { idSchema } from '../storage/ids.js';

/** A trained model's metadata: the API answer and the Redis record. */
export const modelSchema = z
  .object({
    id: idSchema('model'),
    jobId: idSchema('job'),
    datasetId: idSchema('dataset'),
    shape: z.array(z.int()),
    config: trainingConfigSchema,
    inputKind: z.enum(['bytes', 'floats']).describe('bytes: trained on 0..255 pixels scaled to 0..1; floats: inputs used as they are'),
    parameterCount: z.int(),
    epochsCompleted: z.int(),
    stopReason: z.enum(STOP_REASONS),
    metrics: z
      .object({
        trainLoss: z.number(),
        trainAccuracy: z.number(),
        valLoss: z.number().optional(),
        valAccuracy: z.number().optional(),
      })
      .nullable()
      .describe('From the last completed epoch; null when stopped before the first'),
    bytes: z.int(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Model' });

export type ModelRecord = z.infer<typeof modelSchema>;

export const modelParamsSchema = z.object({ id: idSchema('model') });
export const modelListSchema = z.object({ models: z.array(modelSchema) });

export const EVALUATION_SPLITS = ['validation'] as const;

/** A dataset, or the data the model's job validated on: its validation dataset or the share it held out. */
export const evaluateRequestSchema = z
  .strictObject({
    datasetId: idSchema('dataset').optional().describe('Evaluate on this dataset'),
    split: z.enum(EVALUATION_SPLITS).optional()
      .describe("validation: the samples the model's job validated on (its validationDatasetId, or the validationSplit it held out)"),
  })
  .refine((body) => (body.datasetId === undefined) !== (body.split === undefined), {
    path: ['datasetId'],
    message: 'send either "datasetId" or "split": "validation", not both',
  });
export const evaluationSchema = z.object({
  accuracy: z.number(),
  loss: z.number(),
  count: z.int(),
  confusionMatrix: z.array(z.array(z.int())).describe('confusionMatrix[actual][predicted]'),
});

/** Most values one sample may have: the same limit as an uploaded dataset's samples. */
const MAX_INPUT_VALUES = MAX_SAMPLE_VALUES;
export const MAX_PREDICT_BATCH = 1024;
export const PIXEL_SCALES = ['0-255', '0-1'] as const;

/**
 * `z.array(z.number()).min(1).max(MAX_INPUT_VALUES)`, checked in one loop when the array is
 * valid: zod's element-by-element parse allocates a result per value and a copy of the array,
 * about 9 µs and 60 kB of garbage for 784 pixels, more than the rest of a prediction's handling.
 * An invalid array goes through that parse after all, so its issues (and messages) are zod's own.
 */
function inputValues() {
  const elementwise = z.array(z.number()).min(1).max(MAX_INPUT_VALUES);
  return z
    .custom<number[]>()
    .check((ctx) => {
      const values = ctx.value;
      if (Array.isArray(values) && values.length >= 1 && values.length <= MAX_INPUT_VALUES) {
        let checked = 0;
        while (checked < values.length && typeof values[checked] === 'number' && Number.isFinite(values[checked])) checked++;
        if (checked === values.length) return;
      }
      for (const { message, path } of elementwise.safeParse(values).error?.issues ?? []) ctx.issues.push({ code: 'custom', message, path, input: values });
    })
    .meta({ type: 'array', items: { type: 'number' }, minItems: 1, maxItems: MAX_INPUT_VALUES });
}

/**
 * One sample in `pixels`, or several in `inputs`. Value ranges are checked by the service, which
 * knows the model: a per-element min/max here makes validation six times slower than the prediction.
 */
export const predictRequestSchema = z
  .strictObject({
    modelId: idSchema('model'),
    pixels: inputValues().optional()
      .describe('One sample: 0..255 integers or 0..1 floats (the range is checked against the model)'),
    inputs: z.array(inputValues()).min(1).max(MAX_PREDICT_BATCH).optional()
      .describe('Several samples, read like pixels'),
    scale: z.enum(PIXEL_SCALES).optional().describe('How to read the values; detected when omitted (any value above 1 means 0-255)'),
  })
  .refine((body) => (body.pixels === undefined) !== (body.inputs === undefined), {
    path: ['pixels'],
    message: 'send either "pixels" (one sample) or "inputs" (several samples), not both',
  });

const predictionSchema = z.object({ label: z.int(), probabilities: z.array(z.number()) });

export const predictResponseSchema = z.union([
  predictionSchema.extend({ modelId: idSchema('model') }),
  z.object({ modelId: idSchema('model'), predictions: z.array(predictionSchema) }),
]);

export type PredictRequest = z.infer<typeof predictRequestSchema>;
export type PredictResponse = z.infer<typeof predictResponseSchema>;
export type Prediction = z.infer<typeof predictionSchema>;
export type PixelScale = (typeof PIXEL_SCALES)[number];
export type EvaluateRequest = z.infer<typeof evaluateRequestSchema>;
export type EvaluationResult = z.infer<typeof evaluationSchema>;
