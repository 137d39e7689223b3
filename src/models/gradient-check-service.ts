import {
  DEFAULT_CHECKED_PARAMETERS, DEFAULT_GRADIENT_CHECK_BATCH, GRADIENT_CHECK_TOLERANCE, gradientCheckVerdict, resolveTrainingConfig,
  type TrainingConfig,
} from '../core/index.js';
import { shapeMismatch } from '../core/index.js';
import { datasetBlobKey } from '../data/dataset-service.js';
import type { DatasetRecord } from '../data/dataset-schema.js';
import type { DatasetStore } from '../data/dataset-store.js';
import { AppError } from '../errors.js';
import { asRequestError, checkParameterLimit } from './network-request.js';
import { readBlob, type BlobStore } from '../storage/blob-store.js';
import type { GradientCheckThreadInput, GradientCheckThreadMessage } from './gradient-check-messages.js';
import type { GradientCheckRequest, GradientCheckResponse } from './gradient-check-schema.js';
import { runThread } from './run-thread.js';

const GRADIENT_CHECK_THREAD_URL = new URL('./gradient-check-thread.js', import.meta.url);

export interface GradientCheckServiceDeps {
  datasets: DatasetStore;
  blobs: BlobStore;
  maxParameters: number;
}

/** Checks the core's backprop against finite differences on real samples, in a thread: a deep network takes seconds. */
export class GradientCheckService {
  constructor(private readonly deps: GradientCheckServiceDeps) {}

  async check(request: GradientCheckRequest): Promise<GradientCheckResponse> {
    const { datasetId, batchSize = DEFAULT_GRADIENT_CHECK_BATCH, sampleParameters = DEFAULT_CHECKED_PARAMETERS } = request;
    const dataset = await this.deps.datasets.get(datasetId);
    if (!dataset) throw new AppError('UNKNOWN_DATASET', `body.datasetId: no dataset has the id ${datasetId}; upload one with POST /datasets`, { field: 'datasetId' });
    checkParameterLimit(request.shape, this.deps.maxParameters);
    const config = resolveModel(request, dataset);
    const problem = shapeMismatch(config.shape, dataset);
    if (problem) throw new AppError('SHAPE_MISMATCH', `body.shape: ${problem}`, { field: 'shape' });

    const input: GradientCheckThreadInput = {
      dataset: Uint8Array.from(await readBlob(this.deps.blobs, datasetBlobKey(datasetId))),
      model: { shape: config.shape, activation: config.activation, outputActivation: config.outputActivation, loss: config.loss },
      init: config.init,
      seed: config.seed,
      batch: batchSize,
      sampleParameters,
    };
    const message = await runThread<GradientCheckThreadMessage>(GRADIENT_CHECK_THREAD_URL, input, [input.dataset.buffer as ArrayBuffer]);
    if (message.type === 'failed') throw new Error(`gradient check failed: ${message.message}`);
    const { result } = message;
    return {
      ...gradientCheckVerdict(result, batchSize),
      tolerance: GRADIENT_CHECK_TOLERANCE,
      maxRelativeError: result.maxRelativeError,
      layers: result.layers,
      checked: result.checked,
      batch: result.batch,
    };
  }
}

/**
 * The defaults a job with these fields would get: the head follows the shape and the init the
 * activation. Only the fields that shape the loss are passed, so the rest of the job's options
 * (and their limits) stay out of a gradient check.
 */
function resolveModel(request: GradientCheckRequest, dataset: DatasetRecord): TrainingConfig {
  const { shape, activation, outputActivation, loss, init, seed } = request;
  try {
    return resolveTrainingConfig({ shape, activation, outputActivation, loss, init, seed }, { trainCount: dataset.count, targetRange: dataset.targetRange }).config;
  } catch (error) {
    throw asRequestError(error);
  }
}
