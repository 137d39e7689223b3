import type { ElementwiseKernels } from './kernels.js';
import { referenceKernels } from './reference-kernels.js';
import type { Rng } from './rng.js';
import type { AugmentConfig, Dataset, FloatArray } from './types.js';

/** Byte pixels run 0..MAX_PIXEL and are scaled to 0..1 for training and prediction alike. */
export const MAX_PIXEL = 255;
const PIXEL_SCALE = 1 / MAX_PIXEL;

/**
 * Copies samples, in a given order, into a network's reused input buffer and a
 * reused target buffer, normalising 0..255 pixels to 0..1 on the fly, and
 * optionally augmenting images with random shifts and small rotations.
 */
export class BatchLoader {
  /** (maxBatch, outputSize): one-hot labels, 0/1 labels for one output, or regression targets. */
  readonly target: Float32Array;

  constructor(
    private readonly data: Dataset,
    private readonly input: FloatArray,
    private readonly outputSize: number,
    maxBatch: number,
    private readonly kernels: Pick<ElementwiseKernels, 'loadByteRows'> = referenceKernels,
  ) {
    this.target = new Float32Array(maxBatch * outputSize);
  }

  /** Loads samples order[start .. start + count); with `augment` and an rng, each image gets its own random transform. */
  fill(order: Uint32Array, start: number, count: number, augment: AugmentConfig | null = null, rng: Rng | null = null): void {
    const { data, input, outputSize: k } = this;
    const size = data.inputSize;
    const canAugment = augment !== null && rng !== null && data.inputs instanceof Uint8Array && !!data.width && !!data.height;
    if (data.inputs instanceof Uint8Array && !canAugment) {
      this.kernels.loadByteRows(input, data.inputs, order, start, count, size, PIXEL_SCALE);
    } else {
      for (let b = 0; b < count; b++) {
        const source = order[start + b] * size;
        const row = b * size;
        if (canAugment) {
          transformImage(input, row, data.inputs as Uint8Array, source, data.width!, data.height!, augment, rng);
        } else {
          const values = data.inputs;
          for (let i = 0; i < size; i++) input[row + i] = values[source + i];
        }
      }
    }
    for (let b = 0; b < count; b++) this.fillTarget(b, order[start + b], k);
  }

  private fillTarget(b: number, sample: number, k: number): void {
    const { target, data } = this;
    const row = b * k;
    if (data.labels) {
      const label = data.labels[sample];
      if (k === 1) {
        target[row] = label;
        return;
      }
      for (let j = 0; j < k; j++) target[row + j] = 0;
      target[row + label] = 1;
    } else if (data.targets) {
      const from = sample * k;
      for (let j = 0; j < k; j++) target[row + j] = data.targets[from + j];
    }
  }
}

/**
 * Writes a randomly shifted (and, if enabled, rotated) copy of one image, scaled to 0..1.
 * The transform is inverted per output pixel: rotate about the centre, then shift, and
 * sample the source bilinearly; pixels that come from outside the image are 0 (background).
 */
function transformImage(
  out: FloatArray, outOffset: number, pixels: Uint8Array, srcOffset: number,
  width: number, height: number, augment: AugmentConfig, rng: Rng,
): void {
  const span = 2 * augment.maxShift + 1;
  const dx = rng.nextInt(span) - augment.maxShift;
  const dy = rng.nextInt(span) - augment.maxShift;
  if (augment.maxRotationDegrees <= 0) {
    for (let y = 0; y < height; y++) {
      const sy = y - dy;
      for (let x = 0; x < width; x++) {
        const sx = x - dx;
        const inside = sx >= 0 && sx < width && sy >= 0 && sy < height;
        out[outOffset + y * width + x] = inside ? pixels[srcOffset + sy * width + sx] * PIXEL_SCALE : 0;
      }
    }
    return;
  }
  const angle = (rng.nextFloat() * 2 - 1) * augment.maxRotationDegrees * (Math.PI / 180);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const ux = x - dx - cx;
      const uy = y - dy - cy;
      const sx = cos * ux + sin * uy + cx;
      const sy = -sin * ux + cos * uy + cy;
      out[outOffset + y * width + x] = bilinear(pixels, srcOffset, width, height, sx, sy) * PIXEL_SCALE;
    }
  }
}

function bilinear(pixels: Uint8Array, offset: number, width: number, height: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const top = pixelAt(pixels, offset, width, height, x0, y0) * (1 - fx) + pixelAt(pixels, offset, width, height, x0 + 1, y0) * fx;
  const bottom =
    pixelAt(pixels, offset, width, height, x0, y0 + 1) * (1 - fx) + pixelAt(pixels, offset, width, height, x0 + 1, y0 + 1) * fx;
  return top * (1 - fy) + bottom * fy;
}

function pixelAt(pixels: Uint8Array, offset: number, width: number, height: number, x: number, y: number): number {
  return x >= 0 && x < width && y >= 0 && y < height ? pixels[offset + y * width + x] : 0;
}
