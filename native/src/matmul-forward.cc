#include <cblas.h>

#include "kernels.h"

#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))

namespace {

struct Forward {
  float* z;
  float* a;
  const float* inp;
  const float* weight;
  const float* bias;
  int batch, inDim, outDim;
  Rectifier rectifier;
  Tiling tiles;
};

VECTORISED void addBias(float* row, const float* bias, int cols) {
  for (int j = 0; j < cols; j++) row[j] += bias[j];
}

// Output columns [o0, o0 + cols) for every sample, then the bias and the rectifier applied while
// the tile is in this core's cache.
void forwardTile(const void* context, int tile) {
  const auto& f = *static_cast<const Forward*>(context);
  const int o0 = tile * f.tiles.width;
  const int cols = std::min(f.tiles.width, f.outDim - o0);
  const float* w = f.weight + static_cast<std::size_t>(o0) * f.inDim;
  if (f.batch == 1) {
    // One sample is a matrix-vector product: sgemm would pack the whole weight tile for one row.
    cblas_sgemv(CblasRowMajor, CblasNoTrans, cols, f.inDim, 1.0f, w, f.inDim, f.inp, 1, 0.0f, f.z + o0, 1);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, f.batch, cols, f.inDim,
                1.0f, f.inp, f.inDim, w, f.inDim, 0.0f, f.z + o0, f.outDim);
  }
  for (int b = 0; b < f.batch; b++) {
    const std::size_t row = static_cast<std::size_t>(b) * f.outDim + o0;
    addBias(f.z + row, f.bias + o0, cols);
    if (f.rectifier.apply) rectifyRow(f.a + row, f.z + row, cols, f.rectifier.negativeSlope);
  }
}

}  // namespace

void matmulForward(Team& team, float* z, float* a, const float* inp, const float* weight, const float* bias,
                   int batch, int inDim, int outDim, Rectifier rectifier) {
  // inp is (batch, inDim), weight is (outDim, inDim), bias is (outDim), z and a are (batch, outDim).
  // z = inp · weightᵀ + bias, split into tiles of output columns (weight rows); a unit's cost is
  // its weight row, its columns of z and a, and 2·inDim flops a sample. The cost, and so the
  // tiles, are the same with or without the rectifier, so fusing it cannot change z.
  if (batch == 0) return;
  const UnitCost cost{2.0 * batch * inDim, 4.0 * inDim + 8.0 * batch};
  Forward f{z, a, inp, weight, bias, batch, inDim, outDim, rectifier, tiling(outDim, cost)};
  team.run({forwardTile, &f, f.tiles.tiles});
}
