import type { Network } from './network.js';
import type { FloatArray } from './types.js';

/**
 * Inference over a network's preallocated buffers. predict() copies one sample into
 * the input buffer and returns a view of the output row that is reused on every
 * call, so a single prediction allocates nothing once warmed up.
 */
export class Predictor {
  private readonly single: FloatArray;
  private results: Float32Array;

  constructor(readonly network: Network) {
    this.single = network.outputLayer.a.subarray(0, network.outputSize);
    this.results = new Float32Array(network.maxBatch * network.outputSize);
  }

  /** Outputs (probabilities for softmax/sigmoid heads) for one sample of 0..1 inputs; the returned buffer is reused. */
  predict(input: ArrayLike<number>): FloatArray {
    const { network } = this;
    const n = network.inputSize;
    const buffer = network.input;
    for (let i = 0; i < n; i++) buffer[i] = input[i];
    network.forward(1);
    return this.single;
  }

  /** Outputs for `count` samples stored row by row in `inputs`: (count, outputSize), in a reused buffer. */
  predictBatch(inputs: FloatArray, count: number): Float32Array {
    const { network } = this;
    const n = network.inputSize;
    const k = network.outputSize;
    if (this.results.length < count * k) this.results = new Float32Array(count * k);
    for (let start = 0; start < count; start += network.maxBatch) {
      const batch = Math.min(network.maxBatch, count - start);
      network.input.set(inputs.subarray(start * n, (start + batch) * n));
      const out = network.forward(batch);
      this.results.set(out.subarray(0, batch * k), start * k);
    }
    return this.results.subarray(0, count * k);
  }
}
