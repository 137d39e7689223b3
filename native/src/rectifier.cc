// relu (negativeSlope 0) and leaky_relu, as src/core/activations.ts's reference loops, vectorised.
#include "kernels.h"

#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))

namespace {

VECTORISED void forwardRange(float* a, const float* z, std::size_t start, std::size_t end, float negativeSlope) {
  for (std::size_t i = start; i < end; i++) {
    const float v = z[i];
    a[i] = v > 0.0f ? v : negativeSlope * v;
  }
}

VECTORISED void backwardRange(float* dZ, const float* dA, const float* z, std::size_t start, std::size_t end, float negativeSlope) {
  for (std::size_t i = start; i < end; i++) dZ[i] = z[i] > 0.0f ? dA[i] : negativeSlope * dA[i];
}

// Reverses a = mask ⊙ f(z) in place: through the dropout multipliers, then through the rectifier,
// in the order of src/core/network.ts's unfused backward, so every float gets the same roundings.
VECTORISED void maskedBackwardRange(float* dZ, const float* z, const float* mask, std::size_t n, float negativeSlope) {
  for (std::size_t i = 0; i < n; i++) {
    const float dA = dZ[i] * mask[i];
    dZ[i] = z[i] > 0.0f ? dA : negativeSlope * dA;
  }
}

}  // namespace

void rectifierForward(Team& team, float* a, const float* z, std::size_t n, float negativeSlope) {
  // a = z > 0 ? z : negativeSlope·z
  forChunks(team, n, [&](std::size_t start, std::size_t end) { forwardRange(a, z, start, end, negativeSlope); });
}

void rectifierBackward(Team& team, float* dZ, const float* dA, const float* z, std::size_t n, float negativeSlope) {
  // Reverses a = f(z): dZ = z > 0 ? dA : negativeSlope·dA; dZ and dA may be the same array.
  forChunks(team, n, [&](std::size_t start, std::size_t end) { backwardRange(dZ, dA, z, start, end, negativeSlope); });
}

void rectifyRow(float* a, const float* z, std::size_t n, float negativeSlope) { forwardRange(a, z, 0, n, negativeSlope); }

void rectifyGradientRow(float* dZ, const float* z, const float* mask, std::size_t n, float negativeSlope) {
  if (mask) maskedBackwardRange(dZ, z, mask, n, negativeSlope);
  else backwardRange(dZ, dZ, z, 0, n, negativeSlope);
}
