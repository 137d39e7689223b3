import { LRUCache } from 'lru-cache';
import type { Readable } from 'node:stream';
import { beyondProbabilities, BEYOND_FLOAT32, formatNumber, isFiniteFloat32, loadNetwork, MAX_PIXEL, predictedClass, Predictor, shapeMismatch, type FloatArray } from '../core/index.js';
import { chooseKernels } from '../kernels/choose-kernels.js';
import { datasetBlobKey } from '../data/dataset-service.js';
import type { DatasetStore } from '../data/dataset-store.js';
import { AppError } from '../errors.js';
import type { PageQuery } from '../storage/paging.js';
import { readBlob, type BlobStore } from '../storage/blob-store.js';
import type { EvaluationThreadInput } from './evaluation-messages.js';
import type { EvaluationPool } from './evaluation-pool.js';
import type {
  EvaluateRequest, EvaluationResult, ModelRecord, PixelScale, Prediction, PredictRequest, PredictResponse, RegisteredModel,
} from './model-schema.js';
import { toJson, toOnnx } from './model-export.js';
import type { ModelStore } from './model-store.js';

/** The dataset an evaluation reads, the request field that chose it, and the share of it to use. */
interface EvaluationSource {
  datasetId: string;
  field: 'datasetId' | 'split';
  heldOut: EvaluationThreadInput['heldOut'];
}

interface LoadedModel {
  record: ModelRecord;
  predictor: Predictor;
  /** One sample's scaled inputs, reused by every single prediction. */
  sample: Float32Array;
  /** Frees the model's kernels (its WebAssembly memory) when it leaves the cache. */
  dispose(): void;
}

export interface ModelServiceDeps {
  models: ModelStore;
  datasets: DatasetStore;
  blobs: BlobStore;
  evaluations: EvaluationPool;
  /** Told how long each prediction took, for the metrics. */
  observePredict(kind: 'single' | 'batch', seconds: number): void;
  cacheSize: number;
}

/** The class the core would score as predicted (argmax, or a single output above one half), with the outputs. */
function prediction(outputs: FloatArray, offset: number, size: number): Prediction {
  return { label: predictedClass(outputs, offset, size), probabilities: Array.from(outputs.subarray(offset, offset + size)) };
}

/**
 * Refuses outputs that are not numbers: inputs far outside what the model was trained on (values
 * in the 1e38s, say) overflow its float32 sums, and a label from NaN would be a guess.
 */
function checkFinite(outputs: FloatArray, count: number, outputSize: number, where: (row: number) => string): void {
  for (let i = 0; i < count * outputSize; i++) {
    if (Number.isFinite(outputs[i])) continue;
    const row = Math.floor(i / outputSize);
    throw new AppError('PREDICTION_OVERFLOWED', `${where(row)}: the model's sums overflowed float32 for these values; they lie far outside the range it was trained on`, { row });
  }
}

/**
 * Multiplier that brings the request's values to what the model was trained on. Byte-trained
 * models saw pixels / 255: values are read as 0..255 when the request says so or when any is
 * above 1, else as 0..1. Float-trained models take values as they are.
 */
function inputScale(record: ModelRecord, values: readonly (readonly number[])[], field: string, scale: PixelScale | undefined): number {
  if (record.inputKind === 'floats') {
    if (scale) throw new AppError('VALIDATION_FAILED', `body.scale: model ${record.id} was trained on raw values; send them as they are, without scale`, { field: 'scale' });
    values.forEach((row, index) => {
      const out = row.find((value) => !isFiniteFloat32(value));
      if (out !== undefined) {
        const where = values.length === 1 && field === 'pixels' ? field : `${field}[${index}]`;
        throw new AppError('INPUT_OUT_OF_RANGE', `body.${where}: ${out} is ${BEYOND_FLOAT32}`, { field });
      }
    });
    return 1;
  }
  let max = 0;
  let min = 0;
  for (const row of values) {
    for (const value of row) {
      if (value > max) max = value;
      if (value < min) min = value;
    }
  }
  const limit = scale === '0-1' || (scale === undefined && max <= 1) ? 1 : MAX_PIXEL;
  if (min < 0 || max > limit) {
    throw new AppError('INPUT_OUT_OF_RANGE', `body.${field}: values must be within 0..${limit}${scale ? ` for scale ${scale}` : ''}; got ${min < 0 ? min : max}`, { field });
  }
  return limit === MAX_PIXEL ? 1 / MAX_PIXEL : 1;
}

function checkLength(row: readonly number[], inputSize: number, field: string): void {
  if (row.length !== inputSize) {
    throw new AppError('INPUT_SIZE_MISMATCH', `body.${field} has ${row.length} values; the model takes ${inputSize}`, { field, expected: inputSize, received: row.length });
  }
}

/** Listing, downloading, deleting and evaluating models, and predicting from an in-memory cache of them. */
/** Evaluations kept: a model and a dataset never change, so neither does an evaluation of one on the other. */
const EVALUATIONS_CACHED = 256;

export class ModelService {
  private readonly cache: LRUCache<string, LoadedModel>;
  private readonly evaluations = new LRUCache<string, EvaluationResult>({ max: EVALUATIONS_CACHED });

  constructor(private readonly deps: ModelServiceDeps) {
    this.cache = new LRUCache<string, LoadedModel>({
      max: deps.cacheSize,
      dispose: (model) => model.dispose(),
      fetchMethod: (id) => this.load(id),
    });
  }

  list(query: PageQuery) {
    return this.deps.models.list(query.limit, query.cursor);
  }

  async get(id: string): Promise<ModelRecord> {
    const record = await this.deps.models.get(id);
    if (!record) throw new AppError('MODEL_NOT_FOUND', `No model has the id ${id}`, { id });
    return record;
  }

  async snapshot(id: string): Promise<{ record: ModelRecord; stream: Readable }> {
    const record = await this.get(id);
    return { record, stream: await this.deps.models.snapshotStream(id) };
  }

  /** The model in a standard format: ONNX bytes, or its shapes and weights as JSON. */
  async exportOnnx(id: string): Promise<{ record: ModelRecord; bytes: Uint8Array }> {
    const record = await this.get(id);
    return { record, bytes: toOnnx(record, await this.deps.models.snapshot(id)) };
  }

  async exportJson(id: string) {
    const record = await this.get(id);
    return toJson(record, await this.deps.models.snapshot(id));
  }

  /** Refused while an alias points at the model; otherwise its version, its job's link and its dataset's link go with it. */
  async delete(id: string): Promise<void> {
    const outcome = await this.deps.models.delete(await this.get(id));
    if (outcome.kind === 'missing') throw new AppError('MODEL_NOT_FOUND', `No model has the id ${id}`, { id });
    if (outcome.kind === 'aliased') {
      const record = await this.get(id);
      const name = record.registered?.name ?? '';
      throw new AppError('MODEL_IN_USE', `model ${id} is ${name} version ${record.registered?.version}, and the alias "${outcome.alias}" points at it; move or delete the alias first (PUT or DELETE /models/${name}/aliases/${outcome.alias})`, { alias: outcome.alias });
    }
    this.cache.delete(id);
  }

  /** A registered name's versions, oldest first, each with its model and aliases. */
  async versions(name: string): Promise<RegisteredModel> {
    const versions = await this.deps.models.versions(name);
    if (!versions) throw new AppError('MODEL_NOT_FOUND', `No model is registered as "${name}"; a job with registerAs: "${name}" registers one`, { name });
    const models = await Promise.all(versions.map(({ modelId }) => this.get(modelId)));
    return { name, versions: versions.map((version, i) => ({ ...version, model: models[i] })) };
  }

  async setAlias(name: string, alias: string, version: number) {
    if (!(await this.deps.models.setAlias(name, alias, version))) {
      throw new AppError('MODEL_NOT_FOUND', `"${name}" has no version ${version}; GET /models/${name}/versions lists them`, { name, version });
    }
    return { name, alias, version, modelId: (await this.deps.models.modelIdOf(name, version))! };
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    if (!(await this.deps.models.deleteAlias(name, alias))) throw new AppError('MODEL_NOT_FOUND', `"${name}" has no alias "${alias}"`, { name, alias });
  }

  /** The model id a reference names: an id as it is, "name" its newest version, "name@alias" or "name/3". */
  async resolve(ref: string): Promise<string> {
    if (ref.startsWith('mdl_')) return ref;
    const { models } = this.deps;
    const [, name, alias, version] = /^([^@/]+)(?:@(.+)|\/(\d+))?$/.exec(ref) ?? [];
    let id: string | null;
    if (alias !== undefined) {
      const aliased = await models.aliasVersion(name, alias);
      id = aliased === null ? null : await models.modelIdOf(name, aliased);
    } else if (version !== undefined) {
      id = await models.modelIdOf(name, Number(version));
    } else {
      id = (await models.versions(name))?.at(-1)?.modelId ?? null;
    }
    if (!id) throw new AppError('MODEL_NOT_FOUND', `No model is registered as "${ref}"; GET /models/${name}/versions lists what there is`, { model: ref });
    return id;
  }

  /**
   * The first request for a model reads its snapshot (concurrent ones share that read); later
   * ones never touch the disk. Each model gets single-threaded kernels of its own (WebAssembly
   * SIMD where the runtime has it), so its memory goes when it leaves the cache.
   */
  private async loaded(id: string): Promise<LoadedModel> {
    const model = await this.cache.fetch(id);
    if (!model) throw new AppError('MODEL_NOT_FOUND', `No model has the id ${id}`, { id });
    return model;
  }

  private async load(id: string): Promise<LoadedModel> {
    const record = await this.get(id);
    const snapshot = await this.deps.models.snapshot(id);
    const kernels = await chooseKernels({ threads: 1 });
    const network = loadNetwork(snapshot, { kernels: kernels.kernels });
    return { record, predictor: new Predictor(network), sample: new Float32Array(network.inputSize), dispose: kernels.dispose };
  }

  /** Lets go of every cached model and the evaluation threads. */
  async close(): Promise<void> {
    this.cache.clear();
    await this.deps.evaluations.close();
  }

  async predict(request: PredictRequest): Promise<PredictResponse> {
    const model = await this.loaded(request.modelId ?? (await this.resolve(request.model!)));
    const started = performance.now();
    const { inputSize, outputSize } = model.predictor.network;
    const { pixels, inputs = [] } = request;
    if (pixels) {
      checkLength(pixels, inputSize, 'pixels');
      const factor = inputScale(model.record, [pixels], 'pixels', request.scale);
      for (let i = 0; i < inputSize; i++) model.sample[i] = pixels[i] * factor;
      const outputs = model.predictor.predict(model.sample);
      checkFinite(outputs, 1, outputSize, () => 'body.pixels');
      const result = { modelId: model.record.id, ...prediction(outputs, 0, outputSize) };
      this.deps.observePredict('single', (performance.now() - started) / 1000);
      return result;
    }
    inputs.forEach((row, index) => checkLength(row, inputSize, `inputs[${index}]`));
    const factor = inputScale(model.record, inputs, 'inputs', request.scale);
    const count = inputs.length;
    const batch = new Float32Array(count * inputSize);
    inputs.forEach((row, index) => {
      for (let i = 0; i < inputSize; i++) batch[index * inputSize + i] = row[i] * factor;
    });
    const outputs = model.predictor.predictBatch(batch, count);
    checkFinite(outputs, count, outputSize, (row) => `body.inputs[${row}]`);
    const predictions = Array.from({ length: count }, (_, index) => prediction(outputs, index * outputSize, outputSize));
    this.deps.observePredict('batch', (performance.now() - started) / 1000);
    return { modelId: model.record.id, predictions };
  }

  /**
   * Runs `count` rows of model inputs, already scaled as the model was trained, through the model;
   * answers the output rows and the class each predicts. For callers that read their own formats,
   * which say where a row came from with `where`, for an error.
   */
  async predictRows(id: string, rows: Float32Array, count: number, where: (row: number) => string): Promise<{ record: ModelRecord; outputs: Float32Array; labels: number[] }> {
    const model = await this.loaded(id);
    const started = performance.now();
    const { outputSize } = model.predictor.network;
    const outputs = Float32Array.from(model.predictor.predictBatch(rows, count).subarray(0, count * outputSize));
    checkFinite(outputs, count, outputSize, where);
    const labels = Array.from({ length: count }, (_, row) => predictedClass(outputs, row * outputSize, outputSize));
    this.deps.observePredict('batch', (performance.now() - started) / 1000);
    return { record: model.record, outputs, labels };
  }

  /** The model's shape without running it, for metadata; loading it also proves it can serve. */
  async loadedShape(id: string): Promise<{ record: ModelRecord; inputSize: number; outputSize: number }> {
    const model = await this.loaded(id);
    return { record: model.record, inputSize: model.predictor.network.inputSize, outputSize: model.predictor.network.outputSize };
  }

  /** Runs in the evaluation pool: a large dataset takes seconds, which the event loop must not. */
  async evaluate(id: string, request: EvaluateRequest): Promise<EvaluationResult> {
    const record = await this.get(id);
    const source: EvaluationSource = request.datasetId === undefined
      ? validationSource(record)
      : { datasetId: request.datasetId, field: 'datasetId', heldOut: null };
    const dataset = await this.deps.datasets.get(source.datasetId);
    if (!dataset) throw new AppError('UNKNOWN_DATASET', `body.${source.field}: no dataset has the id ${source.datasetId}`, { field: source.field });
    const probabilities = record.config.outputActivation !== 'linear';
    const targets = dataset.targetRange;
    if (probabilities && targets && beyondProbabilities(targets)) {
      throw new AppError(
        'SHAPE_MISMATCH',
        `body.${source.field}: model ${id} gives ${record.config.outputActivation} probabilities in 0..1, but the targets of dataset ${dataset.id} run from ${formatNumber(targets.min)} to ${formatNumber(targets.max)}; its loss there would mean nothing`,
        { field: source.field },
      );
    }
    if (shapeMismatch(record.shape, dataset)) {
      const answers = dataset.numClasses === null ? `${dataset.targetSize} target values` : `${dataset.numClasses} classes`;
      throw new AppError(
        'SHAPE_MISMATCH',
        `body.${source.field}: model ${id} has shape [${record.shape.join(', ')}], but dataset ${dataset.id} has ${dataset.inputSize} values per sample and ${answers}; evaluate the model on data shaped like the data it was trained on (dataset ${record.datasetId})`,
        { field: source.field },
      );
    }

    const key = `${id}/${source.datasetId}/${source.heldOut ? `${source.heldOut.fraction}/${source.heldOut.trainingSeed}` : 'all'}`;
    const cached = this.evaluations.get(key);
    if (cached) return cached;
    const input: EvaluationThreadInput = {
      model: Uint8Array.from(await this.deps.models.snapshot(id)),
      dataset: Uint8Array.from(await readBlob(this.deps.blobs, datasetBlobKey(source.datasetId))),
      heldOut: source.heldOut,
    };
    const evaluation = await this.deps.evaluations.run(input);
    if (!Number.isFinite(evaluation.loss)) {
      throw new AppError(
        'PREDICTION_OVERFLOWED',
        `body.${source.field}: the model's sums overflowed float32 on dataset ${source.datasetId}; its values lie far outside the range the model was trained on`,
        { field: source.field },
      );
    }
    this.evaluations.set(key, evaluation);
    return evaluation;
  }
}

/** What the model's job validated on: its validation dataset, or the share of its training dataset it held out. */
function validationSource(record: ModelRecord): EvaluationSource {
  if (record.validation) return { ...record.validation, field: 'split' };
  throw new AppError('NO_VALIDATION_DATA', `body.split: job ${record.jobId}, which trained model ${record.id}, held out no validation data; evaluate on a datasetId instead`, { field: 'split' });
}
