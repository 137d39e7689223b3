#include <cblas.h>

#include "kernels.h"

namespace {

struct Forward {
  float* out;
  const float* inp;
  const float* weight;
  const float* bias;
  int batch, inDim, outDim;
  Tiling tiles;
};

// Output columns [o0, o0 + cols) for every sample, then the bias added while they are in cache.
void forwardTile(const void* context, int tile) {
  const auto& f = *static_cast<const Forward*>(context);
  const int o0 = tile * f.tiles.width;
  const int cols = std::min(f.tiles.width, f.outDim - o0);
  const float* w = f.weight + static_cast<std::size_t>(o0) * f.inDim;
  if (f.batch == 1) {
    // One sample is a matrix-vector product: sgemm would pack the whole weight tile for one row.
    cblas_sgemv(CblasRowMajor, CblasNoTrans, cols, f.inDim, 1.0f, w, f.inDim, f.inp, 1, 0.0f, f.out + o0, 1);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, f.batch, cols, f.inDim,
                1.0f, f.inp, f.inDim, w, f.inDim, 0.0f, f.out + o0, f.outDim);
  }
  for (int b = 0; b < f.batch; b++) {
    float* row = f.out + static_cast<std::size_t>(b) * f.outDim + o0;
    const float* bias = f.bias + o0;
    for (int j = 0; j < cols; j++) row[j] += bias[j];
  }
}

}  // namespace

void matmulForward(Team& team, float* out, const float* inp, const float* weight, const float* bias,
                   int batch, int inDim, int outDim) {
  // inp is (batch, inDim), weight is (outDim, inDim), bias is (outDim), out is (batch, outDim).
  // out = inp · weightᵀ + bias, split into tiles of output columns (weight rows).
  if (batch == 0) return;
  Forward f{out, inp, weight, bias, batch, inDim, outDim, tiling(outDim, 2.0 * batch * inDim)};
  team.run({forwardTile, &f, f.tiles.tiles});
}
