// rng.cpp — counter-based Philox4x32-10 (Salmon et al., Random123). Element i of a fill depends only on
// (seed, offset, i), so fills agree across backends and thread counts.
#include <cmath>

#include "cpu.h"

namespace dusa {

void philox4x32(uint64_t counter, uint64_t key, uint32_t out[4]) {
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

float philox_word_to_unit(uint32_t word) { return (float)(word >> 8) * (1.0f / 16777216.0f); }

float philox_uniform(uint64_t seed, uint64_t offset, uint64_t i) {
  uint32_t words[4];
  philox4x32(offset + i / 4, seed, words);
  return philox_word_to_unit(words[i % 4]);
}

}  // namespace dusa

extern "C" {

int dusa_rng_uniform(dusa_ctx* ctx, float* out, uint64_t n, uint64_t seed, uint64_t offset, float low, float high) {
  DUSA_OP(ctx);
  CHECK_PTR(out);
  int64_t blocks = (int64_t)((n + 3) / 4);
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (n > (1 << 14))
  for (int64_t blk = 0; blk < blocks; blk++) {
    uint32_t words[4];
    dusa::philox4x32(offset + (uint64_t)blk, seed, words);
    for (int j = 0; j < 4; j++) {
      uint64_t i = (uint64_t)blk * 4 + j;
      if (i < n) out[i] = low + (high - low) * dusa::philox_word_to_unit(words[j]);
    }
  }
  return DUSA_OK;
}

// Box–Muller on word pairs (0,1) and (2,3) of each block, in double so backends round to the same float.
int dusa_rng_normal(dusa_ctx* ctx, float* out, uint64_t n, uint64_t seed, uint64_t offset, float mean, float std) {
  DUSA_OP(ctx);
  CHECK_PTR(out);
  int64_t blocks = (int64_t)((n + 3) / 4);
  const double two_pi = 6.283185307179586476925286766559;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (n > (1 << 14))
  for (int64_t blk = 0; blk < blocks; blk++) {
    uint32_t words[4];
    dusa::philox4x32(offset + (uint64_t)blk, seed, words);
    for (int pair = 0; pair < 2; pair++) {
      double u1 = ((double)(words[2 * pair] >> 8) + 1.0) / 16777216.0;  // (0, 1]
      double u2 = (double)(words[2 * pair + 1] >> 8) / 16777216.0;      // [0, 1)
      double radius = std::sqrt(-2.0 * std::log(u1));
      double z[2] = {radius * std::cos(two_pi * u2), radius * std::sin(two_pi * u2)};
      for (int j = 0; j < 2; j++) {
        uint64_t i = (uint64_t)blk * 4 + 2 * pair + j;
        if (i < n) out[i] = (float)(mean + std * z[j]);
      }
    }
  }
  return DUSA_OK;
}

}  // extern "C"
