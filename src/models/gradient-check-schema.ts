import { z } from 'zod';
import {
  DEFAULT_CHECKED_PARAMETERS, DEFAULT_GRADIENT_CHECK_BATCH, GRADIENT_CHECK_TOLERANCE, MAX_BATCH_PARAMETERS, MAX_CHECKED_PARAMETERS,
  MAX_GRADIENT_CHECK_BATCH, type GradientCheckLayer,
} from '../core/index.js';
import { idSchema } from '../storage/ids.js';
import { networkRequestFields } from './training-config-schema.js';

/**
 * POST /gradcheck: a dataset, a shape, and the job fields that shape the loss, in the forms
 * POST /jobs takes them; what is left out takes the defaults a job would get.
 */
export const gradientCheckRequestSchema = z
  .strictObject({
    datasetId: idSchema('dataset'),
    ...networkRequestFields,
    seed: networkRequestFields.seed.describe('Seeds the initial weights (those a job with this seed starts from), the batch drawn and the parameters checked'),
    batchSize: z.int().min(1).max(MAX_GRADIENT_CHECK_BATCH).optional()
      .describe(`Samples in the checked batch, default ${DEFAULT_GRADIENT_CHECK_BATCH}; a network is checked on at most ${MAX_BATCH_PARAMETERS.toExponential()} / its parameter count`),
    sampleParameters: z.int().min(1).max(MAX_CHECKED_PARAMETERS).optional()
      .describe(`Parameters to compare, shared out between the layers, default ${DEFAULT_CHECKED_PARAMETERS}; layers with big layers above them get fewer within the work budget`),
  })
  .meta({ id: 'GradientCheckRequest' });

const gradientCheckLayerSchema = z.object({
  layer: z.int().describe('From 1, the first layer after the input'),
  maxRelativeError: z.number().describe("Over this layer's checked weights and biases"),
  checked: z.int(),
  parameters: z.int().describe('Weights and biases in the layer'),
  kinkCrossings: z.int().describe('Parameters drawn but left out: a step of ±2h moved a relu input across 0'),
  largestGradient: z.number().describe('Largest |gradient| in the layer; below the floor of the relative error the gradients are vanishing'),
}) satisfies z.ZodType<GradientCheckLayer>;

export const gradientCheckSchema = z
  .object({
    ok: z.boolean().describe('Every layer was checked and agrees to the tolerance'),
    tolerance: z.literal(GRADIENT_CHECK_TOLERANCE),
    maxRelativeError: z.number().describe('max |backprop - finite difference| / max(|backprop| + |finite difference|, floor) over the checked parameters'),
    layers: z.array(gradientCheckLayerSchema),
    checked: z.int(),
    batch: z.int().describe('Samples the check ran on'),
    message: z.string().describe('The verdict in plain words, with what weakens it: relu kinks, vanishing gradients, sampling'),
  })
  .meta({ id: 'GradientCheck' });

export type GradientCheckRequest = z.infer<typeof gradientCheckRequestSchema>;
export type GradientCheckResponse = z.infer<typeof gradientCheckSchema>;
