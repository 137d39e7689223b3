import type { Dataset } from '../core/types.js';
import { AppError } from '../errors.js';
import { MAX_SAMPLES, MAX_SAMPLE_VALUES } from './limits.js';
import type { MemoryBudget } from './upload-capacity.js';

/** IDX magic numbers: two zero bytes, type 0x08 (unsigned byte), then the number of dimensions. */
export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;
const MAGIC_BYTES = 4;
const DIMENSION_BYTES = 4;
/**
 * The body buffer starts this small and doubles as bytes arrive, up to the declared size: a header
 * may declare 500M labels in a 1 MB gzip, so memory follows the bytes received, not the claim.
 */
const INITIAL_BODY_BYTES = 64 * 1024;

interface IdxSpec {
  field: string;
  magic: number;
  dimensions: number;
  what: string;
}

const IMAGES: Omit<IdxSpec, 'field'> = { magic: IDX_IMAGES_MAGIC, dimensions: 3, what: 'images' };
const LABELS: Omit<IdxSpec, 'field'> = { magic: IDX_LABELS_MAGIC, dimensions: 1, what: 'labels' };

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count x rows x cols bytes, row-major. */
  pixels: Uint8Array;
}

export interface IdxLabels {
  count: number;
  labels: Uint8Array;
}

function magicError(spec: IdxSpec, magic: number): AppError {
  const other = spec.magic === IDX_IMAGES_MAGIC ? LABELS : IMAGES;
  const hint = magic === other.magic
    ? ` That is an IDX ${other.what} file: are the images and labels parts swapped?`
    : ` Send the file exactly as MNIST publishes it (raw or .gz).`;
  return new AppError(
    'IDX_BAD_MAGIC',
    `${spec.field}: the magic number is ${magic}; an IDX ${spec.what} file starts with ${spec.magic}.${hint}`,
    { field: spec.field, magic, expected: spec.magic },
  );
}

/** Checks the declared dimensions and returns the body size they imply, before anything is allocated. */
function checkDimensions(spec: IdxSpec, dims: number[], maxBytes: number): number {
  const [count, ...sides] = dims;
  if (count < 1 || count > MAX_SAMPLES) {
    throw new AppError('IDX_BAD_DIMENSIONS', `${spec.field}: the header declares ${count} ${spec.what}; a dataset holds 1 to ${MAX_SAMPLES}`, { field: spec.field, dims });
  }
  const pixels = sides.reduce((product, side) => product * side, 1);
  if (sides.some((side) => side < 1) || pixels > MAX_SAMPLE_VALUES) {
    throw new AppError(
      'IDX_BAD_DIMENSIONS',
      `${spec.field}: the header declares ${sides.join('x')} images; each side must be 1 or more, and an image at most ${MAX_SAMPLE_VALUES} pixels`,
      { field: spec.field, dims },
    );
  }
  const bodyBytes = dims.reduce((product, dim) => product * dim, 1);
  if (bodyBytes > maxBytes) {
    throw new AppError(
      'DECOMPRESSED_TOO_LARGE',
      `${spec.field}: the header declares ${dims.join('x')} = ${bodyBytes} bytes, over the limit of ${maxBytes}`,
      { field: spec.field, dims, maxBytes },
    );
  }
  return bodyBytes;
}

/** A buffer of at least `needed` bytes, at most `declared`, holding `filled` bytes of `body`. */
function grow(body: Uint8Array, filled: number, needed: number, declared: number, budget: MemoryBudget, spec: IdxSpec): Uint8Array {
  if (needed <= body.length) return body;
  const size = Math.min(declared, Math.max(needed, body.length * 2));
  budget.reserve(size, `the ${spec.what} of ${spec.field}`);
  const grown = new Uint8Array(size);
  grown.set(body.subarray(0, filled));
  budget.free(body.length);
  return grown;
}

/**
 * Reads one IDX file of unsigned bytes: the header first (big-endian, through a DataView) and
 * every check on it; then a body buffer that grows with the bytes that really arrive.
 */
async function readIdx(source: AsyncIterable<Uint8Array>, spec: IdxSpec, maxBytes: number, budget: MemoryBudget): Promise<{ dims: number[]; body: Uint8Array }> {
  const header = new Uint8Array(MAGIC_BYTES + spec.dimensions * DIMENSION_BYTES);
  let headerFilled = 0;
  let dims: number[] = [];
  let declared = 0;
  let body: Uint8Array | null = null;
  let bodyFilled = 0;

  const view = new DataView(header.buffer);
  for await (const chunk of source) {
    let offset = 0;
    if (!body) {
      offset = Math.min(chunk.length, header.length - headerFilled);
      header.set(chunk.subarray(0, offset), headerFilled);
      headerFilled += offset;
      if (headerFilled >= MAGIC_BYTES && view.getUint32(0) !== spec.magic) throw magicError(spec, view.getUint32(0));
      if (headerFilled < header.length) continue;
      dims = Array.from({ length: spec.dimensions }, (_, i) => view.getUint32(MAGIC_BYTES + i * DIMENSION_BYTES));
      declared = checkDimensions(spec, dims, maxBytes);
      body = grow(new Uint8Array(0), 0, Math.min(declared, INITIAL_BODY_BYTES), declared, budget, spec);
    }
    const remaining = chunk.length - offset;
    if (bodyFilled + remaining > declared) {
      throw new AppError(
        'IDX_TRAILING_BYTES',
        `${spec.field}: the file has bytes after the ${dims[0]} ${spec.what} its header declares; is it a different file?`,
        { field: spec.field, declared: dims },
      );
    }
    body = grow(body, bodyFilled, bodyFilled + remaining, declared, budget, spec);
    body.set(chunk.subarray(offset), bodyFilled);
    bodyFilled += remaining;
  }

  if (!body) {
    throw new AppError(
      'IDX_TRUNCATED',
      `${spec.field}: the file is ${headerFilled} bytes, shorter than the ${header.length}-byte IDX ${spec.what} header`,
      { field: spec.field },
    );
  }
  if (bodyFilled < declared) {
    throw new AppError(
      'IDX_TRUNCATED',
      `${spec.field}: the file is truncated: its header declares ${dims.join('x')} = ${declared} bytes of ${spec.what}, but only ${bodyFilled} follow`,
      { field: spec.field, declaredBytes: declared, receivedBytes: bodyFilled },
    );
  }
  return { dims, body };
}

export async function readIdxImages(source: AsyncIterable<Uint8Array>, field: string, maxBytes: number, budget: MemoryBudget): Promise<IdxImages> {
  const { dims, body } = await readIdx(source, { ...IMAGES, field }, maxBytes, budget);
  return { count: dims[0], rows: dims[1], cols: dims[2], pixels: body };
}

export async function readIdxLabels(source: AsyncIterable<Uint8Array>, field: string, maxBytes: number, budget: MemoryBudget): Promise<IdxLabels> {
  const { dims, body } = await readIdx(source, { ...LABELS, field }, maxBytes, budget);
  return { count: dims[0], labels: body };
}

/** Pairs an images file with its labels file; counts must match. */
export function datasetFromIdx(images: IdxImages, labels: IdxLabels): Dataset {
  if (images.count !== labels.count) {
    throw new AppError(
      'COUNT_MISMATCH',
      `the images file holds ${images.count} images but the labels file holds ${labels.count} labels`,
      { images: images.count, labels: labels.count },
    );
  }
  return {
    count: images.count,
    inputSize: images.rows * images.cols,
    inputs: images.pixels,
    labels: labels.labels,
    targets: null,
    width: images.cols,
    height: images.rows,
  };
}
