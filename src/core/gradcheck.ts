import { BatchLoader } from './batch.js';
import type { Kernels } from './kernels.js';
import { initializeParameters } from './init.js';
import { Network, parameterCount, type Layer } from './network.js';
import { Rng } from './rng.js';
import type { Dataset, FloatArray, InitConfig, ModelConfig } from './types.js';

/** A check passes when backprop and the finite differences agree to this relative error in every layer. */
export const GRADIENT_CHECK_TOLERANCE = 1e-5;
export const DEFAULT_GRADIENT_CHECK_BATCH = 8;
export const MAX_GRADIENT_CHECK_BATCH = 64;
/** Parameters the service checks when a request does not say, shared out evenly between the layers. */
export const DEFAULT_CHECKED_PARAMETERS = 1_000;
export const MAX_CHECKED_PARAMETERS = 10_000;
/**
 * Multiply-adds the finite differences may spend, about 1.8 s of float64 on one core of the
 * development VM (1.7 G multiply-adds/s). Layers whose parameters are cheap to probe are
 * planned first and leave their unused share to the dearer ones; every layer still gets at
 * least MIN_CHECKED_PER_LAYER parameters, even past the budget.
 */
export const GRADIENT_CHECK_WORK = 3e9;
export const MIN_CHECKED_PER_LAYER = 3;
/**
 * Rounding leaves about 3e-13·|L| of noise in a float64 finite difference with h = 1e-3 (measured
 * on 784-800-10, batch 64). The relative error's denominator never drops below
 * GRADIENT_FLOOR·max(|L|, 1), so that noise on a gradient of almost 0 stays near 3e-7 instead
 * of passing for a disagreement. A layer whose gradients all lie below the floor is vanishing:
 * there the check compares absolute differences, and says little.
 */
export const GRADIENT_FLOOR = 1e-6;
/**
 * Samples × parameters of the checked batch: a bigger network is checked on fewer samples
 * (784-2500-2000-1500-1000-500-10 on 8), which bounds the unperturbed pass and every probe.
 */
export const MAX_BATCH_PARAMETERS = 1e8;

/** Weights come from Rng(seed), as a training job with this seed starts from; the batch and the checked parameters come from streams of their own. */
const SEED_STREAMS = { data: 0x5000, parameters: 0x5001 } as const;

export interface GradientCheckOptions {
  init: InitConfig;
  seed?: number;
  /** Check on a seeded draw of `batch` of these samples, scaled as training scales them; random inputs and targets when omitted. */
  samples?: Dataset;
  batch?: number;
  /** Check at most this many parameters, shared out evenly between the layers and drawn at random; every parameter when omitted. */
  sampleParameters?: number;
  /** Most multiply-adds the finite differences may spend (GRADIENT_CHECK_WORK by default). */
  maxWork?: number;
  /** Finite-difference step h. */
  epsilon?: number;
  /** Kernels to check; they must accept float64 arrays. Defaults to the reference kernels. */
  kernels?: Kernels;
}

export interface GradientCheckLayer {
  /** From 1, the first layer after the input. */
  layer: number;
  /** Over this layer's checked weights and biases; 0 when none was checked. */
  maxRelativeError: number;
  /** Parameters compared; those whose step crossed a rectifier kink are not among them. */
  checked: number;
  /** Weights and biases in the layer. */
  parameters: number;
  /** Drawn parameters left out because the loss has a kink within ±2h of them (a relu input crossed 0). */
  kinkCrossings: number;
  /** Largest |analytic gradient| over the whole layer, checked or not. */
  largestGradient: number;
}

export interface GradientCheckResult {
  /** max over checked parameters of |analytic - numeric| / max(|analytic| + |numeric|, gradientFloor). */
  maxRelativeError: number;
  /** GRADIENT_FLOOR·max(|loss|, 1): gradients below it are compared absolutely. */
  gradientFloor: number;
  worst: { parameter: number; layer: number; kind: 'weight' | 'bias'; analytic: number; numeric: number };
  checked: number;
  layers: GradientCheckLayer[];
  /** Samples in the checked batch: the requested batch, cut to MAX_BATCH_PARAMETERS / parameters and to the samples there are. */
  batch: number;
  /** The batch's mean loss at the checked weights. */
  loss: number;
}

/**
 * Compares backprop's gradient with the five-point central difference
 *   (8·(L(w+h) - L(w-h)) - (L(w+2h) - L(w-2h))) / 12h,
 * whose truncation error is O(h⁴) rather than O(h²), on a float64 copy of the network and
 * one batch. With h = 1e-3 both truncation and rounding stay near 1e-12 for a loss near 1, so
 * even gradients of 1e-6 (behind a leaky relu's 0.01 slope) are checked to 1e-6 relative error.
 * Random targets match the head: one-hot classes for softmax, 0/1 for sigmoid with
 * cross-entropy, and real values for mse; given samples bring their own.
 *
 * Every layer is checked: each gets its share of `sampleParameters`, at least one (the first
 * draw of a sampled layer is a bias), within the work budget. Relu and leaky relu make the loss
 * piecewise smooth: a parameter whose ±2h moves some relu input across 0 has a finite
 * difference that is no derivative, so it is counted in `kinkCrossings` and another is drawn.
 */
export function gradientCheck(config: ModelConfig, options: GradientCheckOptions): GradientCheckResult {
  const { seed = 7, epsilon = 1e-3, maxWork = GRADIENT_CHECK_WORK } = options;
  const batch = checkedBatch(options.batch ?? DEFAULT_GRADIENT_CHECK_BATCH, parameterCount(config.shape), options.samples?.count ?? Infinity);
  const network = new Network(config, { precision: 'float64', maxBatch: batch, kernels: options.kernels });
  initializeParameters(network, options.init, new Rng(seed));
  const dataRng = new Rng(seed + SEED_STREAMS.data);
  const target = options.samples ? loadSamples(network, options.samples, batch, dataRng) : randomSamples(network, batch, dataRng);

  network.forward(batch);
  const perturbed = new PerturbedLoss(network, target, batch);
  const loss = network.backward(target, batch);
  const analytic = Float64Array.from(network.grads);
  const gradientFloor = GRADIENT_FLOOR * Math.max(Math.abs(loss), 1);

  const plan = planChecks(network, batch, options.sampleParameters ?? null, maxWork);
  const rng = new Rng(seed + SEED_STREAMS.parameters);
  const layers: GradientCheckLayer[] = [];
  let worst: GradientCheckResult['worst'] = { parameter: -1, layer: 0, kind: 'weight', analytic: 0, numeric: 0 };
  let maxRelativeError = 0;
  for (let l = 0; l < network.layers.length; l++) {
    const layer = network.layers[l];
    const place = parameterPlace(network, l);
    const result: GradientCheckLayer = {
      layer: l + 1, maxRelativeError: 0, checked: 0, parameters: place.count, kinkCrossings: 0,
      largestGradient: Math.max(largestMagnitude(analytic, place.weights, layer.weight.length), largestMagnitude(analytic, place.biases, layer.outDim)),
    };
    for (const local of drawParameters(place.count, layer.weight.length, plan[l], rng)) {
      const isWeight = local < layer.weight.length;
      const p = isWeight ? place.weights + local : place.biases + local - layer.weight.length;
      const unit = isWeight ? Math.floor(local / layer.inDim) : local - layer.weight.length;
      const column = isWeight ? local % layer.inDim : -1;
      const numeric = perturbed.derivative(l, unit, column, epsilon);
      if (Number.isNaN(numeric)) {
        result.kinkCrossings++;
        continue;
      }
      const error = Math.abs(analytic[p] - numeric) / Math.max(Math.abs(analytic[p]) + Math.abs(numeric), gradientFloor);
      result.checked++;
      result.maxRelativeError = Math.max(result.maxRelativeError, error);
      if (error > maxRelativeError || worst.parameter < 0) {
        maxRelativeError = Math.max(maxRelativeError, error);
        worst = { parameter: p, layer: l + 1, kind: isWeight ? 'weight' : 'bias', analytic: analytic[p], numeric };
      }
      if (result.checked === plan[l]) break;
    }
    layers.push(result);
  }
  const checked = layers.reduce((sum, layer) => sum + layer.checked, 0);
  return { maxRelativeError, gradientFloor, worst, checked, layers, batch, loss };
}

/** The batch a check runs on: as asked, but at most MAX_BATCH_PARAMETERS / parameters (and at least 1) and at most the samples there are. */
export function checkedBatch(requested: number, parameters: number, samples: number): number {
  return Math.min(requested, Math.max(1, Math.floor(MAX_BATCH_PARAMETERS / parameters)), samples);
}

/** Loads a seeded draw of `batch` distinct samples into the network's input, as training does; returns their targets. */
function loadSamples(network: Network, samples: Dataset, batch: number, rng: Rng): FloatArray {
  const order = new Uint32Array(samples.count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  rng.shuffle(order);
  const loader = new BatchLoader(samples, network.input, network.outputSize, batch);
  loader.fill(order, 0, batch);
  return loader.target;
}

function randomSamples(network: Network, batch: number, rng: Rng): FloatArray {
  const { inputSize, outputSize: k, config } = network;
  for (let i = 0; i < batch * inputSize; i++) network.input[i] = rng.nextFloat();
  const target = new Float64Array(batch * k);
  for (let b = 0; b < batch; b++) {
    if (config.outputActivation === 'softmax' && config.loss === 'cross_entropy') target[b * k + rng.nextInt(k)] = 1;
    else for (let j = 0; j < k; j++) target[b * k + j] = config.loss === 'cross_entropy' ? rng.nextInt(2) : rng.nextFloat();
  }
  return target;
}

/**
 * The batch's mean loss with one parameter of layer l moved by `offset`, computed from the
 * unperturbed pass: moving weight (unit, column) or bias (unit) changes only column `unit`
 * of z_l, so z_{l+1} changes by the rank-1 term Δa_l[:, unit] ⊗ W_{l+1}[:, unit], and only the
 * layers above that run in full. A loss for a first-layer parameter of [784, 800, 10] costs
 * about 20 multiply-adds per sample instead of a whole forward pass (636,000).
 */
class PerturbedLoss {
  /** Set when some rectifier input on the probed path has another sign than in the unperturbed pass. */
  private crossedKink = false;
  private readonly baseZ: Float64Array[];
  private readonly baseA: Float64Array[];
  private readonly columnZ: Float64Array;
  private readonly columnA: Float64Array;
  private readonly dZ: Float64Array;
  private readonly hasKinks: boolean;

  /** Call after network.forward(batch): it keeps a copy of every layer's z and a. */
  constructor(private readonly network: Network, private readonly target: FloatArray, private readonly batch: number) {
    this.baseZ = network.layers.map((layer) => Float64Array.from(layer.z.subarray(0, batch * layer.outDim)));
    this.baseA = network.layers.map((layer) => Float64Array.from(layer.a.subarray(0, batch * layer.outDim)));
    this.columnZ = new Float64Array(batch);
    this.columnA = new Float64Array(batch);
    this.dZ = new Float64Array(batch * network.outputSize);
    this.hasKinks = network.activation.family === 'rectifier';
  }

  /**
   * The five-point difference of the loss in one parameter of layer l: weight (unit, column),
   * or the unit's bias when `column` is -1. NaN when a rectifier input on the probed path
   * changes sign at one of the four points: the loss has a kink there and the difference is no derivative.
   */
  derivative(l: number, unit: number, column: number, h: number): number {
    this.crossedKink = false;
    const near = this.loss(l, unit, column, h) - this.loss(l, unit, column, -h);
    const far = this.loss(l, unit, column, 2 * h) - this.loss(l, unit, column, -2 * h);
    return this.crossedKink ? NaN : (8 * near - far) / (12 * h);
  }

  /** The parameter's own value is never read: its offset enters through column `unit` of z_l. */
  private loss(l: number, unit: number, column: number, offset: number): number {
    const { network, batch, baseZ, baseA, columnZ, columnA } = this;
    const layers = network.layers;
    const last = layers.length - 1;
    const layer = layers[l];
    const inp = l > 0 ? baseA[l - 1] : network.input;
    const { inDim, outDim } = layer;
    // z = inp · Wᵀ + b, so z_l[b, unit] moves by offset · inp[b, column], or by offset for the bias.
    const base = baseZ[l];
    if (column < 0) for (let b = 0; b < batch; b++) columnZ[b] = base[b * outDim + unit] + offset;
    else for (let b = 0; b < batch; b++) columnZ[b] = base[b * outDim + unit] + offset * inp[b * inDim + column];
    if (l === last) {
      layer.z.set(base);
      for (let b = 0; b < batch; b++) layer.z[b * outDim + unit] = columnZ[b];
      return this.headLoss();
    }
    network.activation.forward(columnA, columnZ, batch);
    if (this.hasKinks) this.crossedKink ||= signsDiffer(columnZ, 0, 1, base, unit, outDim, batch);

    // z_{l+1} = base z_{l+1} + Δa_l[:, unit] ⊗ W_{l+1}[:, unit]
    const next = layers[l + 1];
    const nextZ = next.z;
    const nextBase = baseZ[l + 1];
    const weight = next.weight;
    const width = next.outDim;
    for (let b = 0; b < batch; b++) {
      const delta = columnA[b] - baseA[l][b * outDim + unit];
      const row = b * width;
      for (let o = 0; o < width; o++) nextZ[row + o] = nextBase[row + o] + delta * weight[o * outDim + unit];
    }
    for (let m = l + 1; m <= last; m++) {
      const above = layers[m];
      if (m > l + 1) network.kernels.matmulForward(above.z, layers[m - 1].a, above.weight, above.bias, batch, above.inDim, above.outDim);
      if (m === last) return this.headLoss();
      const n = batch * above.outDim;
      network.activation.forward(above.a, above.z, n);
      if (this.hasKinks) this.crossedKink ||= signsDiffer(above.z, 0, 1, baseZ[m], 0, 1, n);
    }
    throw new RangeError(`layer ${l} is outside the network`);
  }

  /** The head's forward and mean loss, as Network.backward computes it, without the backward pass. */
  private headLoss(): number {
    const { network, batch } = this;
    const output = network.outputLayer;
    network.head.forward(output.a, output.z, batch, output.outDim);
    return network.head.lossAndGradient(this.dZ, output.z, output.a, this.target, batch, output.outDim) * (1 / batch);
  }
}

/** Whether x[xOffset + i·xStride] > 0 and y[yOffset + i·yStride] > 0 disagree for some i < n. */
function signsDiffer(x: FloatArray, xOffset: number, xStride: number, y: FloatArray, yOffset: number, yStride: number, n: number): boolean {
  for (let i = 0; i < n; i++) if ((x[xOffset + i * xStride] > 0) !== (y[yOffset + i * yStride] > 0)) return true;
  return false;
}

/** Multiply-adds one probe of a parameter of layer l costs: four losses, each a column, a rank-1 update, the layers above and the head. */
function probeWork(layers: readonly Layer[], l: number, batch: number): number {
  let work = 1 + layers[layers.length - 1].outDim;
  if (l + 1 < layers.length) work += layers[l + 1].outDim;
  for (let m = l + 2; m < layers.length; m++) work += layers[m].inDim * layers[m].outDim + layers[m].outDim;
  return 4 * batch * work;
}

/**
 * Parameters to check per layer: an even share of `requested` (the whole layer when null), at
 * least one and at most the layer's size, and within the work budget. Layers are planned cheapest first, each taking its part of what is
 * left, so a budget the cheap layers do not need goes to the dear ones.
 */
function planChecks(network: Network, batch: number, requested: number | null, maxWork: number): number[] {
  const layers = network.layers;
  const count = layers.length;
  const work = layers.map((_, l) => probeWork(layers, l, batch));
  const plan = layers.map((layer, l) => {
    const size = layer.weight.length + layer.outDim;
    return requested === null ? size : Math.min(size, Math.max(1, Math.floor(requested / count) + (l < requested % count ? 1 : 0)));
  });
  const cheapestFirst = layers.map((_, l) => l).sort((a, b) => work[a] - work[b]);
  let left = maxWork;
  cheapestFirst.forEach((l, index) => {
    const affordable = Math.floor(left / (count - index) / work[l]);
    plan[l] = Math.min(plan[l], Math.max(MIN_CHECKED_PER_LAYER, affordable));
    left = Math.max(0, left - plan[l] * work[l]);
  });
  return plan;
}

/**
 * Indices within a layer (its weights, then its biases) to check: all of them in order when
 * `wanted` covers the layer, else a bias first and then uniform draws without repeats, twice
 * as many as wanted at most so that parameters skipped at a kink can be replaced.
 */
function* drawParameters(count: number, weights: number, wanted: number, rng: Rng): Generator<number> {
  if (wanted >= count) {
    for (let i = 0; i < count; i++) yield i;
    return;
  }
  const drawn = new Set<number>();
  const attempts = Math.min(count, 2 * wanted);
  while (drawn.size < attempts) {
    const local = drawn.size === 0 ? weights + rng.nextInt(count - weights) : rng.nextInt(count);
    if (drawn.has(local)) continue;
    drawn.add(local);
    yield local;
  }
}

/** Where layer l's weights and biases start in the flat parameter buffer, and how many it has. */
function parameterPlace(network: Network, l: number): { weights: number; biases: number; count: number } {
  let weights = 0;
  let biases = network.weightCount;
  for (let m = 0; m < l; m++) {
    weights += network.layers[m].weight.length;
    biases += network.layers[m].outDim;
  }
  const layer = network.layers[l];
  return { weights, biases, count: layer.weight.length + layer.outDim };
}

function largestMagnitude(values: FloatArray, offset: number, n: number): number {
  let largest = 0;
  for (let i = 0; i < n; i++) largest = Math.max(largest, Math.abs(values[offset + i]));
  return largest;
}

export interface GradientCheckVerdict {
  /** Every layer was checked and agrees to GRADIENT_CHECK_TOLERANCE. */
  ok: boolean;
  /** What the figures mean, in plain words for the person who asked. */
  message: string;
}

/** Two significant digits: 3e-9, 2.6e-6. */
const scientific = (value: number): string => (value === 0 ? '0' : Number(value.toPrecision(2)).toExponential());
const grouped = (value: number): string => value.toLocaleString('en-US');
const layerList = (layers: readonly GradientCheckLayer[]): string =>
  `${layers.length === 1 ? 'layer' : 'layers'} ${layers.map((layer) => layer.layer).join(', ')}`;

/** Says whether backprop passed the check, where it failed, and what weakens the check (kinks, vanishing gradients, sampling, a cut batch). */
export function gradientCheckVerdict(result: GradientCheckResult, requestedBatch: number): GradientCheckVerdict {
  const { layers, worst } = result;
  const failing = layers.filter((layer) => layer.maxRelativeError >= GRADIENT_CHECK_TOLERANCE);
  const unchecked = layers.filter((layer) => layer.checked === 0);
  const tolerance = `tolerance ${scientific(GRADIENT_CHECK_TOLERANCE)}`;
  const sentences: string[] = [];
  if (failing.length === 0) {
    sentences.push(
      `Backprop agrees with finite differences to ${scientific(result.maxRelativeError)} in every ${unchecked.length > 0 ? 'checked ' : ''}layer (${tolerance}): ` +
        'if your own implementation disagrees, compare its gradients with these layer by layer from the output down; the first layer that disagrees is where its backward pass goes wrong',
    );
  } else {
    const highest = failing[failing.length - 1];
    sentences.push(
      `Backprop disagrees with finite differences in ${failing.map((layer) => `layer ${layer.layer} (${scientific(layer.maxRelativeError)})`).join(', ')} (${tolerance}). ` +
        `The worst is a ${worst.kind} of layer ${worst.layer}: backprop gives ${scientific(worst.analytic)}, the finite difference ${scientific(worst.numeric)}. ` +
        `Layer ${highest.layer} is the first from the output that disagrees, so the error enters in its backward step, or in the forward step that step reverses`,
    );
  }
  if (unchecked.length > 0) {
    sentences.push(`${layerList(unchecked)} could not be checked: every parameter drawn there sits within ±2h of a relu kink; try another seed or batchSize`);
  }
  const kinks = layers.reduce((sum, layer) => sum + layer.kinkCrossings, 0);
  if (kinks > 0) {
    sentences.push(
      `${grouped(kinks)} ${kinks === 1 ? 'parameter was' : 'parameters were'} left out of the comparison, and replaced where the layer had more: ` +
        'a step of ±2h moved some relu input across 0, where the loss has a kink and a finite difference is no derivative',
    );
  }
  const vanishing = layers.filter((layer) => layer.largestGradient < result.gradientFloor);
  if (vanishing.length > 0) {
    const largest = Math.max(...vanishing.map((layer) => layer.largestGradient));
    sentences.push(
      `The gradients of ${layerList(vanishing)} are vanishing: at most ${scientific(largest)}, below the ${scientific(result.gradientFloor)} floor of the relative error, ` +
        'as a saturated init makes them (sigmoid with uniform(0, 0.5) weights, say). The check there compares numbers near 0 and says little, and training would barely move those weights',
    );
  }
  const sampled = layers.filter((layer) => layer.checked > 0 && layer.checked + layer.kinkCrossings < layer.parameters);
  if (sampled.length > 0) {
    const counts = sampled.map((layer) => layer.checked);
    const budgeted = Math.min(...counts) < Math.max(...counts) / 2;
    sentences.push(
      `Parameters were drawn at random: ${sampled.map((layer) => `${grouped(layer.checked)} of ${grouped(layer.parameters)} in layer ${layer.layer}`).join(', ')}` +
        (budgeted ? '; the work budget gives fewer to a layer with big layers above it, as each of its parameters costs four passes through them' : ''),
    );
  }
  if (result.batch < requestedBatch) {
    const parameters = layers.reduce((sum, layer) => sum + layer.parameters, 0);
    const reason = result.batch === checkedBatch(requestedBatch, parameters, Infinity)
      ? `a network of ${grouped(parameters)} parameters is checked on at most ${grouped(result.batch)}`
      : 'the dataset has no more';
    sentences.push(`The batch was cut from ${requestedBatch} to ${result.batch} samples: ${reason}`);
  }
  return { ok: failing.length === 0 && unchecked.length === 0, message: `${sentences.join('. ')}.` };
}
