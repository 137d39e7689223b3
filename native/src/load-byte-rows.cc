// A batch of byte rows (pixels) gathered from a dataset and scaled to floats, as
// src/core/reference-kernels.ts's loadByteRows. The rows sit anywhere in tens of megabytes, so the
// loop waits on memory: the team's threads each fetch some of the rows.
#include "kernels.h"

#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))

namespace {

// Rows per tile: 8 rows of 784 pixels are 6 KB, a few microseconds of fetching.
constexpr int ROWS_PER_TILE = 8;

struct Load {
  float* out;
  const std::uint8_t* bytes;
  const std::uint32_t* order;
  int count, width;
  double scale;
};

// The product with the scale is taken in double and then rounded, as JavaScript does, so every
// float matches the reference loop's.
VECTORISED void scaleRow(float* out, const std::uint8_t* row, int width, double scale) {
  for (int i = 0; i < width; i++) out[i] = static_cast<float>(row[i] * scale);
}

void loadTile(const void* context, int tile) {
  const auto& l = *static_cast<const Load*>(context);
  const int end = std::min(l.count, (tile + 1) * ROWS_PER_TILE);
  for (int b = tile * ROWS_PER_TILE; b < end; b++) {
    scaleRow(l.out + static_cast<std::size_t>(b) * l.width, l.bytes + static_cast<std::size_t>(l.order[b]) * l.width, l.width, l.scale);
  }
}

}  // namespace

void loadByteRows(Team& team, float* out, const std::uint8_t* bytes, const std::uint32_t* order, int count, int width, double scale) {
  // out is (count, width); row b is bytes' row order[b], scaled. The caller checked every row is in bytes.
  Load l{out, bytes, order, count, width, scale};
  team.run({loadTile, &l, ceilDiv(count, ROWS_PER_TILE)});
}
