import assert from 'node:assert/strict';
import { test } from 'node:test';
import { centreDigit, DIGIT_BOX, MNIST_SIDE } from '../../web/digit-centring.js';
import { loadMnistDigits, MNIST_PIXELS } from '../helpers/mnist.js';

const CANVAS = 400;
const UPSCALE = 10;

/** Ink bounding box and centre of mass of a 28×28 image. */
function measure(pixels: ArrayLike<number>): { width: number; height: number; centreX: number; centreY: number } {
  let left = MNIST_SIDE, right = -1, top = MNIST_SIDE, bottom = -1, mass = 0, x = 0, y = 0;
  for (let row = 0; row < MNIST_SIDE; row++) {
    for (let column = 0; column < MNIST_SIDE; column++) {
      const value = pixels[row * MNIST_SIDE + column];
      if (value === 0) continue;
      left = Math.min(left, column);
      right = Math.max(right, column);
      top = Math.min(top, row);
      bottom = Math.max(bottom, row);
      mass += value;
      x += value * (column + 0.5);
      y += value * (row + 0.5);
    }
  }
  return { width: right - left + 1, height: bottom - top + 1, centreX: x / mass, centreY: y / mass };
}

/** Cosine similarity of a and b with b shifted by (dx, dy). */
function shiftedCosine(a: ArrayLike<number>, b: ArrayLike<number>, dx: number, dy: number): number {
  let dot = 0, normA = 0, normB = 0;
  for (let row = 0; row < MNIST_SIDE; row++) {
    for (let column = 0; column < MNIST_SIDE; column++) {
      const from = row - dy >= 0 && row - dy < MNIST_SIDE && column - dx >= 0 && column - dx < MNIST_SIDE ? b[(row - dy) * MNIST_SIDE + column - dx] : 0;
      const value = a[row * MNIST_SIDE + column];
      dot += value * from;
      normA += value * value;
      normB += from * from;
    }
  }
  return dot / Math.sqrt(normA * normB);
}

/** A digit blown up ten times (each pixel a 10×10 block) with its corner at (left, top) of a 400×400 canvas. */
function drawnLarge(digit: Uint8Array, left: number, top: number): Uint8Array {
  const canvas = new Uint8Array(CANVAS * CANVAS);
  for (let y = 0; y < MNIST_SIDE * UPSCALE; y++) {
    for (let x = 0; x < MNIST_SIDE * UPSCALE; x++) {
      canvas[(top + y) * CANVAS + left + x] = digit[Math.floor(y / UPSCALE) * MNIST_SIDE + Math.floor(x / UPSCALE)];
    }
  }
  return canvas;
}

test('an empty drawing gives no digit', () => {
  assert.equal(centreDigit(new Uint8Array(CANVAS * CANVAS), CANVAS, CANVAS), null);
});

test('real MNIST digits drawn large in a corner come back as themselves, up to a one-pixel shift', () => {
  const { pixels, count } = loadMnistDigits(20, 3);
  for (let i = 0; i < count; i++) {
    const digit = pixels.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS);
    const centred = centreDigit(drawnLarge(digit, 5 + 4 * i, 110 - 3 * i), CANVAS, CANVAS);
    assert.ok(centred);
    const { width, height, centreX, centreY } = measure(centred);
    assert.equal(Math.max(width, height), DIGIT_BOX, `digit ${i} fills the 20-pixel box: ${width}×${height}`);
    assert.ok(Math.abs(centreX - 14) <= 0.5 && Math.abs(centreY - 14) <= 0.5, `digit ${i} has its centre of mass at (${centreX}, ${centreY})`);
    let best = 0;
    for (const dx of [-1, 0, 1]) for (const dy of [-1, 0, 1]) best = Math.max(best, shiftedCosine(digit, centred, dx, dy));
    assert.ok(best > 0.97, `digit ${i} matches its original with cosine ${best.toFixed(3)}`);
  }
});

test('the aspect ratio is kept: a wide bar stays a bar, 20 pixels long, centred', () => {
  const canvas = new Uint8Array(CANVAS * CANVAS);
  for (let y = 300; y < 320; y++) canvas.fill(255, y * CANVAS + 30, y * CANVAS + 230);
  const centred = centreDigit(canvas, CANVAS, CANVAS);
  assert.ok(centred);
  const { width, height, centreX, centreY } = measure(centred);
  assert.deepEqual({ width, height, centreX, centreY }, { width: 20, height: 2, centreX: 14, centreY: 14 });
  assert.equal(centred[13 * MNIST_SIDE + 4], 255, 'full ink stays full after area averaging');
});
