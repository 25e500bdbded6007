/*
 * philox.h — Philox4x32-10 (Salmon et al., Random123), shared by every backend so their fills agree bit for bit.
 * Element i of the stream (seed, offset) is word i%4 of block offset + i/4. Internal: not part of the ABI.
 */
#pragma once
#include <stdint.h>

#include "host_device.h"

namespace dusa {

DUSA_HOST_DEVICE void philox4x32(uint64_t counter, uint64_t key, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0;
    uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = (uint32_t)p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

// top 24 bits -> [0, 1)
DUSA_HOST_DEVICE float philox_word_to_unit(uint32_t word) { return (float)(word >> 8) * (1.0f / 16777216.0f); }

DUSA_HOST_DEVICE float philox_uniform(uint64_t seed, uint64_t offset, uint64_t i) {
  uint32_t words[4];
  philox4x32(offset + i / 4, seed, words);
  return philox_word_to_unit(words[i % 4]);
}

}  // namespace dusa
