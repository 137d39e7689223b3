// A batch of byte rows (pixels) gathered from a dataset and scaled to floats, as
// src/core/reference-kernels.ts's loadByteRows. The rows sit anywhere in tens of megabytes, so the
// loop waits on memory: the team's threads each fetch some of the rows.
#include "kernels.h"

#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))

namespace {

// Rows per tile: a batch of 64 is two tiles, one per core of two. Tiles of 8 rows, which both
// cores took turns at, took longer at 2 threads than at 1 (each core wrote lines of the batch
// that the other had just read), and 64-row tiles left one core to write every line.
constexpr int ROWS_PER_TILE = 32;

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

// How far ahead of the row being scaled its tile's next rows are fetched. Each row is a fresh
// random place in tens of megabytes: asked for only when read, row after row waits out a miss.
// Fetching 4 ahead took a batch of 64 from about 48 to 22 µs on one thread here.
constexpr int ROWS_AHEAD = 4;
constexpr int LINE_BYTES = 64;

// Every line the row touches, its last included when the row does not start on a line.
void fetchRow(const std::uint8_t* row, int width) {
  for (int i = 0; i < width; i += LINE_BYTES) __builtin_prefetch(row + i);
  if (width > 0) __builtin_prefetch(row + width - 1);
}

void loadTile(const void* context, int tile) {
  const auto& l = *static_cast<const Load*>(context);
  const auto rowOf = [&l](int b) { return l.bytes + static_cast<std::size_t>(l.order[b]) * l.width; };
  const int start = tile * ROWS_PER_TILE;
  const int end = std::min(l.count, start + ROWS_PER_TILE);
  for (int b = start; b < std::min(end, start + ROWS_AHEAD); b++) fetchRow(rowOf(b), l.width);
  for (int b = start; b < end; b++) {
    if (b + ROWS_AHEAD < end) fetchRow(rowOf(b + ROWS_AHEAD), l.width);
    scaleRow(l.out + static_cast<std::size_t>(b) * l.width, rowOf(b), l.width, l.scale);
  }
}

}  // namespace

void loadByteRows(Team& team, float* out, const std::uint8_t* bytes, const std::uint32_t* order, int count, int width, double scale) {
  // out is (count, width); row b is bytes' row order[b], scaled. The caller checked every row is in bytes.
  Load l{out, bytes, order, count, width, scale};
  team.run({loadTile, &l, ceilDiv(count, ROWS_PER_TILE)});
}
