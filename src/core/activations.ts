import type { FloatArray, HiddenActivationName } from './types.js';

/** Slope of leaky_relu for negative inputs. */
export const LEAKY_RELU_SLOPE = 0.01;

/**
 * A hidden-layer nonlinearity: a = f(z) forward, dZ = dA · f'(z) backward.
 * Backward reads z, not a, because dropout rescales a after the nonlinearity.
 * dZ and dA may be the same array.
 */
export interface HiddenActivation {
  readonly name: HiddenActivationName;
  /** Sigmoid and tanh saturate for large |z| and their gradient vanishes; relu units can die instead. */
  readonly family: 'saturating' | 'rectifier';
  forward(a: FloatArray, z: FloatArray, n: number): void;
  backward(dZ: FloatArray, dA: FloatArray, z: FloatArray, n: number): void;
}

/**
 * σ(z) = 1 / (1 + e^-z) without overflow: for z < 0, e^-z would overflow at z < -88 in
 * float32, so use the equal form e^z / (1 + e^z), whose exponent is then at most 1.
 */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

const sigmoidActivation: HiddenActivation = {
  name: 'sigmoid',
  family: 'saturating',
  forward(a, z, n) {
    for (let i = 0; i < n; i++) a[i] = sigmoid(z[i]);
  },
  backward(dZ, dA, z, n) {
    // σ'(z) = σ(z)(1 - σ(z))
    for (let i = 0; i < n; i++) {
      const s = sigmoid(z[i]);
      dZ[i] = dA[i] * s * (1 - s);
    }
  },
};

const tanhActivation: HiddenActivation = {
  name: 'tanh',
  family: 'saturating',
  forward(a, z, n) {
    for (let i = 0; i < n; i++) a[i] = Math.tanh(z[i]);
  },
  backward(dZ, dA, z, n) {
    // tanh'(z) = 1 - tanh²(z)
    for (let i = 0; i < n; i++) {
      const t = Math.tanh(z[i]);
      dZ[i] = dA[i] * (1 - t * t);
    }
  },
};

const reluActivation: HiddenActivation = {
  name: 'relu',
  family: 'rectifier',
  forward(a, z, n) {
    for (let i = 0; i < n; i++) {
      const v = z[i];
      a[i] = v > 0 ? v : 0;
    }
  },
  backward(dZ, dA, z, n) {
    for (let i = 0; i < n; i++) dZ[i] = z[i] > 0 ? dA[i] : 0;
  },
};

const leakyReluActivation: HiddenActivation = {
  name: 'leaky_relu',
  family: 'rectifier',
  forward(a, z, n) {
    for (let i = 0; i < n; i++) {
      const v = z[i];
      a[i] = v > 0 ? v : LEAKY_RELU_SLOPE * v;
    }
  },
  backward(dZ, dA, z, n) {
    for (let i = 0; i < n; i++) dZ[i] = z[i] > 0 ? dA[i] : LEAKY_RELU_SLOPE * dA[i];
  },
};

export const hiddenActivations: Record<HiddenActivationName, HiddenActivation> = {
  sigmoid: sigmoidActivation,
  tanh: tanhActivation,
  relu: reluActivation,
  leaky_relu: leakyReluActivation,
};
