/**
 * Turns a drawing into an MNIST-style digit, the way the MNIST images were made (LeCun et al.):
 * the ink's bounding box is scaled, keeping its aspect ratio, to fit a 20×20 box with
 * anti-aliasing, and that image is placed in a 28×28 field so its centre of mass sits at the
 * centre. Pure: no DOM, so it is tested in Node and used unchanged in the browser.
 */

export const MNIST_SIDE = 28;
/** The longest side of the digit after scaling, in pixels. */
export const DIGIT_BOX = 20;

/** For each output cell of an axis, the input cells it covers and by how much (weights sum to 1). */
function areaWeights(inputLength: number, outputLength: number): { index: number; weight: number }[][] {
  const span = inputLength / outputLength;
  return Array.from({ length: outputLength }, (_, out) => {
    const start = out * span;
    const end = start + span;
    const cells: { index: number; weight: number }[] = [];
    for (let index = Math.floor(start); index < Math.min(inputLength, Math.ceil(end)); index++) {
      const overlap = Math.min(end, index + 1) - Math.max(start, index);
      if (overlap > 0) cells.push({ index, weight: overlap / span });
    }
    return cells;
  });
}

/**
 * Area-averaging resize of the box (x0, y0, width, height) of `ink` (rows of `stride` values)
 * to outWidth × outHeight: each output pixel is the mean of the input area it covers, which is
 * the anti-aliasing MNIST's digits have. Separable: rows first, then columns.
 */
function resizeBox(ink: ArrayLike<number>, stride: number, x0: number, y0: number, width: number, height: number, outWidth: number, outHeight: number): Float64Array {
  const columns = areaWeights(width, outWidth);
  const rows = areaWeights(height, outHeight);
  // wide is (height, outWidth): each input row of the box resized horizontally.
  const wide = new Float64Array(height * outWidth);
  for (let y = 0; y < height; y++) {
    const rowStart = (y0 + y) * stride + x0;
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      for (const { index, weight } of columns[x]) sum += ink[rowStart + index] * weight;
      wide[y * outWidth + x] = sum;
    }
  }
  // out is (outHeight, outWidth): the columns of wide resized vertically.
  const out = new Float64Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    for (const { index, weight } of rows[y]) {
      const from = index * outWidth;
      for (let x = 0; x < outWidth; x++) out[y * outWidth + x] += wide[from + x] * weight;
    }
  }
  return out;
}

/**
 * `ink` holds width × height values, 0 (paper) to 255 (full ink), row by row. Answers the
 * 28×28 digit as 0..255 bytes, or null when nothing was drawn.
 */
export function centreDigit(ink: ArrayLike<number>, width: number, height: number): Uint8Array | null {
  let left = width;
  let right = -1;
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] <= 0) continue;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
    }
  }
  if (right < 0) return null;

  const boxWidth = right - left + 1;
  const boxHeight = bottom - top + 1;
  const scale = DIGIT_BOX / Math.max(boxWidth, boxHeight);
  const digitWidth = Math.max(1, Math.round(boxWidth * scale));
  const digitHeight = Math.max(1, Math.round(boxHeight * scale));
  const digit = resizeBox(ink, width, left, top, boxWidth, boxHeight, digitWidth, digitHeight);

  // Centre of mass, with pixel x covering [x, x + 1), so its centre is x + 0.5.
  let mass = 0;
  let massX = 0;
  let massY = 0;
  for (let y = 0; y < digitHeight; y++) {
    for (let x = 0; x < digitWidth; x++) {
      const value = digit[y * digitWidth + x];
      mass += value;
      massX += value * (x + 0.5);
      massY += value * (y + 0.5);
    }
  }
  const shiftX = Math.round(MNIST_SIDE / 2 - massX / mass);
  const shiftY = Math.round(MNIST_SIDE / 2 - massY / mass);

  const out = new Uint8Array(MNIST_SIDE * MNIST_SIDE);
  for (let y = 0; y < digitHeight; y++) {
    const outY = y + shiftY;
    if (outY < 0 || outY >= MNIST_SIDE) continue;
    for (let x = 0; x < digitWidth; x++) {
      const outX = x + shiftX;
      if (outX < 0 || outX >= MNIST_SIDE) continue;
      out[outY * MNIST_SIDE + outX] = Math.min(255, Math.round(digit[y * digitWidth + x]));
    }
  }
  return out;
}
