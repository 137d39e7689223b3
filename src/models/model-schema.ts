import { z } from 'zod';
import { DEFAULT_MISCLASSIFIED_LISTED, type Evaluation } from '../core/index.js';
import { MAX_SAMPLE_VALUES } from '../data/limits.js';
import { MODEL_STOP_REASONS, trainingConfigSchema } from './training-config-schema.js';
import { idSchema } from '../storage/ids.js';
import { EXPORT_FORMATS } from './model-export.js';
import { nextCursorSchema } from '../storage/paging.js';

/** A registry name, as MLflow's registered models have: never one an id could be mistaken for. */
export const registeredNameSchema = z.string()
  .regex(/^[A-Za-z][A-Za-z0-9._-]{0,63}$/, 'must start with a letter and hold up to 64 letters, digits, ".", "_" or "-"')
  .refine((name) => !name.startsWith('mdl_'), 'must not start with "mdl_", which model ids use');
export const aliasSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, 'must start with a letter and hold up to 32 letters, digits, "_" or "-"');

const registrationSchema = z.object({ name: z.string(), version: z.int().min(1) });
export type Registration = z.infer<typeof registrationSchema>;

/** A trained model's metadata: the API answer and the Redis record. */
export const modelSchema = z
  .object({
    id: idSchema('model'),
    jobId: idSchema('job'),
    datasetId: idSchema('dataset'),
    validation: z.object({
      datasetId: idSchema('dataset'),
      heldOut: z.object({ fraction: z.number(), trainingSeed: z.int() }).nullable().describe('The share of the dataset the job held out, or null for all of it'),
    }).nullable().default(null).describe('What the job validated on, for POST /models/:id/evaluate with split "validation"; null when it held out nothing'),
    shape: z.array(z.int()),
    config: trainingConfigSchema,
    inputKind: z.enum(['bytes', 'floats']).describe('bytes: trained on 0..255 pixels scaled to 0..1; floats: inputs used as they are'),
    parameterCount: z.int(),
    epochsCompleted: z.int(),
    stopReason: z.enum(MODEL_STOP_REASONS),
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
    registered: registrationSchema.nullable().default(null).describe('The registry name and version this model is, when its job had registerAs'),
  })
  .meta({ id: 'Model' });

export type ModelRecord = z.infer<typeof modelSchema>;
export type RegisteredModel = z.infer<typeof registeredModelSchema>;

export const modelParamsSchema = z.object({ id: idSchema('model') });
export const exportQuerySchema = z.object({
  format: z.enum(EXPORT_FORMATS).describe('onnx: an ONNX model (opset 17) for onnxruntime, PyTorch or TensorFlow; json: the shapes and weights as plain JSON'),
});
export const jsonExportSchema = z.object({
  modelId: idSchema('model'),
  shape: z.array(z.int()),
  inputScaling: z.string().describe('What to do to raw inputs before the first layer'),
  loss: z.string(),
  layers: z.array(z.object({
    inputs: z.int(),
    outputs: z.int(),
    activation: z.string(),
    weights: z.array(z.array(z.number())).describe('weights[output][input], as in PyTorch\'s nn.Linear'),
    biases: z.array(z.number()),
  })),
}).meta({ id: 'ModelJsonExport' });

export const modelListSchema = z.object({ models: z.array(modelSchema), nextCursor: nextCursorSchema });

const modelVersionSchema = z.object({
  version: z.int(),
  modelId: idSchema('model'),
  aliases: z.array(z.string()).describe('Aliases that point at this version'),
});
export type ModelVersion = z.infer<typeof modelVersionSchema>;
export const registeredModelSchema = z.object({
  name: z.string(),
  versions: z.array(modelVersionSchema.extend({ model: modelSchema })).describe('Oldest first'),
}).meta({ id: 'RegisteredModel' });
export const registeredNameParamsSchema = z.object({ name: registeredNameSchema });
export const aliasParamsSchema = z.object({ name: registeredNameSchema, alias: aliasSchema });
export const aliasBodySchema = z.strictObject({ version: z.int().min(1) });
export const aliasAssignmentSchema = z.object({ name: z.string(), alias: z.string(), version: z.int(), modelId: idSchema('model') });

/**
 * How a request names a model: its id, a registry name (its newest version), "name@alias" or
 * "name/3" (a version).
 */
export const modelRefSchema = z.union([
  idSchema('model'),
  z.string().regex(/^[A-Za-z][A-Za-z0-9._-]{0,63}(@[A-Za-z][A-Za-z0-9_-]{0,31}|\/[1-9][0-9]{0,8})?$/),
], { error: 'must be a model id (mdl_ and 20 hex digits), a registered name, "name@alias" or "name/version" with a version from 1' }).describe('A model id (mdl_…), a registered name (its newest version), "name@alias" or "name/3"');

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
    message: 'send exactly one of "datasetId" or "split": "validation"',
  });
const classMetricsSchema = z.object({
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: z.int().describe('Samples of this class'),
});
export const evaluationSchema = z.object({
  accuracy: z.number(),
  loss: z.number(),
  count: z.int(),
  confusionMatrix: z.array(z.array(z.int())).describe('confusionMatrix[actual][predicted]'),
  perClass: z.array(classMetricsSchema).describe('Indexed by class; 0 where a ratio has nothing to divide, as scikit-learn\'s zero_division=0'),
  macro: classMetricsSchema.omit({ support: true }).describe('Unweighted means over the classes'),
  misclassified: z.array(z.object({ index: z.int(), actual: z.int(), predicted: z.int() }))
    .describe(`The first ${DEFAULT_MISCLASSIFIED_LISTED} misclassified samples; index is the sample\'s place in the dataset (GET /datasets/:id/samples/:index shows it)`),
  misclassifiedCount: z.int(),
}).meta({ id: 'Evaluation' }) satisfies z.ZodType<Evaluation>;

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
    modelId: idSchema('model').optional(),
    model: modelRefSchema.optional(),
    pixels: inputValues().optional()
      .describe('One sample: 0..255 integers or 0..1 floats (the range is checked against the model)'),
    inputs: z.array(inputValues()).min(1).max(MAX_PREDICT_BATCH).optional()
      .describe('Several samples, read like pixels'),
    scale: z.enum(PIXEL_SCALES).optional().describe('How to read the values; detected when omitted (any value above 1 means 0-255)'),
  })
  .refine((body) => (body.pixels === undefined) !== (body.inputs === undefined), {
    path: ['pixels'],
    message: 'send exactly one of "pixels" (one sample) or "inputs" (several samples)',
  })
  .refine((body) => (body.modelId === undefined) !== (body.model === undefined), {
    path: ['model'],
    message: 'name the model once: "model" (an id, a name, "name@alias" or "name/3") or "modelId"',
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
