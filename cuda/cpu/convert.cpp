// convert.cpp — float32 <-> bf16 storage casts (bf16.h's rounding, the same bits as the CUDA backend).
#include <cstring>

#include "bf16.h"
#include "cpu.h"

namespace {
constexpr int64_t PARALLEL_MIN = 1 << 16;
}  // namespace

extern "C" {

int dusa_f32_to_bf16(dusa_ctx* ctx, uint16_t* out, const float* in, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  int64_t count = (int64_t)n;
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) {
    uint32_t bits;
    std::memcpy(&bits, in + i, 4);
    out[i] = dusa::bf16_from_bits(bits);
  }
  return DUSA_OK;
}

int dusa_bf16_to_f32(dusa_ctx* ctx, float* out, const uint16_t* in, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  int64_t count = (int64_t)n;
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) {
    uint32_t bits = dusa::bf16_to_bits(in[i]);
    std::memcpy(out + i, &bits, 4);
  }
  return DUSA_OK;
}

}  // extern "C"
