import type { FloatArray, OptimizerName } from './types.js';

export interface OptimizerSettings {
  /** Momentum for momentum and nesterov; β1 for adam. */
  momentum: number;
}

/**
 * An update rule over the flat parameter buffer. Its state (velocity, or Adam's m and v)
 * is `stateSlots` buffers that mirror the parameter layout, so a step is one flat loop.
 */
export interface Optimizer {
  readonly name: OptimizerName;
  readonly stateSlots: number;
  /** `t` counts steps from 1 (Adam's bias correction needs it). */
  step(params: FloatArray, grads: FloatArray, state: Float32Array[], learningRate: number, t: number): void;
}

const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;

/** Plain SGD: w ← w - lr·g. */
function sgd(): Optimizer {
  return {
    name: 'sgd',
    stateSlots: 0,
    step(params, grads, _state, lr) {
      const n = params.length;
      for (let i = 0; i < n; i++) params[i] -= lr * grads[i];
    },
  };
}

/**
 * Classical (heavy-ball) momentum, Polyak 1964, in the form PyTorch uses:
 * v ← μ·v + g, w ← w - lr·v. The velocity accumulates gradients, not steps,
 * so changing the learning rate mid-run does not rescale past updates.
 */
function momentum({ momentum: mu }: OptimizerSettings): Optimizer {
  return {
    name: 'momentum',
    stateSlots: 1,
    step(params, grads, [velocity], lr) {
      const n = params.length;
      for (let i = 0; i < n; i++) {
        const v = mu * velocity[i] + grads[i];
        velocity[i] = v;
        params[i] -= lr * v;
      }
    },
  };
}

/**
 * Nesterov momentum (Sutskever et al., 2013), in PyTorch's form: v ← μ·v + g,
 * w ← w - lr·(g + μ·v), which evaluates the gradient at the look-ahead point.
 */
function nesterov({ momentum: mu }: OptimizerSettings): Optimizer {
  return {
    name: 'nesterov',
    stateSlots: 1,
    step(params, grads, [velocity], lr) {
      const n = params.length;
      for (let i = 0; i < n; i++) {
        const g = grads[i];
        const v = mu * velocity[i] + g;
        velocity[i] = v;
        params[i] -= lr * (g + mu * v);
      }
    },
  };
}

/**
 * Adam (Kingma and Ba, 2015, Algorithm 1) with bias correction:
 * m ← β1·m + (1-β1)·g, v ← β2·v + (1-β2)·g², w ← w - lr·m̂ / (√v̂ + ε),
 * where m̂ = m / (1-β1^t) and v̂ = v / (1-β2^t).
 */
function adam({ momentum: beta1 }: OptimizerSettings): Optimizer {
  return {
    name: 'adam',
    stateSlots: 2,
    step(params, grads, [m, v], lr, t) {
      const correction1 = 1 - Math.pow(beta1, t);
      const correction2 = 1 - Math.pow(ADAM_BETA2, t);
      // Folding both corrections into the step size: lr·√(1-β2^t)/(1-β1^t), as in the paper's section 2.
      const stepSize = (lr * Math.sqrt(correction2)) / correction1;
      const epsilon = ADAM_EPSILON * Math.sqrt(correction2);
      const n = params.length;
      for (let i = 0; i < n; i++) {
        const g = grads[i];
        const mi = beta1 * m[i] + (1 - beta1) * g;
        const vi = ADAM_BETA2 * v[i] + (1 - ADAM_BETA2) * g * g;
        m[i] = mi;
        v[i] = vi;
        params[i] -= (stepSize * mi) / (Math.sqrt(vi) + epsilon);
      }
    },
  };
}

export function createOptimizer(name: OptimizerName, settings: OptimizerSettings): Optimizer {
  if (name === 'sgd') return sgd();
  if (name === 'momentum') return momentum(settings);
  if (name === 'nesterov') return nesterov(settings);
  return adam(settings);
}

/** L2 weight decay as a gradient term: g ← g + λ·w over the weights only (biases are not decayed). */
export function addWeightDecay(grads: FloatArray, params: FloatArray, weightCount: number, l2: number): void {
  for (let i = 0; i < weightCount; i++) grads[i] += l2 * params[i];
}
