// The optimizer steps of src/core/optimizers.ts in float32, vectorised by the compiler: each loop
// is compiled for AVX-512, AVX2 and plain x86-64, and the loader picks the one this CPU runs.
// L2 weight decay is a gradient term g ← g + λ·w over the weights [0, weightCount); biases are not decayed.
#include <cmath>
#include <cstring>

#include "kernels.h"

#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))

namespace {

VECTORISED void sgdRange(float* params, const float* grads, std::size_t start, std::size_t end, float l2, float lr, bool decay) {
  const float l2Now = decay ? l2 : 0.0f;
  for (std::size_t i = start; i < end; i++) params[i] -= lr * (grads[i] + l2Now * params[i]);
}

// Classical momentum (Polyak 1964; Sutskever et al. 2013): v ← μv + g, w ← w − ηv.
VECTORISED void momentumRange(float* params, const float* grads, float* velocity, std::size_t start, std::size_t end,
                              float l2, float lr, float mu, bool decay) {
  const float l2Now = decay ? l2 : 0.0f;
  for (std::size_t i = start; i < end; i++) {
    const float v = mu * velocity[i] + (grads[i] + l2Now * params[i]);
    velocity[i] = v;
    params[i] -= lr * v;
  }
}

// Nesterov momentum in the form of Sutskever et al. (2013): w ← w − η(g + μv) after v ← μv + g.
VECTORISED void nesterovRange(float* params, const float* grads, float* velocity, std::size_t start, std::size_t end,
                              float l2, float lr, float mu, bool decay) {
  const float l2Now = decay ? l2 : 0.0f;
  for (std::size_t i = start; i < end; i++) {
    const float g = grads[i] + l2Now * params[i];
    const float v = mu * velocity[i] + g;
    velocity[i] = v;
    params[i] -= lr * (g + mu * v);
  }
}

// Adam (Kingma and Ba 2015, algorithm 1), with the bias corrections folded into stepSize and epsilon.
VECTORISED void adamRange(float* params, const float* grads, float* m, float* v, std::size_t start, std::size_t end,
                          float l2, float stepSize, float beta1, float beta2, float epsilon, bool decay) {
  const float l2Now = decay ? l2 : 0.0f;
  const float oneMinusBeta1 = 1.0f - beta1;
  const float oneMinusBeta2 = 1.0f - beta2;
  for (std::size_t i = start; i < end; i++) {
    const float g = grads[i] + l2Now * params[i];
    const float mi = beta1 * m[i] + oneMinusBeta1 * g;
    const float vi = beta2 * v[i] + oneMinusBeta2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    params[i] -= (stepSize * mi) / (std::sqrt(vi) + epsilon);
  }
}

// Splits [start, end) at weightCount into the decayed weights and the biases, and runs `range` on each.
template <typename Range>
void splitAtWeights(std::size_t start, std::size_t end, std::size_t weightCount, const Range& range) {
  const std::size_t boundary = std::clamp(weightCount, start, end);
  if (start < boundary) range(start, boundary, true);
  if (boundary < end) range(boundary, end, false);
}

}  // namespace

void zero(Team& team, float* values, std::size_t n) {
  forChunks(team, n, [&](std::size_t start, std::size_t end) { std::memset(values + start, 0, sizeof(float) * (end - start)); });
}

void sgdStep(Team& team, float* params, const float* grads, std::size_t n, std::size_t weightCount, float l2, float lr) {
  forChunks(team, n, [&](std::size_t start, std::size_t end) {
    splitAtWeights(start, end, weightCount, [&](std::size_t s, std::size_t e, bool decay) { sgdRange(params, grads, s, e, l2, lr, decay); });
  });
}

void momentumStep(Team& team, float* params, const float* grads, float* velocity, std::size_t n, std::size_t weightCount,
                  float l2, float lr, float mu) {
  forChunks(team, n, [&](std::size_t start, std::size_t end) {
    splitAtWeights(start, end, weightCount, [&](std::size_t s, std::size_t e, bool decay) {
      momentumRange(params, grads, velocity, s, e, l2, lr, mu, decay);
    });
  });
}

void nesterovStep(Team& team, float* params, const float* grads, float* velocity, std::size_t n, std::size_t weightCount,
                  float l2, float lr, float mu) {
  forChunks(team, n, [&](std::size_t start, std::size_t end) {
    splitAtWeights(start, end, weightCount, [&](std::size_t s, std::size_t e, bool decay) {
      nesterovRange(params, grads, velocity, s, e, l2, lr, mu, decay);
    });
  });
}

void adamStep(Team& team, float* params, const float* grads, float* m, float* v, std::size_t n, std::size_t weightCount,
              float l2, float stepSize, float beta1, float beta2, float epsilon) {
  forChunks(team, n, [&](std::size_t start, std::size_t end) {
    splitAtWeights(start, end, weightCount, [&](std::size_t s, std::size_t e, bool decay) {
      adamRange(params, grads, m, v, s, e, l2, stepSize, beta1, beta2, epsilon, decay);
    });
  });
}
