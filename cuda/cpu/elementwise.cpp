// elementwise.cpp — add, axpy, scale, per-channel scale (ConvNeXt layer scale), and the finiteness check.
#include <cmath>

#include "cpu.h"
#include "storage.h"

namespace {
constexpr int64_t PARALLEL_MIN = 1 << 15;
}

extern "C" {

int dusa_add(dusa_ctx* ctx, float* out, const float* a, const float* b, uint64_t n) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_add(ctx, s.out(out, n), s.in(a, n), s.in(b, n), n));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(a); CHECK_PTR(b);
  int64_t count = (int64_t)n;
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) out[i] = a[i] + b[i];
  return DUSA_OK;
}

int dusa_axpy(dusa_ctx* ctx, float* y, const float* x, float alpha, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(y); CHECK_PTR(x);
  int64_t count = (int64_t)n;
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) y[i] += alpha * x[i];
  return DUSA_OK;
}

int dusa_scale_copy(dusa_ctx* ctx, float* out, const float* in, float alpha, uint64_t n) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_scale_copy(ctx, s.out(out, n), s.in(in, n), alpha, n));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  int64_t count = (int64_t)n;
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) out[i] = alpha * in[i];
  return DUSA_OK;
}

int dusa_scale(dusa_ctx* ctx, float* x, float alpha, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(x);
  int64_t count = (int64_t)n;
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) x[i] *= alpha;
  return DUSA_OK;
}

int dusa_channel_scale_forward(dusa_ctx* ctx, float* out, const float* in, const float* scale, int rows, int C) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_channel_scale_forward(ctx, s.out(out, dusa::count(rows, C)), s.in(in, dusa::count(rows, C)), scale, rows, C));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in); CHECK_PTR(scale);
  CHECK_POS(rows); CHECK_POS(C);
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)rows * C > PARALLEL_MIN)
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < C; c++) out[(int64_t)r * C + c] = in[(int64_t)r * C + c] * scale[c];
  return DUSA_OK;
}

int dusa_channel_scale_backward(dusa_ctx* ctx, float* din, float* dscale, const float* dout, const float* in,
                                const float* scale, int rows, int C) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_channel_scale_backward(ctx, s.out(din, dusa::count(rows, C)), dscale, s.in(dout, dusa::count(rows, C)), s.in(in, dusa::count(rows, C)), scale, rows, C));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dout);
  CHECK_POS(rows); CHECK_POS(C);
  CHECK_ARG(!din || scale, "%s: scale is null but din is requested", __func__);
  CHECK_ARG(!dscale || in, "%s: in is null but dscale is requested", __func__);
  if (din) {
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)rows * C > PARALLEL_MIN)
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < C; c++) din[(int64_t)r * C + c] = dout[(int64_t)r * C + c] * scale[c];
  }
  if (dscale) {
    constexpr int COLS = 64;
    int blocks = (C + COLS - 1) / COLS;
#pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int blk = 0; blk < blocks; blk++) {
      int c0 = blk * COLS, c1 = c0 + COLS < C ? c0 + COLS : C;
      double acc[COLS] = {};
      for (int r = 0; r < rows; r++)
        for (int c = c0; c < c1; c++) acc[c - c0] += (double)dout[(int64_t)r * C + c] * in[(int64_t)r * C + c];
      for (int c = c0; c < c1; c++) dscale[c] += (float)acc[c - c0];
    }
  }
  return DUSA_OK;
}

int dusa_all_finite(dusa_ctx* ctx, int* out, const float* x, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(x);
  int64_t count = (int64_t)n;
  int bad = 0;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) reduction(| : bad) if (count > PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) bad |= !std::isfinite(x[i]);
  *out = bad ? 0 : 1;
  return DUSA_OK;
}

}  // extern "C"
