import type { Network } from './network.js';
import type { Rng } from './rng.js';
import type { InitConfig } from './types.js';

/**
 * Fills the weights and biases of a network.
 * - he: N(0, 2 / fanIn), for relu-family layers (He et al., 2015).
 * - xavier: uniform(±√(6 / (fanIn + fanOut))), for sigmoid and tanh (Glorot and Bengio, 2010).
 * - uniform(low, high): kept to reproduce hand-rolled setups, such as the classic
 *   all-positive uniform(0, 0.5) with bias 0.5 that saturates every sigmoid.
 * Layers are filled in order from one RNG, so a seed gives bit-identical weights.
 */
export function initializeParameters(network: Network, init: InitConfig, rng: Rng): void {
  const bias = init.bias ?? 0;
  for (const layer of network.layers) {
    const { weight, inDim, outDim } = layer;
    const n = weight.length;
    if (init.kind === 'he') {
      const std = Math.sqrt(2 / inDim);
      for (let i = 0; i < n; i++) weight[i] = rng.nextGaussian() * std;
    } else {
      const low = init.kind === 'xavier' ? -Math.sqrt(6 / (inDim + outDim)) : (init.low ?? -0.05);
      const high = init.kind === 'xavier' ? -low : (init.high ?? 0.05);
      const width = high - low;
      for (let i = 0; i < n; i++) weight[i] = low + rng.nextFloat() * width;
    }
    layer.bias.fill(bias);
  }
}
