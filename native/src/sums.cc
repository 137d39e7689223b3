// The diagnostic sums, on the calling thread. Float64 sums of float32 terms: finite exactly
// when every term is. Eight running sums let the compiler keep them in vector registers; their
// order is fixed, so a sum is the same on every call.
#include "kernels.h"

#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))

namespace {

constexpr int LANES = 8;

template <typename Term>
double sum(std::size_t n, const Term& term) {
  double lanes[LANES] = {};
  const std::size_t whole = n - n % LANES;
  for (std::size_t i = 0; i < whole; i += LANES) {
    for (int j = 0; j < LANES; j++) lanes[j] += term(i + j);
  }
  // Remainder: the last n % 8 terms.
  for (std::size_t i = whole; i < n; i++) lanes[i - whole] += term(i);
  double total = 0;
  for (double lane : lanes) total += lane;
  return total;
}

}  // namespace

VECTORISED double sumOfSquares(const float* values, std::size_t n) {
  return sum(n, [values](std::size_t i) {
    const double v = values[i];
    return v * v;
  });
}

VECTORISED double sumOfSquaredDifferences(const float* a, const float* b, std::size_t n) {
  return sum(n, [a, b](std::size_t i) {
    const double d = static_cast<double>(a[i]) - b[i];
    return d * d;
  });
}

VECTORISED void columnMax(float* peak, const float* z, int batch, int width) {
  // z is (batch, width), peak is (width): peak[j] = max(peak[j], max_b z[b, j]).
  for (int b = 0; b < batch; b++) {
    const float* row = z + static_cast<std::size_t>(b) * width;
    for (int j = 0; j < width; j++) peak[j] = peak[j] < row[j] ? row[j] : peak[j];
  }
}
