/**
 * WebAssembly SIMD kernels for the three matrix products of a dense layer, compiled
 * twice: with plain SIMD (multiply, then add) and with relaxed SIMD (fused multiply-add).
 *
 * Pointers are byte offsets into the shared linear memory; sizes count floats. Every
 * matrix is row-major and a layer's weight is (outDim, inDim), as in src/core/reference-kernels.ts.
 *
 * As in BLIS, a micro-kernel does all the arithmetic: a 4 × 8 tile of C updated by a
 * sum of outer products. Each product only chooses how the tile walks its operands, so
 * none of them runs at "transposed" speed:
 * - forward: inp is packed into panels of 8 samples, weight rows are broadcast;
 * - input gradient: dOut is broadcast against rows of weight, as stored;
 * - weight gradient: dOut is broadcast against rows of inp, as stored.
 *
 * Each kernel computes one range of output rows or columns, so threads split a product
 * without splitting a reduction: an output element is always summed by one thread, in
 * the same order, whatever the thread count.
 *
 * Tiles read 8 floats per row, up to 7 past the end of a matrix row. Those lanes are never
 * stored, and the allocator keeps padding after every buffer so the reads stay in memory.
 */

/** Rows of the register tile. 4 × 8 floats are 8 f32x4 accumulators, which leaves room
 * for 2 column vectors and 1 broadcast in the 15 vector registers V8 allocates on x64. */
const TILE_ROWS: i32 = 4;
/** Columns of the register tile: two f32x4 vectors. */
const TILE_COLS: i32 = 8;
const TILE_ROW_BYTES: usize = <usize>TILE_COLS << 2;
const TILE_BYTES: usize = <usize>TILE_ROWS * TILE_ROW_BYTES;
/** Batches up to this size take the forward product as dot products along inDim: a panel
 * of 8 packed samples would be mostly padding. Set where the two paths measured even. */
const DOT_PRODUCT_MAX_BATCH: i32 = 3;
/** Depth of a block of the input gradient's reduction: 256 rows of 8 weight columns stay in L1. */
const INPUT_GRADIENT_DEPTH: i32 = 256;
/** Samples per block of the weight gradient's reduction, so a block of inputs stays in L2. */
const WEIGHT_GRADIENT_DEPTH: i32 = 128;
/** The weight gradient packs its inputs when a thread computes at least this many weight
 * rows: below it, copying the batch costs more than the tiles save (measured at outDim 10). */
const PACKED_WEIGHT_GRADIENT_MIN_ROWS: i32 = 32;

/** a·b + c: one fused multiply-add with relaxed SIMD, else a multiply and an add. */
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * The micro-kernel: c[r][0..7] (+)= Σ_s a_r[s] · b[s][0..7] for the 4 rows r of a tile.
 * A's rows are read along their length from a0..a3, one float per step; B is read 8
 * floats per step from b on, advancing bStep bytes per step. C is 4 rows of 8 floats
 * at c, cRow bytes apart; with accumulate false its old values are ignored.
 *
 * kernel4x8T below is the same tile for an A stored transposed. The two differ only in
 * how A is addressed, and each form measured slowest on the other's layout (by 4 to
 * 10%), so the loop is written out twice.
 */
function kernel4x8(
  c: usize, cRow: usize, accumulate: bool,
  a0: usize, a1: usize, a2: usize, a3: usize, b: usize, bStep: usize, steps: i32,
): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  if (accumulate) {
    c00 = v128.load(c);
    c01 = v128.load(c, 16);
    c10 = v128.load(c + cRow);
    c11 = v128.load(c + cRow, 16);
    c20 = v128.load(c + 2 * cRow);
    c21 = v128.load(c + 2 * cRow, 16);
    c30 = v128.load(c + 3 * cRow);
    c31 = v128.load(c + 3 * cRow, 16);
  }
  const end = <usize>steps << 2;
  for (let k: usize = 0; k < end; k += 4) {
    const x0 = v128.load(b);
    const x1 = v128.load(b, 16);
    const s0 = v128.load32_splat(a0 + k);
    c00 = madd(s0, x0, c00);
    c01 = madd(s0, x1, c01);
    const s1 = v128.load32_splat(a1 + k);
    c10 = madd(s1, x0, c10);
    c11 = madd(s1, x1, c11);
    const s2 = v128.load32_splat(a2 + k);
    c20 = madd(s2, x0, c20);
    c21 = madd(s2, x1, c21);
    const s3 = v128.load32_splat(a3 + k);
    c30 = madd(s3, x0, c30);
    c31 = madd(s3, x1, c31);
    b += bStep;
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c + cRow, c10);
  v128.store(c + cRow, c11, 16);
  v128.store(c + 2 * cRow, c20);
  v128.store(c + 2 * cRow, c21, 16);
  v128.store(c + 3 * cRow, c30);
  v128.store(c + 3 * cRow, c31, 16);
}

/**
 * The micro-kernel for an A stored transposed: the 4 floats a step needs are consecutive,
 * at a, advancing aStep bytes per step, and are read with constant offsets from one pointer.
 */
function kernel4x8T(
  c: usize, cRow: usize, accumulate: bool,
  a: usize, aStep: usize, b: usize, bStep: usize, steps: i32,
): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  if (accumulate) {
    c00 = v128.load(c);
    c01 = v128.load(c, 16);
    c10 = v128.load(c + cRow);
    c11 = v128.load(c + cRow, 16);
    c20 = v128.load(c + 2 * cRow);
    c21 = v128.load(c + 2 * cRow, 16);
    c30 = v128.load(c + 3 * cRow);
    c31 = v128.load(c + 3 * cRow, 16);
  }
  for (let s = 0; s < steps; s++) {
    const x0 = v128.load(b);
    const x1 = v128.load(b, 16);
    const s0 = v128.load32_splat(a);
    c00 = madd(s0, x0, c00);
    c01 = madd(s0, x1, c01);
    const s1 = v128.load32_splat(a, 4);
    c10 = madd(s1, x0, c10);
    c11 = madd(s1, x1, c11);
    const s2 = v128.load32_splat(a, 8);
    c20 = madd(s2, x0, c20);
    c21 = madd(s2, x1, c21);
    const s3 = v128.load32_splat(a, 12);
    c30 = madd(s3, x0, c30);
    c31 = madd(s3, x1, c31);
    a += aStep;
    b += bStep;
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c + cRow, c10);
  v128.store(c + cRow, c11, 16);
  v128.store(c + 2 * cRow, c20);
  v128.store(c + 2 * cRow, c21, 16);
  v128.store(c + 3 * cRow, c30);
  v128.store(c + 3 * cRow, c31, 16);
}

/** Copies `rows` rows of 8 floats from src to dst, storing only the first `cols` of each. */
function copyTile(dst: usize, dstRow: usize, src: usize, srcRow: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    storeRow8(dst, v128.load(src), v128.load(src, 16), cols);
    dst += dstRow;
    src += srcRow;
  }
}

/** Stores the first `count` (1..8) floats of the 8-float row (lo, hi) at dst. */
@inline function storeRow8(dst: usize, lo: v128, hi: v128, count: i32): void {
  if (count >= 4) {
    v128.store(dst, lo);
    storeLanes(dst + 16, hi, count - 4);
  } else {
    storeLanes(dst, lo, count);
  }
}

/** Stores the first `count` (0..4) lanes of v to consecutive floats at dst. */
@inline function storeLanes(dst: usize, v: v128, count: i32): void {
  if (count >= 4) {
    v128.store(dst, v);
    return;
  }
  if (count > 0) v128.store32_lane(dst, v, 0);
  if (count > 1) v128.store32_lane(dst, v, 1, 4);
  if (count > 2) v128.store32_lane(dst, v, 2, 8);
}

/**
 * Transposes the 4 × 4 block whose rows are r0..r3, adds `add` to each transposed row
 * and stores the first `cols` floats of the first `rows` of them at dst, dst + dstRow, …
 */
@inline function storeTransposed(dst: usize, dstRow: usize, r0: v128, r1: v128, r2: v128, r3: v128, add: v128, rows: i32, cols: i32): void {
  const r01lo = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const r01hi = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const r23lo = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const r23hi = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  if (rows > 0) storeLanes(dst, f32x4.add(v128.shuffle<f32>(r01lo, r23lo, 0, 1, 4, 5), add), cols);
  if (rows > 1) storeLanes(dst + dstRow, f32x4.add(v128.shuffle<f32>(r01lo, r23lo, 2, 3, 6, 7), add), cols);
  if (rows > 2) storeLanes(dst + 2 * dstRow, f32x4.add(v128.shuffle<f32>(r01hi, r23hi, 0, 1, 4, 5), add), cols);
  if (rows > 3) storeLanes(dst + 3 * dstRow, f32x4.add(v128.shuffle<f32>(r01hi, r23hi, 2, 3, 6, 7), add), cols);
}

/** Floats of per-thread scratch the kernels need: a tile buffer, then the packed input. */
export function scratchLength(batch: i32, inDim: i32): i32 {
  const panels = (batch + TILE_COLS - 1) / TILE_COLS;
  const featurePanels = (inDim + TILE_COLS - 1) / TILE_COLS;
  return TILE_ROWS * TILE_COLS + panels * TILE_COLS * featurePanels * TILE_COLS;
}

/**
 * Packs inp (batch, inDim) into panels of 8 samples: packed[p][k][j] = inp[8p + j][k],
 * so the micro-kernel reads 8 samples of one input feature as two vectors.
 * Samples past the batch are packed as zeros.
 */
function packSamplePanels(packed: usize, inp: usize, batch: i32, inDim: i32): void {
  const rowBytes = <usize>inDim << 2;
  const panelBytes = rowBytes * TILE_COLS;
  const k4 = inDim & ~3;
  if (batch % TILE_COLS != 0) memory.fill(packed + <usize>(batch / TILE_COLS) * panelBytes, 0, panelBytes);
  for (let b0 = 0; b0 < batch; b0 += 4) {
    // Four samples fill lanes 0..3 or 4..7 of their panel.
    const dst = packed + <usize>(b0 / TILE_COLS) * panelBytes + (<usize>(b0 % TILE_COLS) << 2);
    const src = inp + <usize>b0 * rowBytes;
    if (b0 + 4 > batch) {
      // Remainder loop: the last batch % 4 samples, one float at a time.
      for (let j = 0; j < batch - b0; j++) {
        for (let k = 0; k < inDim; k++) {
          store<f32>(dst + <usize>k * TILE_ROW_BYTES + (<usize>j << 2), load<f32>(src + <usize>j * rowBytes + (<usize>k << 2)));
        }
      }
      return;
    }
    const zero = f32x4.splat(0);
    for (let k = 0; k < k4; k += 4) {
      const at = src + (<usize>k << 2);
      const r0 = v128.load(at);
      const r1 = v128.load(at + rowBytes);
      const r2 = v128.load(at + 2 * rowBytes);
      const r3 = v128.load(at + 3 * rowBytes);
      storeTransposed(dst + <usize>k * TILE_ROW_BYTES, TILE_ROW_BYTES, r0, r1, r2, r3, zero, 4, 4);
    }
    // Remainder loop: the last inDim % 4 features, one at a time.
    for (let k = k4; k < inDim; k++) {
      const at = src + (<usize>k << 2);
      let column = f32x4.splat(load<f32>(at));
      column = f32x4.replace_lane(column, 1, load<f32>(at + rowBytes));
      column = f32x4.replace_lane(column, 2, load<f32>(at + 2 * rowBytes));
      column = f32x4.replace_lane(column, 3, load<f32>(at + 3 * rowBytes));
      v128.store(dst + <usize>k * TILE_ROW_BYTES, column);
    }
  }
}

/**
 * out = inp · weightᵀ + bias, for the output columns [oStart, oEnd).
 * inp is (batch, inDim), weight is (outDim, inDim), bias is (outDim), out is (batch, outDim);
 * scratch is this thread's scratchLength(batch, inDim) floats.
 *
 * A tile is 4 output columns × 8 samples: 4 weight rows broadcast against a panel of
 * packed samples. The tile buffer turns it around into out, adding the bias.
 */
export function matmulForward(
  out: usize, inp: usize, weight: usize, bias: usize, scratch: usize,
  batch: i32, inDim: i32, outDim: i32, oStart: i32, oEnd: i32,
): void {
  if (batch <= DOT_PRODUCT_MAX_BATCH) {
    forwardDotProducts(out, inp, weight, bias, batch, inDim, outDim, oStart, oEnd);
    return;
  }
  const buffer = scratch;
  const packed = scratch + TILE_BYTES;
  packSamplePanels(packed, inp, batch, inDim);
  const rowBytes = <usize>inDim << 2;
  const outRowBytes = <usize>outDim << 2;
  const panelBytes = rowBytes * TILE_COLS;
  for (let o = oStart; o < oEnd; o += TILE_ROWS) {
    const units = min(TILE_ROWS, oEnd - o);
    // Weight rows past oEnd repeat row o; their sums are not stored.
    const w0 = weight + <usize>o * rowBytes;
    const w1 = units > 1 ? w0 + rowBytes : w0;
    const w2 = units > 2 ? w0 + 2 * rowBytes : w0;
    const w3 = units > 3 ? w0 + 3 * rowBytes : w0;
    const biasRow = v128.load(bias + (<usize>o << 2));
    for (let b0 = 0; b0 < batch; b0 += TILE_COLS) {
      const panel = packed + <usize>(b0 / TILE_COLS) * panelBytes;
      kernel4x8(buffer, TILE_ROW_BYTES, false, w0, w1, w2, w3, panel, TILE_ROW_BYTES, inDim);
      const dst = out + <usize>b0 * outRowBytes + (<usize>o << 2);
      const t = buffer;
      storeTransposed(dst, outRowBytes, v128.load(t), v128.load(t + TILE_ROW_BYTES), v128.load(t + 2 * TILE_ROW_BYTES), v128.load(t + 3 * TILE_ROW_BYTES), biasRow, batch - b0, units);
      storeTransposed(dst + 4 * outRowBytes, outRowBytes, v128.load(t, 16), v128.load(t + TILE_ROW_BYTES, 16), v128.load(t + 2 * TILE_ROW_BYTES, 16), v128.load(t + 3 * TILE_ROW_BYTES, 16), biasRow, batch - b0 - 4, units);
    }
  }
}

/**
 * matmulForward for a few samples: 4 output columns of one sample at a time, each a dot
 * product of two rows along inDim, 4 floats per step, summed across lanes at the end.
 */
function forwardDotProducts(
  out: usize, inp: usize, weight: usize, bias: usize,
  batch: i32, inDim: i32, outDim: i32, oStart: i32, oEnd: i32,
): void {
  const rowBytes = <usize>inDim << 2;
  const outRowBytes = <usize>outDim << 2;
  const fullBytes = <usize>(inDim & ~3) << 2;
  // The last inDim % 4 features: lanes past the row are zeroed in both operands, as
  // whatever follows a row may be Inf or NaN.
  const tail = inDim & 3;
  const mask = i32x4(tail > 0 ? -1 : 0, tail > 1 ? -1 : 0, tail > 2 ? -1 : 0, 0);
  for (let o = oStart; o < oEnd; o += 4) {
    const units = min(4, oEnd - o);
    // Weight rows past oEnd repeat row o; their sums are not stored.
    const w0 = weight + <usize>o * rowBytes;
    const w1 = units > 1 ? w0 + rowBytes : w0;
    const w2 = units > 2 ? w0 + 2 * rowBytes : w0;
    const w3 = units > 3 ? w0 + 3 * rowBytes : w0;
    const biasRow = v128.load(bias + (<usize>o << 2));
    for (let b = 0; b < batch; b++) {
      const x = inp + <usize>b * rowBytes;
      let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
      for (let k: usize = 0; k < fullBytes; k += 16) {
        const y = v128.load(x + k);
        c0 = madd(y, v128.load(w0 + k), c0);
        c1 = madd(y, v128.load(w1 + k), c1);
        c2 = madd(y, v128.load(w2 + k), c2);
        c3 = madd(y, v128.load(w3 + k), c3);
      }
      if (tail > 0) {
        const y = v128.and(v128.load(x + fullBytes), mask);
        c0 = madd(y, v128.and(v128.load(w0 + fullBytes), mask), c0);
        c1 = madd(y, v128.and(v128.load(w1 + fullBytes), mask), c1);
        c2 = madd(y, v128.and(v128.load(w2 + fullBytes), mask), c2);
        c3 = madd(y, v128.and(v128.load(w3 + fullBytes), mask), c3);
      }
      storeLanes(out + <usize>b * outRowBytes + (<usize>o << 2), f32x4.add(laneSums(c0, c1, c2, c3), biasRow), units);
    }
  }
}

/** [Σ lanes of a, Σ lanes of b, Σ lanes of c, Σ lanes of d]. */
@inline function laneSums(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/**
 * dInp = dOut · weight (overwrites), for the input columns [iStart, iEnd).
 * dOut is (batch, outDim), weight is (outDim, inDim), dInp is (batch, inDim);
 * scratch is this thread's scratchLength floats.
 *
 * A tile is 4 samples × 8 input columns: dOut broadcast against weight rows. The
 * reduction over outDim runs in blocks so a block of weight columns stays in L1; between
 * blocks the partial sums wait in dInp, as float32, exactly as they would in a register.
 */
export function matmulBackwardInput(
  dInp: usize, dOut: usize, weight: usize, scratch: usize,
  batch: i32, inDim: i32, outDim: i32, iStart: i32, iEnd: i32,
): void {
  const rowBytes = <usize>inDim << 2;
  const outRowBytes = <usize>outDim << 2;
  for (let k0 = 0; k0 < outDim; k0 += INPUT_GRADIENT_DEPTH) {
    const steps = min(INPUT_GRADIENT_DEPTH, outDim - k0);
    for (let i = iStart; i < iEnd; i += TILE_COLS) {
      const cols = min(TILE_COLS, iEnd - i);
      const b = weight + <usize>k0 * rowBytes + (<usize>i << 2);
      for (let s = 0; s < batch; s += TILE_ROWS) {
        const rows = min(TILE_ROWS, batch - s);
        // Samples past the batch repeat sample s; their sums are not stored.
        const a0 = dOut + <usize>s * outRowBytes + (<usize>k0 << 2);
        const a1 = rows > 1 ? a0 + outRowBytes : a0;
        const a2 = rows > 2 ? a0 + 2 * outRowBytes : a0;
        const a3 = rows > 3 ? a0 + 3 * outRowBytes : a0;
        const c = dInp + <usize>s * rowBytes + (<usize>i << 2);
        // An edge tile is staged in the tile buffer so nothing outside dInp is written.
        const staged = rows < TILE_ROWS || cols < TILE_COLS;
        if (staged && k0 > 0) copyTile(scratch, TILE_ROW_BYTES, c, rowBytes, rows, TILE_COLS);
        kernel4x8(staged ? scratch : c, staged ? TILE_ROW_BYTES : rowBytes, k0 > 0, a0, a1, a2, a3, b, rowBytes, steps);
        if (staged) copyTile(c, rowBytes, scratch, TILE_ROW_BYTES, rows, cols);
      }
    }
  }
}

/**
 * dWeight = dOutᵀ · inp and dBias = Σ_b dOut (overwrites), for the output rows [oStart, oEnd).
 * dOut is (batch, outDim), inp is (batch, inDim), dWeight is (outDim, inDim), dBias is (outDim);
 * scratch is this thread's scratchLength(batch, inDim) floats.
 *
 * A tile is 4 weight rows × 8 input columns: for each sample, 4 consecutive floats of
 * dOut broadcast against 8 consecutive floats of inp. dOutᵀ is read along its rows,
 * which are dOut's columns, so neither operand is transposed in memory. When enough
 * weight rows reuse them, inp's columns are first copied into panels of 8, so a tile
 * reads its inputs from consecutive bytes rather than one cache line per sample. The first
 * block of samples starts each tile's sums from zero; later blocks add to them.
 */
export function matmulBackwardWeight(
  dWeight: usize, dBias: usize, dOut: usize, inp: usize, scratch: usize,
  batch: i32, inDim: i32, outDim: i32, oStart: i32, oEnd: i32,
): void {
  biasBackward(dBias, dOut, batch, outDim, oStart, oEnd);
  const rowBytes = <usize>inDim << 2;
  if (batch == 0) {
    // Empty sums: no block of samples starts them.
    memory.fill(dWeight + <usize>oStart * rowBytes, 0, <usize>(oEnd - oStart) * rowBytes);
    return;
  }
  const outRowBytes = <usize>outDim << 2;
  // Where the 8 inputs of column panel p and sample s are: b + p·panelBytes + s·sampleBytes.
  let b = inp;
  let panelBytes = TILE_ROW_BYTES;
  let sampleBytes = rowBytes;
  if (oEnd - oStart >= PACKED_WEIGHT_GRADIENT_MIN_ROWS) {
    b = scratch + TILE_BYTES;
    panelBytes = <usize>batch * TILE_ROW_BYTES;
    sampleBytes = TILE_ROW_BYTES;
    packFeaturePanels(b, inp, batch, inDim);
  }
  for (let s0 = 0; s0 < batch; s0 += WEIGHT_GRADIENT_DEPTH) {
    const steps = min(WEIGHT_GRADIENT_DEPTH, batch - s0);
    for (let o = oStart; o < oEnd; o += TILE_ROWS) {
      const rows = min(TILE_ROWS, oEnd - o);
      const a = dOut + <usize>s0 * outRowBytes + (<usize>o << 2);
      for (let i = 0; i < inDim; i += TILE_COLS) {
        const cols = min(TILE_COLS, inDim - i);
        const c = dWeight + <usize>o * rowBytes + (<usize>i << 2);
        const x = b + <usize>(i / TILE_COLS) * panelBytes + <usize>s0 * sampleBytes;
        // An edge tile is staged in the tile buffer so nothing outside dWeight is written;
        // its rows past oEnd read the next floats of dOut, and are not stored.
        const staged = rows < TILE_ROWS || cols < TILE_COLS;
        if (staged && s0 > 0) copyTile(scratch, TILE_ROW_BYTES, c, rowBytes, rows, TILE_COLS);
        kernel4x8T(staged ? scratch : c, staged ? TILE_ROW_BYTES : rowBytes, s0 > 0, a, outRowBytes, x, sampleBytes, steps);
        if (staged) copyTile(c, rowBytes, scratch, TILE_ROW_BYTES, rows, cols);
      }
    }
  }
}

/**
 * Copies inp (batch, inDim) into panels of 8 features: packed[p][b][0..7] = inp[b][8p..8p+7].
 * The last panel's lanes past inDim hold whatever follows the row; they are never stored.
 */
function packFeaturePanels(packed: usize, inp: usize, batch: i32, inDim: i32): void {
  const rowBytes = <usize>inDim << 2;
  const panelBytes = <usize>batch * TILE_ROW_BYTES;
  for (let b = 0; b < batch; b++) {
    const src = inp + <usize>b * rowBytes;
    let dst = packed + <usize>b * TILE_ROW_BYTES;
    for (let i: usize = 0; i < rowBytes; i += TILE_ROW_BYTES) {
      v128.store(dst, v128.load(src + i));
      v128.store(dst, v128.load(src + i, 16), 16);
      dst += panelBytes;
    }
  }
}

/** dBias = Σ_b dOut for the rows [oStart, oEnd): the column sums of dOut, 4 columns at a time. */
function biasBackward(dBias: usize, dOut: usize, batch: i32, outDim: i32, oStart: i32, oEnd: i32): void {
  const outRowBytes = <usize>outDim << 2;
  for (let o = oStart; o < oEnd; o += 4) {
    let sum = f32x4.splat(0);
    let a = dOut + (<usize>o << 2);
    for (let b = 0; b < batch; b++) {
      sum = f32x4.add(sum, v128.load(a));
      a += outRowBytes;
    }
    storeLanes(dBias + (<usize>o << 2), sum, min(4, oEnd - o));
  }
}
