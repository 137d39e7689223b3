#include <cblas.h>

#include <cstring>

#include "kernels.h"

namespace {

struct BackwardInput {
  float* dInp;
  const float* dOut;
  const float* weight;
  int batch, inDim, outDim;
  Tiling tiles;
};

void backwardInputTile(const void* context, int tile) {
  const auto& g = *static_cast<const BackwardInput*>(context);
  const int i0 = tile * g.tiles.width;
  const int cols = std::min(g.tiles.width, g.inDim - i0);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.batch, cols, g.outDim,
              1.0f, g.dOut, g.outDim, g.weight + i0, g.inDim, 0.0f, g.dInp + i0, g.inDim);
}

}  // namespace

void matmulBackwardInput(Team& team, float* dInp, const float* dOut, const float* weight,
                         int batch, int inDim, int outDim) {
  // dOut is (batch, outDim), weight is (outDim, inDim), dInp is (batch, inDim).
  // Reverses out = inp · weightᵀ: dInp = dOut · weight (overwrites), in tiles of dInp's columns.
  if (batch == 0) return;
  if (outDim == 0) {
    // An empty sum: BLAS leaves C alone when there is nothing to multiply.
    std::memset(dInp, 0, sizeof(float) * static_cast<std::size_t>(batch) * inDim);
    return;
  }
  BackwardInput g{dInp, dOut, weight, batch, inDim, outDim, tiling(inDim, 2.0 * batch * outDim)};
  team.run({backwardInputTile, &g, g.tiles.tiles});
}
