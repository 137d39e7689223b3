import type { Kernels } from './kernels.js';
import { initializeParameters } from './init.js';
import { Network } from './network.js';
import { Rng } from './rng.js';
import type { InitConfig, ModelConfig } from './types.js';

export interface GradientCheckOptions {
  init: InitConfig;
  seed?: number;
  batch?: number;
  /** Check at most this many parameters, drawn at random; every parameter when omitted. */
  sampleParameters?: number;
  /** Finite-difference step h. */
  epsilon?: number;
  /** Kernels to check; they must accept float64 arrays. Defaults to the reference kernels. */
  kernels?: Kernels;
}

export interface GradientCheckResult {
  /** max over checked parameters of |analytic - numeric| / max(|analytic| + |numeric|, 1e-8). */
  maxRelativeError: number;
  worst: { parameter: number; layer: number; kind: 'weight' | 'bias'; analytic: number; numeric: number };
  checked: number;
}

/**
 * Compares backprop's gradient with the five-point central difference
 *   (8·(L(w+h) - L(w-h)) - (L(w+2h) - L(w-2h))) / 12h,
 * whose truncation error is O(h⁴) rather than O(h²), on a float64 copy of the network and
 * a random batch. With h = 1e-3 both truncation and rounding stay near 1e-12, so even
 * gradients of 1e-6 (behind a leaky relu's 0.01 slope) are checked to 1e-6 relative error. Targets match the head: one-hot classes for softmax, 0/1 for
 * sigmoid with cross-entropy, and real values for mse.
 */
export function gradientCheck(config: ModelConfig, options: GradientCheckOptions): GradientCheckResult {
  const { seed = 7, batch = 4, epsilon = 1e-3 } = options;
  const rng = new Rng(seed);
  const network = new Network(config, { precision: 'float64', maxBatch: batch, kernels: options.kernels });
  initializeParameters(network, options.init, rng);
  const inputSize = network.inputSize;
  const k = network.outputSize;
  for (let i = 0; i < batch * inputSize; i++) network.input[i] = rng.nextFloat();
  const target = new Float64Array(batch * k);
  for (let b = 0; b < batch; b++) {
    if (config.outputActivation === 'softmax' && config.loss === 'cross_entropy') target[b * k + rng.nextInt(k)] = 1;
    else for (let j = 0; j < k; j++) target[b * k + j] = config.loss === 'cross_entropy' ? rng.nextInt(2) : rng.nextFloat();
  }
  const lossAt = (): number => {
    network.forward(batch);
    return network.backward(target, batch);
  };

  network.zeroGradients();
  lossAt();
  const analytic = Float64Array.from(network.grads);

  const total = network.parameterCount;
  const indices = options.sampleParameters && options.sampleParameters < total
    ? Array.from({ length: options.sampleParameters }, () => rng.nextInt(total))
    : Array.from({ length: total }, (_, i) => i);
  const params = network.params;
  let worst: GradientCheckResult['worst'] = { parameter: -1, layer: 0, kind: 'weight', analytic: 0, numeric: 0 };
  let maxRelativeError = 0;
  for (const p of indices) {
    const saved = params[p];
    const lossWith = (offset: number): number => {
      params[p] = saved + offset;
      return lossAt();
    };
    const near = lossWith(epsilon) - lossWith(-epsilon);
    const far = lossWith(2 * epsilon) - lossWith(-2 * epsilon);
    params[p] = saved;
    const numeric = (8 * near - far) / (12 * epsilon);
    const error = Math.abs(analytic[p] - numeric) / Math.max(Math.abs(analytic[p]) + Math.abs(numeric), 1e-8);
    if (error > maxRelativeError || worst.parameter < 0) {
      maxRelativeError = Math.max(maxRelativeError, error);
      worst = { parameter: p, ...locate(network, p), analytic: analytic[p], numeric };
    }
  }
  return { maxRelativeError, worst, checked: indices.length };
}

function locate(network: Network, parameter: number): { layer: number; kind: 'weight' | 'bias' } {
  let weights = 0;
  let biases = network.weightCount;
  for (let l = 0; l < network.layers.length; l++) {
    const layer = network.layers[l];
    if (parameter >= weights && parameter < weights + layer.weight.length) return { layer: l + 1, kind: 'weight' };
    if (parameter >= biases && parameter < biases + layer.bias.length) return { layer: l + 1, kind: 'bias' };
    weights += layer.weight.length;
    biases += layer.bias.length;
  }
  throw new RangeError(`parameter ${parameter} is outside the network`);
}
