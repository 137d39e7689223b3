import { FLOAT32_MAX, formatNumber, isFiniteFloat32, MAX_PIXEL } from '../core/index.js';
import { AppError } from '../errors.js';
import {
  FLOAT_DATATYPES, INTEGER_DATATYPES, V2_INPUT, V2_OUTPUTS,
  type V2InferRequest, type V2InferResponse, type V2ModelMetadata,
} from './inference-v2-schema.js';
import { MAX_PREDICT_BATCH } from './model-schema.js';
import type { ModelService } from './model-service.js';

/** What the v2 routes' URLs name: a model id, a registered name (or "name@alias"), and maybe a version. */
export interface V2ModelRef {
  name: string;
  version?: string;
}

const PLATFORM = 'mlp-service';

const invalid = (message: string, field: string) => new AppError('VALIDATION_FAILED', message, { field });

/** The tensor's values in row-major order, whether sent flat or nested as the shape. */
function flatten(data: unknown[]): unknown[] {
  return data.some(Array.isArray) ? data.flat(Infinity) : data;
}

/**
 * The Open Inference Protocol (KServe v2) in front of the models: metadata of the one input tensor
 * ("input", [N, width]) and the two outputs ("probabilities" FP32 [N, classes], "label" INT64 [N]),
 * and inference. A UINT8 input holds 0..255 pixels and is scaled as POST /predict scales them;
 * float inputs are taken as the model's own inputs (0..1 pixels for an image model).
 */
export class InferenceV2 {
  constructor(private readonly models: ModelService) {}

  private async modelId(ref: V2ModelRef): Promise<string> {
    if (ref.version !== undefined && ref.name.startsWith('mdl_')) {
      throw new AppError('MODEL_NOT_FOUND', `model ${ref.name} is an id, which has no versions; registered names have them (GET /models/:name/versions)`, { model: ref.name });
    }
    return this.models.resolve(ref.version === undefined ? ref.name : `${ref.name}/${ref.version}`);
  }

  async metadata(ref: V2ModelRef): Promise<V2ModelMetadata> {
    const { record, inputSize, outputSize } = await this.models.loadedShape(await this.modelId(ref));
    const versions = record.registered ? (await this.models.versions(record.registered.name)).versions.map(({ version }) => String(version)) : undefined;
    return {
      name: ref.name,
      ...(versions && { versions }),
      platform: PLATFORM,
      inputs: [{ name: V2_INPUT, datatype: record.inputKind === 'bytes' ? 'UINT8' : 'FP32', shape: [-1, inputSize] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, outputSize] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    };
  }

  async ready(ref: V2ModelRef): Promise<{ name: string; ready: boolean }> {
    await this.models.loadedShape(await this.modelId(ref));
    return { name: ref.name, ready: true };
  }

  async infer(ref: V2ModelRef, request: V2InferRequest): Promise<V2InferResponse> {
    const id = await this.modelId(ref);
    const { record, inputSize } = await this.models.loadedShape(id);
    if (request.inputs.length !== 1) throw invalid(`the model takes one input tensor, "${V2_INPUT}"; the request has ${request.inputs.length}`, 'inputs');
    const [input] = request.inputs;
    if (input.name !== V2_INPUT) throw invalid(`the model's input tensor is "${V2_INPUT}", not "${input.name}"`, 'inputs[0].name');
    const wanted = request.outputs?.map(({ name }) => name) ?? [...V2_OUTPUTS];
    const unknown = wanted.find((name) => !(V2_OUTPUTS as readonly string[]).includes(name));
    if (unknown !== undefined) throw invalid(`the model has no output "${unknown}"; it has ${V2_OUTPUTS.join(' and ')}`, 'outputs');

    const { rows, count } = this.rows(input, inputSize, record.inputKind === 'bytes');
    const { outputs, labels } = await this.models.predictRows(id, rows, count, (row) => `inputs[0].data, sample ${row}`);
    const classes = outputs.length / count;
    const tensors = {
      probabilities: { name: 'probabilities' as const, shape: [count, classes], datatype: 'FP32' as const, data: Array.from(outputs) },
      label: { name: 'label' as const, shape: [count], datatype: 'INT64' as const, data: labels },
    };
    return {
      model_name: ref.name,
      ...(record.registered && { model_version: String(record.registered.version) }),
      ...(request.id !== undefined && { id: request.id }),
      outputs: wanted.map((name) => tensors[name as keyof typeof tensors]),
    };
  }

  /** Checks the tensor against its shape, its datatype and the model's width, and scales it. */
  private rows(input: V2InferRequest['inputs'][number], inputSize: number, byteImages: boolean): { rows: Float32Array; count: number } {
    const { shape, datatype } = input;
    const [count, width] = shape.length === 2 ? shape : [1, shape[0]];
    if (width !== inputSize) throw invalid(`inputs[0].shape: the model takes ${inputSize} values per sample; the shape says ${width}`, 'inputs[0].shape');
    if (count < 1 || count > MAX_PREDICT_BATCH) throw invalid(`inputs[0].shape: a batch holds 1 to ${MAX_PREDICT_BATCH} samples; the shape says ${count}`, 'inputs[0].shape');
    const integer = INTEGER_DATATYPES.includes(datatype);
    if (!integer && !FLOAT_DATATYPES.includes(datatype)) {
      throw invalid(`inputs[0].datatype: ${datatype} is not taken; send FP32, FP64 or a whole-number type such as UINT8 (0..255 pixels)`, 'inputs[0].datatype');
    }
    const values = flatten(input.data);
    if (values.length !== count * width) throw invalid(`inputs[0].data has ${values.length} values; shape [${shape.join(', ')}] needs ${count * width}`, 'inputs[0].data');
    const pixels = datatype === 'UINT8';
    const factor = pixels && byteImages ? 1 / MAX_PIXEL : 1;
    const rows = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (typeof value !== 'number' || !isFiniteFloat32(value) || (integer && !Number.isInteger(value)) || (pixels && (value < 0 || value > MAX_PIXEL))) {
        throw invalid(`inputs[0].data[${i}] is ${JSON.stringify(value)}, not ${pixels ? `a whole number from 0 to ${MAX_PIXEL}` : `a ${integer ? 'whole ' : ''}number within ±${formatNumber(FLOAT32_MAX)}`} as ${datatype} needs`, 'inputs[0].data');
      }
      rows[i] = value * factor;
    }
    return { rows, count };
  }
}
