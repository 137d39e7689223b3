/**
 * The elementwise loops of a training step, in the same module as the GEMM kernels: the
 * rectifiers, the optimizer steps with L2 fused in, and the sums diagnostics need. Their
 * math, and the reference loops these must match, are in src/core/activations.ts,
 * src/core/optimizers.ts and src/core/reference-kernels.ts.
 *
 * Pointers are byte offsets into the shared linear memory; n counts floats. Each loop runs
 * 4 floats per step, then a remainder loop computes the last n % 4 floats in lane 0 with the
 * same vector code, so every float gets the same float32 arithmetic wherever it sits. No loop
 * uses fused multiply-add, so both builds of the module give the same results.
 */

/** 4 floats at `at`, or with `full` false 1 float in lane 0 and zeros in the others. */
@inline function loadFloats(at: usize, full: bool): v128 {
  return full ? v128.load(at) : v128.load32_zero(at);
}

/** Stores the 4 lanes of v at `at`, or with `full` false lane 0 only. */
@inline function storeFloats(at: usize, v: v128, full: bool): void {
  if (full) v128.store(at, v);
  else v128.store32_lane(at, v, 0);
}

/** z > 0 ? x : slope·x, lane by lane. */
@inline function rectify(x: v128, z: v128, slope: v128): v128 {
  return v128.bitselect(x, f32x4.mul(slope, x), f32x4.gt(z, f32x4.splat(0)));
}

/** a = z > 0 ? z : negativeSlope·z. */
export function rectifierForward(a: usize, z: usize, n: i32, negativeSlope: f32): void {
  const slope = f32x4.splat(negativeSlope);
  const end = <usize>n << 2;
  let at: usize = 0;
  for (; at + 16 <= end; at += 16) {
    const v = v128.load(z + at);
    v128.store(a + at, rectify(v, v, slope));
  }
  // Remainder loop: the last n % 4 floats.
  for (; at < end; at += 4) {
    const v = loadFloats(z + at, false);
    storeFloats(a + at, rectify(v, v, slope), false);
  }
}

/** dZ = z > 0 ? dA : negativeSlope·dA; dZ and dA may be the same array. */
export function rectifierBackward(dZ: usize, dA: usize, z: usize, n: i32, negativeSlope: f32): void {
  const slope = f32x4.splat(negativeSlope);
  const end = <usize>n << 2;
  let at: usize = 0;
  for (; at + 16 <= end; at += 16) v128.store(dZ + at, rectify(v128.load(dA + at), v128.load(z + at), slope));
  // Remainder loop: the last n % 4 floats.
  for (; at < end; at += 4) storeFloats(dZ + at, rectify(loadFloats(dA + at, false), loadFloats(z + at, false), slope), false);
}

/**
 * The optimizer steps. Each runs over the weights [0, weightCount) with L2 decay
 * g ← g + λ·w, then over the biases [weightCount, n) with λ = 0, where g + 0·w is g.
 */

/** The gradient of one vector of parameters, with L2 decay: g + λ·w. */
@inline function decayed(grads: usize, params: usize, at: usize, l2: v128, full: bool): v128 {
  return f32x4.add(loadFloats(grads + at, full), f32x4.mul(l2, loadFloats(params + at, full)));
}

/** w ← w - lr·g. */
@inline function sgdAt(params: usize, grads: usize, at: usize, l2: v128, lr: v128, full: bool): void {
  const g = decayed(grads, params, at, l2, full);
  storeFloats(params + at, f32x4.sub(loadFloats(params + at, full), f32x4.mul(lr, g)), full);
}

function sgdRange(params: usize, grads: usize, start: i32, end: i32, l2: f32, lr: f32): void {
  const vl2 = f32x4.splat(l2), vlr = f32x4.splat(lr);
  let i = start;
  for (; i + 4 <= end; i += 4) sgdAt(params, grads, <usize>i << 2, vl2, vlr, true);
  // Remainder loop: the last (end - start) % 4 floats.
  for (; i < end; i++) sgdAt(params, grads, <usize>i << 2, vl2, vlr, false);
}

export function sgdStep(params: usize, grads: usize, n: i32, weightCount: i32, l2: f32, lr: f32): void {
  sgdRange(params, grads, 0, weightCount, l2, lr);
  sgdRange(params, grads, weightCount, n, 0, lr);
}

/** v ← μ·v + g, then w ← w - lr·v (momentum), or w ← w - lr·(g + μ·v) (nesterov). */
@inline function momentumAt(
  params: usize, grads: usize, velocity: usize, at: usize, l2: v128, lr: v128, mu: v128, nesterov: bool, full: bool,
): void {
  const g = decayed(grads, params, at, l2, full);
  const v = f32x4.add(f32x4.mul(mu, loadFloats(velocity + at, full)), g);
  storeFloats(velocity + at, v, full);
  const update = nesterov ? f32x4.add(g, f32x4.mul(mu, v)) : v;
  storeFloats(params + at, f32x4.sub(loadFloats(params + at, full), f32x4.mul(lr, update)), full);
}

@inline function momentumRange(
  params: usize, grads: usize, velocity: usize, start: i32, end: i32, l2: f32, lr: f32, mu: f32, nesterov: bool,
): void {
  const vl2 = f32x4.splat(l2), vlr = f32x4.splat(lr), vmu = f32x4.splat(mu);
  let i = start;
  for (; i + 4 <= end; i += 4) momentumAt(params, grads, velocity, <usize>i << 2, vl2, vlr, vmu, nesterov, true);
  // Remainder loop: the last (end - start) % 4 floats.
  for (; i < end; i++) momentumAt(params, grads, velocity, <usize>i << 2, vl2, vlr, vmu, nesterov, false);
}

export function momentumStep(params: usize, grads: usize, velocity: usize, n: i32, weightCount: i32, l2: f32, lr: f32, mu: f32): void {
  momentumRange(params, grads, velocity, 0, weightCount, l2, lr, mu, false);
  momentumRange(params, grads, velocity, weightCount, n, 0, lr, mu, false);
}

export function nesterovStep(params: usize, grads: usize, velocity: usize, n: i32, weightCount: i32, l2: f32, lr: f32, mu: f32): void {
  momentumRange(params, grads, velocity, 0, weightCount, l2, lr, mu, true);
  momentumRange(params, grads, velocity, weightCount, n, 0, lr, mu, true);
}

/**
 * m ← β1·m + (1-β1)·g, v ← β2·v + (1-β2)·g², w ← w - stepSize·m / (√v + ε). 1-β comes
 * from the caller, taken in float64: 1 - float32(0.999) would be 5e-5 off.
 */
@inline function adamAt(
  params: usize, grads: usize, m: usize, v: usize, at: usize, l2: v128, stepSize: v128,
  beta1: v128, oneMinusBeta1: v128, beta2: v128, oneMinusBeta2: v128, epsilon: v128, full: bool,
): void {
  const g = decayed(grads, params, at, l2, full);
  const mi = f32x4.add(f32x4.mul(beta1, loadFloats(m + at, full)), f32x4.mul(oneMinusBeta1, g));
  const vi = f32x4.add(f32x4.mul(beta2, loadFloats(v + at, full)), f32x4.mul(f32x4.mul(oneMinusBeta2, g), g));
  storeFloats(m + at, mi, full);
  storeFloats(v + at, vi, full);
  const update = f32x4.div(f32x4.mul(stepSize, mi), f32x4.add(f32x4.sqrt(vi), epsilon));
  storeFloats(params + at, f32x4.sub(loadFloats(params + at, full), update), full);
}

function adamRange(
  params: usize, grads: usize, m: usize, v: usize, start: i32, end: i32, l2: f32, stepSize: f32,
  beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, epsilon: f32,
): void {
  const vl2 = f32x4.splat(l2), vstep = f32x4.splat(stepSize), veps = f32x4.splat(epsilon);
  const vb1 = f32x4.splat(beta1), v1b1 = f32x4.splat(oneMinusBeta1), vb2 = f32x4.splat(beta2), v1b2 = f32x4.splat(oneMinusBeta2);
  let i = start;
  for (; i + 4 <= end; i += 4) adamAt(params, grads, m, v, <usize>i << 2, vl2, vstep, vb1, v1b1, vb2, v1b2, veps, true);
  // Remainder loop: the last (end - start) % 4 floats.
  for (; i < end; i++) adamAt(params, grads, m, v, <usize>i << 2, vl2, vstep, vb1, v1b1, vb2, v1b2, veps, false);
}

export function adamStep(
  params: usize, grads: usize, m: usize, v: usize, n: i32, weightCount: i32, l2: f32, stepSize: f32,
  beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, epsilon: f32,
): void {
  adamRange(params, grads, m, v, 0, weightCount, l2, stepSize, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon);
  adamRange(params, grads, m, v, weightCount, n, 0, stepSize, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon);
}

/** values = 0. */
export function zero(values: usize, n: i32): void {
  memory.fill(values, 0, <usize>n << 2);
}

/**
 * peak[j] = max(peak[j], max over the batch of z[b, j]). z is (batch, width), peak is (width):
 * row by row, so peak stays in L1. pmax keeps peak[j] when z is NaN, as the reference's `<` does.
 */
export function columnMax(peak: usize, z: usize, batch: i32, width: i32): void {
  const rowBytes = <usize>width << 2;
  const full = rowBytes & ~15;
  for (let b = 0; b < batch; b++) {
    const row = z + <usize>b * rowBytes;
    let at: usize = 0;
    for (; at < full; at += 16) v128.store(peak + at, f32x4.pmax(v128.load(peak + at), v128.load(row + at)));
    // Remainder loop: the last width % 4 columns.
    for (; at < rowBytes; at += 4) storeFloats(peak + at, f32x4.pmax(loadFloats(peak + at, false), loadFloats(row + at, false)), false);
  }
}

/**
 * The sums are taken in float64, from floats promoted before they are squared, so a square
 * never overflows and the sum is finite exactly when every float is. Two f64x2 accumulators
 * hold lanes 0-1 and 2-3; the remainder loop adds into lane 0.
 */

/** Lanes 2 and 3 of a float vector, promoted to float64. */
@inline function promoteHigh(x: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3));
}

@inline function laneTotal(low: v128, high: v128): f64 {
  const sum = f64x2.add(low, high);
  return f64x2.extract_lane(sum, 0) + f64x2.extract_lane(sum, 1);
}

/** Σ values². */
export function sumOfSquares(values: usize, n: i32): f64 {
  let low = f64x2.splat(0), high = low;
  const end = <usize>n << 2;
  let at: usize = 0;
  for (; at + 16 <= end; at += 16) {
    const x = v128.load(values + at);
    const x01 = f64x2.promote_low_f32x4(x);
    const x23 = promoteHigh(x);
    low = f64x2.add(low, f64x2.mul(x01, x01));
    high = f64x2.add(high, f64x2.mul(x23, x23));
  }
  // Remainder loop: the last n % 4 floats.
  for (; at < end; at += 4) {
    const x = f64x2.promote_low_f32x4(v128.load32_zero(values + at));
    low = f64x2.add(low, f64x2.mul(x, x));
  }
  return laneTotal(low, high);
}

/** Σ (a - b)², the difference taken in float64. */
export function sumOfSquaredDifferences(a: usize, b: usize, n: i32): f64 {
  let low = f64x2.splat(0), high = low;
  const end = <usize>n << 2;
  let at: usize = 0;
  for (; at + 16 <= end; at += 16) {
    const x = v128.load(a + at);
    const y = v128.load(b + at);
    const d01 = f64x2.sub(f64x2.promote_low_f32x4(x), f64x2.promote_low_f32x4(y));
    const d23 = f64x2.sub(promoteHigh(x), promoteHigh(y));
    low = f64x2.add(low, f64x2.mul(d01, d01));
    high = f64x2.add(high, f64x2.mul(d23, d23));
  }
  // Remainder loop: the last n % 4 floats.
  for (; at < end; at += 4) {
    const d = f64x2.sub(f64x2.promote_low_f32x4(v128.load32_zero(a + at)), f64x2.promote_low_f32x4(v128.load32_zero(b + at)));
    low = f64x2.add(low, f64x2.mul(d, d));
  }
  return laneTotal(low, high);
}
