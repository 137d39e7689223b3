import { z } from 'zod';
import { MAX_PREDICT_BATCH } from './model-schema.js';

// The Open Inference Protocol (KServe v2) REST payloads, as its specification defines them.

/** Every tensor datatype the protocol names; the numeric ones are accepted as inputs. */
export const TENSOR_DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type TensorDatatype = (typeof TENSOR_DATATYPES)[number];
/** Whole-number datatypes: their values must be integers, and UINT8 ones are read as 0..255 pixels. */
export const INTEGER_DATATYPES: readonly TensorDatatype[] = ['UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64'];
export const FLOAT_DATATYPES: readonly TensorDatatype[] = ['FP32', 'FP64'];

/** The names of this server's tensors. */
export const V2_INPUT = 'input';
export const V2_OUTPUTS = ['probabilities', 'label'] as const;

const parametersSchema = z.record(z.string(), z.unknown()).describe('Key/value parameters; none are read');

/** Tensor data: flat in row-major order, or nested as the shape. Checked against the shape by the service. */
const tensorDataSchema: z.ZodType<unknown[]> = z.array(z.unknown());

export const v2InferRequestSchema = z.object({
  id: z.string().max(256).optional().describe('Returned in the response'),
  parameters: parametersSchema.optional(),
  inputs: z.array(z.object({
    name: z.string().max(256),
    shape: z.array(z.int().min(0)).min(1).max(2).describe(`[N, width] for a batch of N (N ≤ ${MAX_PREDICT_BATCH}), or [width] for one sample`),
    datatype: z.enum(TENSOR_DATATYPES),
    parameters: parametersSchema.optional(),
    data: tensorDataSchema,
  })).min(1),
  outputs: z.array(z.object({ name: z.string().max(256), parameters: parametersSchema.optional() })).optional()
    .describe(`Which of ${V2_OUTPUTS.join(', ')} to return; all when left out`),
}).meta({ id: 'V2InferenceRequest' });
export type V2InferRequest = z.infer<typeof v2InferRequestSchema>;

const responseOutputSchema = z.object({
  name: z.enum(V2_OUTPUTS),
  shape: z.array(z.int()),
  datatype: z.enum(['FP32', 'INT64']),
  data: z.array(z.number()),
});
export const v2InferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string().optional(),
  id: z.string().optional(),
  outputs: z.array(responseOutputSchema),
}).meta({ id: 'V2InferenceResponse' });
export type V2InferResponse = z.infer<typeof v2InferResponseSchema>;

const metadataTensorSchema = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.int()).describe('-1 for a variable dimension') });
export const v2ModelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()).optional(),
  platform: z.string(),
  inputs: z.array(metadataTensorSchema),
  outputs: z.array(metadataTensorSchema),
}).meta({ id: 'V2ModelMetadata' });
export type V2ModelMetadata = z.infer<typeof v2ModelMetadataSchema>;

export const v2ServerMetadataSchema = z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) });
export const v2ErrorSchema = z.object({ error: z.string() }).meta({ id: 'V2Error' });
export const v2ModelParamsSchema = z.object({ name: z.string().min(1).max(128) });
export const v2VersionParamsSchema = v2ModelParamsSchema.extend({ version: z.string().regex(/^[1-9]\d{0,8}$/, 'must be a version number') });
