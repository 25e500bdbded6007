/* bf16.h — float32 <-> bfloat16 bit conversion shared by every backend (host and device), so their casts agree
 * bit for bit. Round to nearest even; a NaN keeps its sign and becomes quiet. Internal: not part of the ABI. */
#pragma once
#include <stdint.h>
#include <string.h>

#include "host_device.h"

namespace dusa {

DUSA_HOST_DEVICE uint16_t bf16_from_bits(uint32_t bits) {
  if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40u);
  return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

DUSA_HOST_DEVICE uint32_t bf16_to_bits(uint16_t h) { return (uint32_t)h << 16; }

}  // namespace dusa
