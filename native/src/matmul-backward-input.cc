#include <cblas.h>

#include <cstring>

#include "kernels.h"

namespace {

struct BackwardInput {
  float* dInp;
  const float* dOut;
  const float* weight;
  const float* z;
  const float* mask;
  int batch, inDim, outDim;
  Rectifier rectifier;
  Tiling tiles;
};

// dInp's columns [i0, i0 + cols) for every sample, then, fused, the layer below's dropout and
// rectifier reversed on the same columns while they are in this core's cache.
void backwardInputTile(const void* context, int tile) {
  const auto& g = *static_cast<const BackwardInput*>(context);
  const int i0 = g.tiles.start(tile);
  const int cols = g.tiles.size(tile);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.batch, cols, g.outDim,
              1.0f, g.dOut, g.outDim, g.weight + i0, g.inDim, 0.0f, g.dInp + i0, g.inDim);
  if (!g.rectifier.apply) return;
  for (int b = 0; b < g.batch; b++) {
    const std::size_t row = static_cast<std::size_t>(b) * g.inDim + i0;
    rectifyGradientRow(g.dInp + row, g.z + row, g.mask ? g.mask + row : nullptr, cols, g.rectifier.negativeSlope);
  }
}

}  // namespace

void matmulBackwardInput(Team& team, float* dInp, const float* dOut, const float* weight, const float* z, const float* mask,
                         int batch, int inDim, int outDim, Rectifier rectifier) {
  // dOut is (batch, outDim), weight is (outDim, inDim), dInp, z and mask are (batch, inDim).
  // Reverses out = inp · weightᵀ: dInp = dOut · weight (overwrites), in tiles of dInp's columns;
  // a unit's cost is its weight column, its columns of dInp, z and mask, and 2·outDim flops a
  // sample, whether or not the rectifier is fused, so fusing it cannot change the product.
  if (batch == 0) return;
  if (outDim == 0) {
    // An empty sum: BLAS leaves C alone when there is nothing to multiply, and f'(z)·0 is 0.
    std::memset(dInp, 0, sizeof(float) * static_cast<std::size_t>(batch) * inDim);
    return;
  }
  const UnitCost cost{2.0 * batch * outDim, 4.0 * outDim + 12.0 * batch};
  BackwardInput g{dInp, dOut, weight, z, mask, batch, inDim, outDim, rectifier, tiling(inDim, cost)};
  team.run({backwardInputTile, &g, g.tiles.tiles});
}
