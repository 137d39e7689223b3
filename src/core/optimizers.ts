import type { FloatArray, OptimizerName } from './types.js';

export interface OptimizerSettings {
  /** Momentum for momentum and nesterov; β1 for adam. */
  momentum: number;
  /** L2 weight decay coefficient λ. */
  l2: number;
  /** The parameters are all weights first, then all biases: the first weightCount are decayed. */
  weightCount: number;
}

/**
 * An update rule over the flat parameter buffer. Its state (velocity, or Adam's m and v)
 * is `stateSlots` buffers that mirror the parameter layout, so a step is one flat loop.
 */
export interface Optimizer {
  readonly name: OptimizerName;
  readonly stateSlots: number;
  /** `t` counts steps from 1 (Adam's bias correction needs it). */
  step(params: FloatArray, grads: FloatArray, state: FloatArray[], learningRate: number, t: number): void;
}

/**
 * The flat loops of the update rules below, each one pass over the parameters with L2 weight
 * decay fused in as a gradient term: g ← g + λ·w over the first weightCount parameters (the
 * weights; biases are not decayed). A backend may run them in SIMD; the loops here are the reference.
 */
export interface OptimizerKernels {
  sgdStep(params: FloatArray, grads: FloatArray, weightCount: number, l2: number, lr: number): void;
  momentumStep(params: FloatArray, grads: FloatArray, velocity: FloatArray, weightCount: number, l2: number, lr: number, mu: number): void;
  nesterovStep(params: FloatArray, grads: FloatArray, velocity: FloatArray, weightCount: number, l2: number, lr: number, mu: number): void;
  /** stepSize and epsilon carry Adam's bias corrections for this step. */
  adamStep(
    params: FloatArray, grads: FloatArray, m: FloatArray, v: FloatArray, weightCount: number, l2: number,
    stepSize: number, beta1: number, beta2: number, epsilon: number,
  ): void;
}

const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;

export const referenceOptimizerKernels: OptimizerKernels = {
  sgdStep(params, grads, weightCount, l2, lr) {
    const n = params.length;
    for (let i = 0; i < n; i++) {
      const g = i < weightCount ? grads[i] + l2 * params[i] : grads[i];
      params[i] -= lr * g;
    }
  },
  momentumStep(params, grads, velocity, weightCount, l2, lr, mu) {
    const n = params.length;
    for (let i = 0; i < n; i++) {
      const g = i < weightCount ? grads[i] + l2 * params[i] : grads[i];
      const v = mu * velocity[i] + g;
      velocity[i] = v;
      params[i] -= lr * v;
    }
  },
  nesterovStep(params, grads, velocity, weightCount, l2, lr, mu) {
    const n = params.length;
    for (let i = 0; i < n; i++) {
      const g = i < weightCount ? grads[i] + l2 * params[i] : grads[i];
      const v = mu * velocity[i] + g;
      velocity[i] = v;
      params[i] -= lr * (g + mu * v);
    }
  },
  adamStep(params, grads, m, v, weightCount, l2, stepSize, beta1, beta2, epsilon) {
    const n = params.length;
    for (let i = 0; i < n; i++) {
      const g = i < weightCount ? grads[i] + l2 * params[i] : grads[i];
      const mi = beta1 * m[i] + (1 - beta1) * g;
      const vi = beta2 * v[i] + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      params[i] -= (stepSize * mi) / (Math.sqrt(vi) + epsilon);
    }
  },
};

/** Plain SGD: w ← w - lr·g. */
function sgd({ l2, weightCount }: OptimizerSettings, kernels: OptimizerKernels): Optimizer {
  return {
    name: 'sgd',
    stateSlots: 0,
    step(params, grads, _state, lr) {
      kernels.sgdStep(params, grads, weightCount, l2, lr);
    },
  };
}

/**
 * Classical (heavy-ball) momentum, Polyak 1964, in the form PyTorch uses:
 * v ← μ·v + g, w ← w - lr·v. The velocity accumulates gradients, not steps,
 * so changing the learning rate mid-run does not rescale past updates.
 */
function momentum({ momentum: mu, l2, weightCount }: OptimizerSettings, kernels: OptimizerKernels): Optimizer {
  return {
    name: 'momentum',
    stateSlots: 1,
    step(params, grads, [velocity], lr) {
      kernels.momentumStep(params, grads, velocity, weightCount, l2, lr, mu);
    },
  };
}

/**
 * Nesterov momentum (Sutskever et al., 2013), in PyTorch's form: v ← μ·v + g,
 * w ← w - lr·(g + μ·v), which evaluates the gradient at the look-ahead point.
 */
function nesterov({ momentum: mu, l2, weightCount }: OptimizerSettings, kernels: OptimizerKernels): Optimizer {
  return {
    name: 'nesterov',
    stateSlots: 1,
    step(params, grads, [velocity], lr) {
      kernels.nesterovStep(params, grads, velocity, weightCount, l2, lr, mu);
    },
  };
}

/**
 * Adam (Kingma and Ba, 2015, Algorithm 1) with bias correction:
 * m ← β1·m + (1-β1)·g, v ← β2·v + (1-β2)·g², w ← w - lr·m̂ / (√v̂ + ε),
 * where m̂ = m / (1-β1^t) and v̂ = v / (1-β2^t).
 */
function adam({ momentum: beta1, l2, weightCount }: OptimizerSettings, kernels: OptimizerKernels): Optimizer {
  return {
    name: 'adam',
    stateSlots: 2,
    step(params, grads, [m, v], lr, t) {
      const correction1 = 1 - Math.pow(beta1, t);
      const correction2 = 1 - Math.pow(ADAM_BETA2, t);
      // Folding both corrections into the step size: lr·√(1-β2^t)/(1-β1^t), as in the paper's section 2.
      const stepSize = (lr * Math.sqrt(correction2)) / correction1;
      const epsilon = ADAM_EPSILON * Math.sqrt(correction2);
      kernels.adamStep(params, grads, m, v, weightCount, l2, stepSize, beta1, ADAM_BETA2, epsilon);
    },
  };
}

/** The update rule `name`, with its loop bound to the backend's kernels once. */
export function createOptimizer(
  name: OptimizerName, settings: OptimizerSettings, kernels: OptimizerKernels = referenceOptimizerKernels,
): Optimizer {
  if (name === 'sgd') return sgd(settings, kernels);
  if (name === 'momentum') return momentum(settings, kernels);
  if (name === 'nesterov') return nesterov(settings, kernels);
  return adam(settings, kernels);
}
