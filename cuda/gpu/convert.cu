// convert.cu — float32 <-> bf16 storage casts (bf16.h's rounding: the same bits as the CPU backend).
#include "bf16.h"
#include "gpu.cuh"

namespace {

constexpr int THREADS = 256;

__global__ void f32_to_bf16_kernel(uint16_t* out, const float* in, uint64_t n) {
  GRID_STRIDE(i, n) out[i] = dusa::bf16_from_bits(__float_as_uint(in[i]));
}

__global__ void bf16_to_f32_kernel(float* out, const uint16_t* in, uint64_t n) {
  GRID_STRIDE(i, n) out[i] = __uint_as_float(dusa::bf16_to_bits(in[i]));
}

}  // namespace

extern "C" {

int dusa_f32_to_bf16(dusa_ctx* ctx, uint16_t* out, const float* in, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  if (n == 0) return DUSA_OK;
  f32_to_bf16_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(out, in, n);
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_bf16_to_f32(dusa_ctx* ctx, float* out, const uint16_t* in, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  if (n == 0) return DUSA_OK;
  bf16_to_f32_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(out, in, n);
  CHECK_LAUNCH();
  return DUSA_OK;
}

}  // extern "C"
