import { sigmoid } from './activations.js';
import type { FloatArray, LossName, OutputActivationName } from './types.js';

/**
 * The output layer's nonlinearity and the loss, as one value (like the cost classes
 * of Nielsen's network2.py): pairing them lets each pair use its stable, fused form.
 * Rows are samples: z, a, target and dZ are (batch, k).
 */
export interface OutputHead {
  readonly activation: OutputActivationName;
  readonly loss: LossName;
  forward(a: FloatArray, z: FloatArray, batch: number, k: number): void;
  /** Returns the loss summed over the batch and writes dZ = ∂(summed loss)/∂z. */
  lossAndGradient(dZ: FloatArray, z: FloatArray, a: FloatArray, target: FloatArray, batch: number, k: number): number;
}

function softmaxForward(a: FloatArray, z: FloatArray, batch: number, k: number): void {
  for (let b = 0; b < batch; b++) {
    const row = b * k;
    // Subtracting the row max leaves softmax unchanged and keeps every exponent ≤ 0, so exp cannot overflow.
    let max = -Infinity;
    for (let j = 0; j < k; j++) if (z[row + j] > max) max = z[row + j];
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp(z[row + j] - max);
      a[row + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < k; j++) a[row + j] *= inv;
  }
}

function sigmoidForward(a: FloatArray, z: FloatArray, batch: number, k: number): void {
  const n = batch * k;
  for (let i = 0; i < n; i++) a[i] = sigmoid(z[i]);
}

function linearForward(a: FloatArray, z: FloatArray, batch: number, k: number): void {
  const n = batch * k;
  for (let i = 0; i < n; i++) a[i] = z[i];
}

const softmaxCrossEntropy: OutputHead = {
  activation: 'softmax',
  loss: 'cross_entropy',
  forward: softmaxForward,
  lossAndGradient(dZ, z, a, target, batch, k) {
    // L = Σ_j y_j (logsumexp(z) - z_j), computed from the logits so a probability that
    // rounds to 0 never reaches log. Fused gradient: ∂L/∂z_j = p_j Σ_i y_i - y_j, which is p - y for one-hot y.
    let total = 0;
    for (let b = 0; b < batch; b++) {
      const row = b * k;
      let max = -Infinity;
      for (let j = 0; j < k; j++) if (z[row + j] > max) max = z[row + j];
      let sumExp = 0;
      for (let j = 0; j < k; j++) sumExp += Math.exp(z[row + j] - max);
      const logSumExp = max + Math.log(sumExp);
      let targetSum = 0;
      for (let j = 0; j < k; j++) {
        const y = target[row + j];
        targetSum += y;
        if (y !== 0) total += y * (logSumExp - z[row + j]);
      }
      for (let j = 0; j < k; j++) dZ[row + j] = a[row + j] * targetSum - target[row + j];
    }
    return total;
  },
};

const sigmoidCrossEntropy: OutputHead = {
  activation: 'sigmoid',
  loss: 'cross_entropy',
  forward: sigmoidForward,
  lossAndGradient(dZ, z, a, target, batch, k) {
    // L = -[y log σ(z) + (1 - y) log(1 - σ(z))] = max(z, 0) - z y + log(1 + e^-|z|),
    // the form that neither overflows nor takes log(0). Fused gradient: ∂L/∂z = σ(z) - y.
    const n = batch * k;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const v = z[i];
      const y = target[i];
      total += (v > 0 ? v : 0) - v * y + Math.log1p(Math.exp(-Math.abs(v)));
      dZ[i] = a[i] - y;
    }
    return total;
  },
};

/** L = ½ Σ_j (a_j - y_j)², the "total net error"; ∂L/∂a = a - y, then back through the output nonlinearity. */
function meanSquaredHead(activation: OutputActivationName): OutputHead {
  const forward = activation === 'softmax' ? softmaxForward : activation === 'sigmoid' ? sigmoidForward : linearForward;
  const backThroughActivation =
    activation === 'softmax' ? softmaxVectorJacobian : activation === 'sigmoid' ? sigmoidVectorJacobian : null;
  return {
    activation,
    loss: 'mse',
    forward,
    lossAndGradient(dZ, z, a, target, batch, k) {
      const n = batch * k;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const diff = a[i] - target[i];
        total += 0.5 * diff * diff;
        dZ[i] = diff;
      }
      if (backThroughActivation) backThroughActivation(dZ, a, batch, k);
      return total;
    },
  };
}

/** In place, dA → dZ for a = σ(z): σ'(z) = a(1 - a). */
function sigmoidVectorJacobian(d: FloatArray, a: FloatArray, batch: number, k: number): void {
  const n = batch * k;
  for (let i = 0; i < n; i++) d[i] *= a[i] * (1 - a[i]);
}

/** In place, dA → dZ for a = softmax(z): ∂L/∂z_i = a_i (∂L/∂a_i - Σ_j ∂L/∂a_j a_j). */
function softmaxVectorJacobian(d: FloatArray, a: FloatArray, batch: number, k: number): void {
  for (let b = 0; b < batch; b++) {
    const row = b * k;
    let dot = 0;
    for (let j = 0; j < k; j++) dot += d[row + j] * a[row + j];
    for (let j = 0; j < k; j++) d[row + j] = a[row + j] * (d[row + j] - dot);
  }
}

/** The head for an output activation and loss; cross-entropy needs probabilities, so not a linear output. */
export function createOutputHead(activation: OutputActivationName, loss: LossName): OutputHead {
  if (loss === 'mse') return meanSquaredHead(activation);
  if (activation === 'softmax') return softmaxCrossEntropy;
  if (activation === 'sigmoid') return sigmoidCrossEntropy;
  throw new RangeError('cross_entropy needs a softmax or sigmoid output, not linear');
}
