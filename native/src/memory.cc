#include "memory.h"

#include <sys/mman.h>

#include <cstdint>

// A deep net's parameters, gradients and optimizer state are about 150 MB. On 4 KiB pages a
// training run's first step faults in each page alone, which took about 250 ms of a VM's first
// step here, and every later pass over them walks 37,000 page-table entries. Where transparent
// huge pages are on or "madvise" (Debian's default), a 2 MiB page replaces 512 of each.
bool mapBlock(std::size_t bytes, MappedBlock* block) {
  // One page more than asked, so the block can start on a 2 MiB boundary: the kernel backs only
  // whole aligned 2 MiB ranges with huge pages.
  const std::size_t mappingBytes = bytes + HUGE_PAGE_BYTES;
  void* mapping = mmap(nullptr, mappingBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping == MAP_FAILED) return false;
  const auto address = reinterpret_cast<std::uintptr_t>(mapping);
  const std::uintptr_t aligned = (address + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1);
  // Advice only: a kernel without huge pages leaves the block on small pages, which still works.
  // It covers the buffer alone, not the whole mapping: the kernel puts a 2 MiB range on a huge page
  // only where the advised range holds all of it, so a ragged end stays on small pages and a
  // written 2.5 MiB buffer costs 2.5 MiB, not 4.
  madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
  *block = {mapping, mappingBytes, reinterpret_cast<float*>(aligned)};
  return true;
}

void unmapBlock(const MappedBlock& block) { munmap(block.mapping, block.mappingBytes); }
