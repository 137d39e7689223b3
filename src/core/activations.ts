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
  /** A rectifier's slope for z ≤ 0 (0 for relu), which the network fuses into its products; null for sigmoid and tanh. */
  readonly negativeSlope: number | null;
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
  negativeSlope: null,
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
  negativeSlope: null,
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

/**
 * The rectifier loops, relu (negativeSlope 0) and leaky_relu, are the hot elementwise work
 * of a relu network: a backend may run them in SIMD. The loops below are the reference.
 * For relu a negative z gives -0, which every later sum treats as 0.
 */
export interface RectifierKernels {
  /** a = z > 0 ? z : negativeSlope·z, over the first n floats. */
  rectifierForward(a: FloatArray, z: FloatArray, n: number, negativeSlope: number): void;
  /** dZ = z > 0 ? dA : negativeSlope·dA, over the first n floats; dZ and dA may be the same array. */
  rectifierBackward(dZ: FloatArray, dA: FloatArray, z: FloatArray, n: number, negativeSlope: number): void;
}

export const referenceRectifierKernels: RectifierKernels = {
  rectifierForward(a, z, n, negativeSlope) {
    for (let i = 0; i < n; i++) {
      const v = z[i];
      a[i] = v > 0 ? v : negativeSlope * v;
    }
  },
  rectifierBackward(dZ, dA, z, n, negativeSlope) {
    for (let i = 0; i < n; i++) dZ[i] = z[i] > 0 ? dA[i] : negativeSlope * dA[i];
  },
};

function rectifier(name: 'relu' | 'leaky_relu', negativeSlope: number, kernels: RectifierKernels): HiddenActivation {
  return {
    name,
    family: 'rectifier',
    negativeSlope,
    forward: (a, z, n) => kernels.rectifierForward(a, z, n, negativeSlope),
    backward: (dZ, dA, z, n) => kernels.rectifierBackward(dZ, dA, z, n, negativeSlope),
  };
}

/** The activation for a hidden layer, with its loops bound to the backend's kernels once. */
export function hiddenActivation(name: HiddenActivationName, kernels: RectifierKernels = referenceRectifierKernels): HiddenActivation {
  if (name === 'sigmoid') return sigmoidActivation;
  if (name === 'tanh') return tanhActivation;
  return rectifier(name, name === 'relu' ? 0 : LEAKY_RELU_SLOPE, kernels);
}
