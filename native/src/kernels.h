// The native kernels: the Kernels interface of src/core/kernels.ts over raw float pointers.
// Every kernel takes the thread team that runs its tiles first, then llm.c's order: outputs,
// inputs, sizes. Products run on OpenBLAS, one single-threaded sgemm call per tile; a single
// sample's forward product runs on a matrix-vector kernel of our own where the CPU has AVX-512.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "team.h"

// Floats in a cache line: tiles start on one, so no line is written by two threads.
constexpr int LINE_FLOATS = 16;

inline int ceilDiv(long a, long b) { return static_cast<int>((a + b - 1) / b); }

// How a product's output splits into tiles of whole lines along one extent (columns or rows).
// The split depends on the shape alone, never on the thread count, so every output element is
// computed by the same call whoever takes its tile, and results keep their bits.
struct Tiling {
  int extent;
  int tiles;

  // Tile t's first index. The lines are dealt out as evenly as whole lines allow: 800 columns in
  // 6 tiles are 128, 128, 144, 128, 128 and 144 wide, which two threads split 400:400, where tiles
  // of one width (144 × 5 and 80) would leave one of them 432.
  int start(int tile) const {
    const long lines = ceilDiv(extent, LINE_FLOATS);
    return std::min<long>(extent, tile * lines / tiles * LINE_FLOATS);
  }
  int size(int tile) const { return start(tile + 1) - start(tile); }
};

// What one unit of a product's extent (an output column, or a weight row) costs: its arithmetic,
// and the bytes it reads and writes. A single-sample product does 2 flops per 4-byte weight and
// is bound by moving the weights; a batch-64 product does 128 and is bound by arithmetic.
struct UnitCost {
  double flop;
  double bytes;
};

inline Tiling tiling(int extent, UnitCost cost) {
  // Enough tiles for two threads to balance when one of them is slowed (6 lets the split be 3:3,
  // 4:2 or 5:1), and none so small that the call's start-up outweighs its work: about 5 µs of
  // one core, at 80 GFLOP/s of sgemm and 20 GB/s from the shared cache or the other core's.
  constexpr int TARGET_TILES = 6;
  constexpr double FLOP_PER_NS = 80;
  constexpr double BYTES_PER_NS = 20;
  constexpr double MIN_TILE_NS = 5000;
  if (extent == 0) return {0, 0};
  const double unitNs = cost.flop / FLOP_PER_NS + cost.bytes / BYTES_PER_NS;
  const int wanted = static_cast<int>(std::clamp(extent * unitNs / MIN_TILE_NS, 1.0, static_cast<double>(TARGET_TILES)));
  return {extent, std::min(wanted, ceilDiv(extent, LINE_FLOATS))};
}

// The rectifier a fused product applies to its tile, as src/core/activations.ts's: relu for a
// negativeSlope of 0, leaky_relu otherwise; `none` leaves the product as it is.
struct Rectifier {
  bool apply;
  float negativeSlope;
};
constexpr Rectifier NO_RECTIFIER{false, 0.0f};

// z = inp · weightᵀ + bias; with a rectifier, also a = f(z) on each tile while it is in cache.
void matmulForward(Team& team, float* z, float* a, const float* inp, const float* weight, const float* bias,
                   int batch, int inDim, int outDim, Rectifier rectifier);
// dInp = dOut · weight; with a rectifier, dInp = f'(z) ⊙ mask ⊙ (dOut · weight) on each tile, where
// z is the layer below's pre-activations and mask (or null) its dropout multipliers.
void matmulBackwardInput(Team& team, float* dInp, const float* dOut, const float* weight, const float* z, const float* mask,
                         int batch, int inDim, int outDim, Rectifier rectifier);
void matmulBackwardWeight(Team& team, float* dWeight, float* dBias, const float* dOut, const float* inp,
                          int batch, int inDim, int outDim);

void rectifierForward(Team& team, float* a, const float* z, std::size_t n, float negativeSlope);
void rectifierBackward(Team& team, float* dZ, const float* dA, const float* z, std::size_t n, float negativeSlope);
// The same loops over one row segment of n floats, for the products' fused epilogues.
void rectifyRow(float* a, const float* z, std::size_t n, float negativeSlope);
void rectifyGradientRow(float* dZ, const float* z, const float* mask, std::size_t n, float negativeSlope);

void zero(Team& team, float* values, std::size_t n);
void sgdStep(Team& team, float* params, const float* grads, std::size_t n, std::size_t weightCount, float l2, float lr);
void momentumStep(Team& team, float* params, const float* grads, float* velocity, std::size_t n, std::size_t weightCount,
                  float l2, float lr, float mu);
void nesterovStep(Team& team, float* params, const float* grads, float* velocity, std::size_t n, std::size_t weightCount,
                  float l2, float lr, float mu);
void adamStep(Team& team, float* params, const float* grads, float* m, float* v, std::size_t n, std::size_t weightCount,
              float l2, float stepSize, float beta1, float beta2, float epsilon);

double sumOfSquares(const float* values, std::size_t n);
double sumOfSquaredDifferences(const float* a, const float* b, std::size_t n);
void columnMax(float* peak, const float* z, int batch, int width);
void loadByteRows(Team& team, float* out, const std::uint8_t* bytes, const std::uint32_t* order, int count, int width, double scale);

// Runs loop(start, end) over [0, n) in chunks of whole cache lines, shared by the team. Every
// float gets the same arithmetic in whichever chunk it falls, so the split cannot change a bit.
template <typename Loop>
void forChunks(Team& team, std::size_t n, const Loop& loop) {
  // 16,384 floats (64 KiB) a chunk: an optimizer step over 784-800-10's parameters is 39 chunks.
  constexpr std::size_t CHUNK_FLOATS = 16384;
  struct Context {
    const Loop* loop;
    std::size_t n;
  } context{&loop, n};
  Job job{
      [](const void* c, int tile) {
        auto& [body, size] = *static_cast<const Context*>(c);
        std::size_t start = static_cast<std::size_t>(tile) * CHUNK_FLOATS;
        (*body)(start, std::min(size, start + CHUNK_FLOATS));
      },
      &context, ceilDiv(static_cast<long>(n), CHUNK_FLOATS)};
  team.run(job);
}
