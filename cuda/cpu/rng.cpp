// rng.cpp — uniform and normal fills from Philox4x32-10 (cuda/include/philox.h). Element i of a fill depends only
// on (seed, offset, i), so fills agree across backends and thread counts.
#include <cmath>

#include "cpu.h"

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
