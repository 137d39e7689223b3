import type { Sample } from './api-types.js';
import { h } from './dom.js';

/** A sample as a grey image, white on black as MNIST stores it; `scale` maps a value to 0..255. */
export function sampleCanvas(sample: Sample, width: number, height: number, scale: number): HTMLCanvasElement {
  const canvas = h('canvas', { width, height, role: 'img', 'aria-label': `sample ${sample.index}, label ${sample.label ?? 'none'}` });
  const image = new ImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const grey = Math.max(0, Math.min(255, (sample.pixels[i] ?? 0) * scale));
    image.data.set([grey, grey, grey, 255], i * 4);
  }
  canvas.getContext('2d')?.putImageData(image, 0, 0);
  return canvas;
}
