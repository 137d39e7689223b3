// The memory the kernels compute on, mapped so that large buffers sit on 2 MiB pages.
#pragma once

#include <cstddef>

// A zeroed block of at least `bytes`, whose start is on a 2 MiB boundary.
struct MappedBlock {
  void* mapping;
  std::size_t mappingBytes;
  float* data;
};

// Below this a buffer stays on the JavaScript heap: it would not fill one 2 MiB page.
constexpr std::size_t HUGE_PAGE_BYTES = std::size_t{2} << 20;

// Maps a zeroed block of `bytes` (at least HUGE_PAGE_BYTES) and asks the kernel to back it with
// transparent huge pages; returns false if the mapping fails.
bool mapBlock(std::size_t bytes, MappedBlock* block);
void unmapBlock(const MappedBlock& block);
