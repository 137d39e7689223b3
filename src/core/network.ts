import { hiddenActivation, type HiddenActivation } from './activations.js';
import type { Kernels } from './kernels.js';
import { referenceKernels } from './reference-kernels.js';
import { createOutputHead, type OutputHead } from './heads.js';
import type { Rng } from './rng.js';
import type { FloatArray, ModelConfig } from './types.js';

export interface NetworkOptions {
  kernels?: Kernels;
  /** Largest batch one forward pass takes; buffers are sized for it once. */
  maxBatch?: number;
  /** float64 is for gradient checks, with the reference kernels. */
  precision?: 'float32' | 'float64';
}

/** One dense layer: views into the network's shared buffers. */
export interface Layer {
  readonly inDim: number;
  readonly outDim: number;
  readonly weight: FloatArray; // (outDim, inDim)
  readonly bias: FloatArray; // (outDim)
  readonly dWeight: FloatArray;
  readonly dBias: FloatArray;
  readonly z: FloatArray; // (maxBatch, outDim) pre-activations
  readonly a: FloatArray; // (maxBatch, outDim) activations, after dropout while training
  /** Inverted-dropout multipliers, 0 or 1 / (1 - p), per (sample, unit); hidden layers only. */
  readonly dropoutMask: Float32Array | null;
}

export function parameterCount(shape: readonly number[]): number {
  let count = 0;
  for (let l = 1; l < shape.length; l++) count += shape[l - 1] * shape[l] + shape[l];
  return count;
}

export const DEFAULT_MAX_BATCH = 256;

/**
 * A multilayer perceptron over flat buffers, laid out like llm.c's parameters:
 * `params` holds every layer's weights, then every layer's biases, so L2 decay is
 * one loop over the first `weightCount` floats, and `grads` mirrors it exactly.
 */
export class Network {
  readonly config: ModelConfig;
  readonly kernels: Kernels;
  readonly precision: 'float32' | 'float64';
  readonly maxBatch: number;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly parameterCount: number;
  readonly weightCount: number;
  readonly params: FloatArray;
  readonly grads: FloatArray;
  readonly layers: readonly Layer[];
  /** (maxBatch, inputSize): callers write a batch here, then call forward. */
  readonly input: FloatArray;
  readonly activation: HiddenActivation;
  readonly head: OutputHead;
  /** Two (maxBatch, widest layer) buffers that backward alternates between for dZ and dA. */
  private readonly scratch: [FloatArray, FloatArray];

  constructor(config: ModelConfig, options: NetworkOptions = {}) {
    const { shape } = config;
    this.config = { ...config, shape: [...shape] };
    this.kernels = options.kernels ?? referenceKernels;
    this.precision = options.precision ?? 'float32';
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.inputSize = shape[0];
    this.outputSize = shape[shape.length - 1];
    this.activation = hiddenActivation(config.activation, this.kernels);
    this.head = createOutputHead(config.outputActivation, config.loss);
    this.parameterCount = parameterCount(shape);
    let weightCount = 0;
    let unitCount = 0;
    let widest = 0;
    for (let l = 1; l < shape.length; l++) {
      weightCount += shape[l - 1] * shape[l];
      unitCount += shape[l];
      widest = Math.max(widest, shape[l - 1], shape[l]);
    }
    this.weightCount = weightCount;

    // One allocation for everything the kernels touch: params, grads, input, z and a per layer, scratch.
    const batch = this.maxBatch;
    const total = 2 * this.parameterCount + batch * this.inputSize + 2 * batch * unitCount + 2 * batch * widest;
    const memory = this.precision === 'float64' ? new Float64Array(total) : this.kernels.allocate(total);
    let offset = 0;
    const take = (length: number): FloatArray => {
      const view = memory.subarray(offset, offset + length);
      offset += length;
      return view;
    };
    this.params = take(this.parameterCount);
    this.grads = take(this.parameterCount);
    this.input = take(batch * this.inputSize);
    this.scratch = [take(batch * widest), take(batch * widest)];

    const layers: Layer[] = [];
    let weightOffset = 0;
    let biasOffset = weightCount;
    for (let l = 1; l < shape.length; l++) {
      const inDim = shape[l - 1];
      const outDim = shape[l];
      const hidden = l < shape.length - 1;
      layers.push({
        inDim,
        outDim,
        weight: this.params.subarray(weightOffset, weightOffset + inDim * outDim),
        bias: this.params.subarray(biasOffset, biasOffset + outDim),
        dWeight: this.grads.subarray(weightOffset, weightOffset + inDim * outDim),
        dBias: this.grads.subarray(biasOffset, biasOffset + outDim),
        z: take(batch * outDim),
        a: take(batch * outDim),
        dropoutMask: hidden ? new Float32Array(batch * outDim) : null,
      });
      weightOffset += inDim * outDim;
      biasOffset += outDim;
    }
    this.layers = layers;
  }

  get outputLayer(): Layer {
    return this.layers[this.layers.length - 1];
  }

  /**
   * Forward pass over the first `batch` rows of `input`; returns the output layer's
   * activations (batch, outputSize). With dropout > 0 each hidden unit is kept with
   * probability 1 - p and scaled by 1 / (1 - p) (inverted dropout), so inference needs no rescaling.
   */
  forward(batch: number, dropout = 0, rng: Rng | null = null): FloatArray {
    const { kernels, layers, activation } = this;
    const { negativeSlope } = activation;
    let inp = this.input;
    const last = layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const layer = layers[l];
      const { z, a, weight, bias, inDim, outDim } = layer;
      const n = batch * outDim;
      if (l === last) {
        kernels.matmulForward(z, inp, weight, bias, batch, inDim, outDim);
        this.head.forward(a, z, batch, outDim);
      } else {
        if (negativeSlope !== null) kernels.matmulRectifierForward(z, a, inp, weight, bias, batch, inDim, outDim, negativeSlope);
        else {
          kernels.matmulForward(z, inp, weight, bias, batch, inDim, outDim);
          activation.forward(a, z, n);
        }
        if (dropout > 0 && rng && layer.dropoutMask) applyDropout(a, layer.dropoutMask, n, dropout, rng);
      }
      inp = a;
    }
    return this.outputLayer.a;
  }

  /**
   * Backward pass after forward(batch): writes the gradient of the batch's mean loss into
   * `grads`, over whatever they held, and returns that mean loss.
   */
  backward(target: FloatArray, batch: number, dropout = 0): number {
    const { kernels, layers, activation } = this;
    const { negativeSlope } = activation;
    const last = layers.length - 1;
    const output = layers[last];
    let dZ = this.scratch[0];
    let dA = this.scratch[1];
    const lossSum = this.head.lossAndGradient(dZ, output.z, output.a, target, batch, output.outDim);
    // The loss is the batch mean, so every per-sample gradient carries a factor 1 / batch.
    const scale = 1 / batch;
    const n = batch * output.outDim;
    for (let i = 0; i < n; i++) dZ[i] *= scale;

    for (let l = last; l >= 0; l--) {
      const layer = layers[l];
      const inp = l > 0 ? layers[l - 1].a : this.input;
      // Reverses z = inp · Wᵀ + b.
      kernels.matmulBackwardWeight(layer.dWeight, layer.dBias, dZ, inp, batch, layer.inDim, layer.outDim);
      if (l === 0) break;
      // Reverses a = mask ⊙ f(z) of the layer below: through the dropout mask, then through the nonlinearity.
      const below = layers[l - 1];
      const mask = dropout > 0 ? below.dropoutMask : null;
      if (negativeSlope !== null) {
        kernels.matmulRectifierBackwardInput(dA, dZ, layer.weight, below.z, mask, batch, layer.inDim, layer.outDim, negativeSlope);
      } else {
        kernels.matmulBackwardInput(dA, dZ, layer.weight, batch, layer.inDim, layer.outDim);
        const m = batch * below.outDim;
        if (mask) for (let i = 0; i < m; i++) dA[i] *= mask[i];
        activation.backward(dA, dA, below.z, m);
      }
      const swap = dZ;
      dZ = dA;
      dA = swap;
    }
    return lossSum * scale;
  }
}

function applyDropout(a: FloatArray, mask: Float32Array, n: number, p: number, rng: Rng): void {
  const keepScale = 1 / (1 - p);
  for (let i = 0; i < n; i++) {
    const m = rng.nextFloat() < p ? 0 : keepScale;
    mask[i] = m;
    a[i] *= m;
  }
}
