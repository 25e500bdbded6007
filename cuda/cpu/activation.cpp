// activation.cpp — GELU (erf and tanh forms), SiLU, and the gated residual of adaLN-Zero blocks.
#include <cmath>

#include "cpu.h"
#include "storage.h"
#include "vecmath.h"

namespace {
constexpr float SQRT_HALF = 0.70710678118654752440f;
constexpr float INV_SQRT_2PI = 0.39894228040143267794f;
constexpr float SQRT_2_OVER_PI = 0.79788456080286535588f;
constexpr float GELU_C = 0.044715f;
constexpr int64_t PARALLEL_MIN = 1 << 15;

// 0.5 (1 + tanh(u)) = sigmoid(2u): no cancellation when tanh(u) is near -1
inline float sigmoid(float z) { return 1.0f / (1.0f + dusa::exp_vec(-z)); }

// the standard normal CDF 0.5 (1 + erf(x / sqrt 2)), from erfc so the tails keep their relative accuracy
inline float phi(float x) {
  float e = dusa::erfc_nonneg(std::fabs(x) * SQRT_HALF);
  return x >= 0.0f ? 1.0f - 0.5f * e : 0.5f * e;
}
}  // namespace

extern "C" {

int dusa_gelu_forward(dusa_ctx* ctx, float* out, const float* in, uint64_t n, int approximate) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_gelu_forward(ctx, s.out(out, n), s.in(in, n), n, approximate));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  int64_t count = (int64_t)n;
  if (approximate) {
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
    for (int64_t i = 0; i < count; i++) {
      float x = in[i];
      out[i] = x * sigmoid(2.0f * SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
    }
  } else {
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
    for (int64_t i = 0; i < count; i++) out[i] = in[i] * phi(in[i]);
  }
  return DUSA_OK;
}

int dusa_gelu_backward(dusa_ctx* ctx, float* din, const float* dout, const float* in, uint64_t n, int approximate) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_gelu_backward(ctx, s.out(din, n), s.in(dout, n), s.in(in, n), n, approximate));
  }
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout); CHECK_PTR(in);
  int64_t count = (int64_t)n;
  if (approximate) {
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
    for (int64_t i = 0; i < count; i++) {
      float x = in[i];
      float s = sigmoid(2.0f * SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
      float dinner = SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_C * x * x);
      din[i] = dout[i] * (s + 2.0f * x * s * (1.0f - s) * dinner);
    }
  } else {
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
    for (int64_t i = 0; i < count; i++) {
      float x = in[i];
      din[i] = dout[i] * (phi(x) + x * INV_SQRT_2PI * dusa::exp_vec(-0.5f * x * x));
    }
  }
  return DUSA_OK;
}

int dusa_silu_forward(dusa_ctx* ctx, float* out, const float* in, uint64_t n) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_silu_forward(ctx, s.out(out, n), s.in(in, n), n));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  int64_t count = (int64_t)n;
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) out[i] = in[i] * sigmoid(in[i]);
  return DUSA_OK;
}

int dusa_silu_backward(dusa_ctx* ctx, float* din, const float* dout, const float* in, uint64_t n) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_silu_backward(ctx, s.out(din, n), s.in(dout, n), s.in(in, n), n));
  }
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout); CHECK_PTR(in);
  int64_t count = (int64_t)n;
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) {
    float s = sigmoid(in[i]);
    din[i] = dout[i] * s * (1.0f + in[i] * (1.0f - s));
  }
  return DUSA_OK;
}

int dusa_gated_residual_forward(dusa_ctx* ctx, float* out, const float* x, const float* y, const float* gate, int B,
                                int T, int C, int gate_stride) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_gated_residual_forward(ctx, s.out(out, dusa::count(B, T, C)), s.in(x, dusa::count(B, T, C)), s.in(y, dusa::count(B, T, C)), s.in(gate, dusa::span(B, gate_stride, C)), B, T, C, gate_stride));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(x); CHECK_PTR(y); CHECK_PTR(gate);
  CHECK_POS(B); CHECK_POS(T); CHECK_POS(C);
  CHECK_ARG(gate_stride >= C, "%s: gate_stride (%d) must be >= C (%d)", __func__, gate_stride, C);
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)B * T * C > PARALLEL_MIN)
  for (int64_t row = 0; row < (int64_t)B * T; row++) {
    const float* g = gate + (row / T) * gate_stride;
    for (int c = 0; c < C; c++) out[row * C + c] = x[row * C + c] + g[c] * y[row * C + c];
  }
  return DUSA_OK;
}

int dusa_gated_residual_backward(dusa_ctx* ctx, float* dx, float* dy, float* dgate, const float* dout, const float* y,
                                 const float* gate, int B, int T, int C, int gate_stride) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_gated_residual_backward(ctx, s.out(dx, dusa::count(B, T, C)), s.out(dy, dusa::count(B, T, C)), s.out(dgate, dusa::span(B, gate_stride, C)), s.in(dout, dusa::count(B, T, C)), s.in(y, dusa::count(B, T, C)), s.in(gate, dusa::span(B, gate_stride, C)), B, T, C, gate_stride));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dout);
  CHECK_POS(B); CHECK_POS(T); CHECK_POS(C);
  CHECK_ARG(gate_stride >= C, "%s: gate_stride (%d) must be >= C (%d)", __func__, gate_stride, C);
  CHECK_ARG(!dy || gate, "%s: gate is null but dy is requested", __func__);
  CHECK_ARG(!dgate || y, "%s: y is null but dgate is requested", __func__);
  int64_t rows = (int64_t)B * T;
  if (dx && dx != dout) {
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (rows * C > PARALLEL_MIN)
    for (int64_t i = 0; i < rows * C; i++) dx[i] = dout[i];
  }
  if (dy) {
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (rows * C > PARALLEL_MIN)
    for (int64_t row = 0; row < rows; row++) {
      const float* g = gate + (row / T) * gate_stride;
      for (int c = 0; c < C; c++) dy[row * C + c] = g[c] * dout[row * C + c];
    }
  }
  if (dgate) {
#pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int b = 0; b < B; b++) {
      float* dg = dgate + (int64_t)b * gate_stride;
      for (int c = 0; c < C; c++) dg[c] = 0.0f;
      for (int t = 0; t < T; t++) {
        int64_t row = (int64_t)b * T + t;
        for (int c = 0; c < C; c++) dg[c] += dout[row * C + c] * y[row * C + c];
      }
    }
  }
  return DUSA_OK;
}

}  // extern "C"
