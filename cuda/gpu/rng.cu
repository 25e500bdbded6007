// rng.cu — Philox4x32-10 fills, element for element the CPU backend's numbers.
#include "gpu.cuh"
#include "step_values.h"

namespace {

// index (nullable): a device step counter, offset + index[0] * stride (cuda/common/step_values.h)
__global__ void uniform_kernel(float* out, uint64_t n, uint64_t seed, uint64_t offset, const int32_t* index,
                               uint64_t stride, float low, float high) {
  offset = dusa::indexed_offset(offset, index, stride);
  uint64_t blocks = (n + 3) / 4;
  for (uint64_t blk = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; blk < blocks; blk += (uint64_t)gridDim.x * blockDim.x) {
    uint32_t words[4];
    dusa::philox4x32(offset + blk, seed, words);
    for (int j = 0; j < 4; j++) {
      uint64_t i = blk * 4 + j;
      if (i < n) out[i] = low + (high - low) * dusa::philox_word_to_unit(words[j]);
    }
  }
}

// Box–Muller on word pairs (0,1) and (2,3) of each block, in double like the CPU backend.
__global__ void normal_kernel(float* out, uint64_t n, uint64_t seed, uint64_t offset, const int32_t* index,
                              uint64_t stride, float mean, float std) {
  offset = dusa::indexed_offset(offset, index, stride);
  const double two_pi = 6.283185307179586476925286766559;
  uint64_t blocks = (n + 3) / 4;
  for (uint64_t blk = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; blk < blocks; blk += (uint64_t)gridDim.x * blockDim.x) {
    uint32_t words[4];
    dusa::philox4x32(offset + blk, seed, words);
    for (int pair = 0; pair < 2; pair++) {
      double u1 = ((double)(words[2 * pair] >> 8) + 1.0) / 16777216.0;
      double u2 = (double)(words[2 * pair + 1] >> 8) / 16777216.0;
      double radius = sqrt(-2.0 * log(u1));
      double z[2] = {radius * cos(two_pi * u2), radius * sin(two_pi * u2)};
      for (int j = 0; j < 2; j++) {
        uint64_t i = blk * 4 + 2 * pair + j;
        if (i < n) out[i] = (float)(mean + std * z[j]);
      }
    }
  }
}

}  // namespace

extern "C" {

int dusa_rng_uniform(dusa_ctx* ctx, float* out, uint64_t n, uint64_t seed, uint64_t offset, float low, float high) {
  DUSA_OP(ctx);
  CHECK_PTR(out);
  if (n == 0) return DUSA_OK;
  uniform_kernel<<<dusa::capped_blocks((n + 3) / 4, 256), 256, 0, ctx->stream>>>(out, n, seed, offset, nullptr, 0, low, high);
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_rng_uniform_indexed(dusa_ctx* ctx, float* out, uint64_t n, uint64_t seed, uint64_t offset,
                             const int32_t* index, uint64_t stride, float low, float high) {
  DUSA_OP(ctx);
  CHECK_PTR(out);
  CHECK_PTR(index);
  if (n == 0) return DUSA_OK;
  uniform_kernel<<<dusa::capped_blocks((n + 3) / 4, 256), 256, 0, ctx->stream>>>(out, n, seed, offset, index, stride, low, high);
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_rng_normal(dusa_ctx* ctx, float* out, uint64_t n, uint64_t seed, uint64_t offset, float mean, float std) {
  DUSA_OP(ctx);
  CHECK_PTR(out);
  if (n == 0) return DUSA_OK;
  normal_kernel<<<dusa::capped_blocks((n + 3) / 4, 256), 256, 0, ctx->stream>>>(out, n, seed, offset, nullptr, 0, mean, std);
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_rng_normal_indexed(dusa_ctx* ctx, float* out, uint64_t n, uint64_t seed, uint64_t offset,
                            const int32_t* index, uint64_t stride, float mean, float std) {
  DUSA_OP(ctx);
  CHECK_PTR(out);
  CHECK_PTR(index);
  if (n == 0) return DUSA_OK;
  normal_kernel<<<dusa::capped_blocks((n + 3) / 4, 256), 256, 0, ctx->stream>>>(out, n, seed, offset, index, stride, mean, std);
  CHECK_LAUNCH();
  return DUSA_OK;
}

}  // extern "C"
