import { Rng, type Dataset } from '../core/index.js';

/** The samples at `indexes`, in that order, as a dataset of their own. */
export function pick(dataset: Dataset, indexes: Uint32Array): Dataset {
  const { inputSize } = dataset;
  const inputs = dataset.inputs instanceof Uint8Array ? new Uint8Array(indexes.length * inputSize) : new Float32Array(indexes.length * inputSize);
  const targetSize = dataset.targets ? dataset.targets.length / dataset.count : 0;
  const labels = dataset.labels ? new Uint8Array(indexes.length) : null;
  const targets = dataset.targets ? new Float32Array(indexes.length * targetSize) : null;
  for (let i = 0; i < indexes.length; i++) {
    const source = indexes[i];
    inputs.set(dataset.inputs.subarray(source * inputSize, (source + 1) * inputSize), i * inputSize);
    if (labels && dataset.labels) labels[i] = dataset.labels[source];
    if (targets && dataset.targets) targets.set(dataset.targets.subarray(source * targetSize, (source + 1) * targetSize), i * targetSize);
  }
  return { ...dataset, count: indexes.length, inputs, labels, targets };
}

/**
 * How many samples of each class a stratified hold-out of `fraction` takes: each class its share,
 * rounded down, and the samples still short of round(total x fraction) go to the largest
 * remainders (the lower class first on a tie). Depends on the counts alone, so the API can say
 * before training which classes the validation set will lack.
 */
export function stratifiedQuotas(classCounts: readonly number[], fraction: number): number[] {
  const total = classCounts.reduce((sum, count) => sum + count, 0);
  const exact = classCounts.map((count) => count * fraction);
  const quota = exact.map(Math.floor);
  const byRemainder = exact.map((value, i) => ({ i, remainder: value - quota[i] })).sort((a, b) => b.remainder - a.remainder || a.i - b.i);
  const short = Math.round(total * fraction) - quota.reduce((sum, q) => sum + q, 0);
  for (let k = 0; k < short; k++) quota[byRemainder[k].i]++;
  return quota;
}

/** A different seed stream from the trainer's own, so the held-out samples do not follow the shuffle order. */
const SPLIT_SEED_OFFSET = 0x5eed;

/**
 * Holds out round(count x fraction) samples, drawn by a shuffle seeded from the job's training
 * seed, so a resumed run, and an evaluation of its model, hold out the same ones. Labelled data is
 * split stratified: each class gives its share (largest remainders settle the rounding), so a rare
 * class is not left out of the validation set by chance.
 */
export function splitDataset(dataset: Dataset, fraction: number, trainingSeed: number): { train: Dataset; validation: Dataset } {
  const { train, validation } = splitIndexes(dataset, fraction, trainingSeed);
  return { train: pick(dataset, train), validation: pick(dataset, validation) };
}

/** Which samples splitDataset puts on each side, as indexes into the dataset, in the shuffled order. */
export function splitIndexes(dataset: Dataset, fraction: number, trainingSeed: number): { train: Uint32Array; validation: Uint32Array } {
  const order = new Uint32Array(dataset.count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  new Rng(trainingSeed + SPLIT_SEED_OFFSET).shuffle(order);
  const held = Math.round(dataset.count * fraction);
  if (!dataset.labels) return { train: order.slice(held), validation: order.slice(0, held) };

  const byClass = new Map<number, number[]>();
  for (const index of order) {
    const label = dataset.labels[index];
    const members = byClass.get(label) ?? [];
    members.push(index);
    byClass.set(label, members);
  }
  const classes = [...byClass.entries()].sort(([a], [b]) => a - b);
  const quota = stratifiedQuotas(classes.map(([, members]) => members.length), fraction);
  const validation: number[] = [];
  const train: number[] = [];
  classes.forEach(([, members], i) => {
    validation.push(...members.slice(0, quota[i]));
    train.push(...members.slice(quota[i]));
  });
  // Back to the shuffled order, so neither part is sorted by class.
  const position = new Uint32Array(dataset.count);
  order.forEach((index, at) => { position[index] = at; });
  const inOrder = (indexes: number[]): Uint32Array => Uint32Array.from(indexes.sort((a, b) => position[a] - position[b]));
  return { train: inOrder(train), validation: inOrder(validation) };
}
