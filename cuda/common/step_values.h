// step_values.h — per-step values kept in device memory (a step counter, an update count, a gate) as the
// *_indexed and *_counted ops read them, identically on every backend: int32 words read as unsigned.
#pragma once
#include <cstdint>

#include "host_device.h"

namespace dusa {

// offset + index[0] * stride (index read as unsigned 32-bit; NULL = 0)
DUSA_HOST_DEVICE uint64_t indexed_offset(uint64_t offset, const int32_t* index, uint64_t stride) {
  return offset + (index ? (uint64_t)(uint32_t)index[0] * stride : 0);
}

// 1-based step of the update after `count` earlier ones (count read as unsigned, capped at INT32_MAX)
DUSA_HOST_DEVICE int counted_step(const int32_t* count) {
  uint64_t step = (uint64_t)(uint32_t)count[0] + 1;
  return step > 0x7fffffffull ? 0x7fffffff : (int)step;
}

// whether a gated update happens: no gate, or a nonzero one
DUSA_HOST_DEVICE bool gate_open(const int32_t* gate) { return !gate || gate[0] != 0; }

}  // namespace dusa
