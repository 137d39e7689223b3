#include <cblas.h>

#include "kernels.h"

namespace {

struct BackwardWeight {
  float* dWeight;
  float* dBias;
  const float* dOut;
  const float* inp;
  int batch, inDim, outDim;
  Tiling tiles;
};

// Weight rows [o0, o0 + rows) and their biases.
void backwardWeightTile(const void* context, int tile) {
  const auto& g = *static_cast<const BackwardWeight*>(context);
  const int o0 = g.tiles.start(tile);
  const int rows = g.tiles.size(tile);
  // dOutᵀ is read in place: OpenBLAS packs it either way. With β = 0 the old gradient is never
  // read, so a training step needs no zeroing pass before it.
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, g.inDim, g.batch,
              1.0f, g.dOut + o0, g.outDim, g.inp, g.inDim, 0.0f, g.dWeight + static_cast<std::size_t>(o0) * g.inDim, g.inDim);
  // dBias = Σ_b dOut, sample by sample as the reference does, across the tile's columns of dOut.
  float* dBias = g.dBias + o0;
  std::fill(dBias, dBias + rows, 0.0f);
  for (int b = 0; b < g.batch; b++) {
    const float* row = g.dOut + static_cast<std::size_t>(b) * g.outDim + o0;
    for (int j = 0; j < rows; j++) dBias[j] += row[j];
  }
}

}  // namespace

void matmulBackwardWeight(Team& team, float* dWeight, float* dBias, const float* dOut, const float* inp,
                          int batch, int inDim, int outDim) {
  // dOut is (batch, outDim), inp is (batch, inDim), dWeight is (outDim, inDim), dBias is (outDim).
  // Reverses out = inp · weightᵀ + bias: dWeight = dOutᵀ · inp and dBias = Σ_b dOut (overwrite), in
  // tiles of weight rows; a unit's cost is its weight row, written, its column of dOut, and 2·inDim
  // flops a sample.
  if (batch == 0) {
    // Empty sums: BLAS leaves C alone when there is nothing to multiply.
    std::fill(dWeight, dWeight + static_cast<std::size_t>(outDim) * inDim, 0.0f);
    std::fill(dBias, dBias + outDim, 0.0f);
    return;
  }
  const UnitCost cost{2.0 * batch * inDim, 4.0 * inDim + 4.0 * batch};
  BackwardWeight g{dWeight, dBias, dOut, inp, batch, inDim, outDim, tiling(outDim, cost)};
  team.run({backwardWeightTile, &g, g.tiles.tiles});
}
