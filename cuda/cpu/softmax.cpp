// softmax.cpp — row softmax with temperature over (N, C), forward and backward. Max-subtracted, in double.
#include <cmath>

#include "cpu.h"
#include "storage.h"

extern "C" {

// out = softmax(in / temperature) per row
int dusa_softmax_forward(dusa_ctx* ctx, float* out, const float* in, int N, int C, float temperature) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_softmax_forward(ctx, s.out(out, dusa::count(N, C)), s.in(in, dusa::count(N, C)), N, C, temperature));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_POS(N); CHECK_POS(C);
  CHECK_ARG(temperature > 0.0f && std::isfinite(temperature), "%s: temperature must be finite and > 0, got %g",
            __func__, (double)temperature);
  const double inv_t = 1.0 / (double)temperature;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * C > (1 << 14))
  for (int n = 0; n < N; n++) {
    const float* x = in + (int64_t)n * C;
    float* y = out + (int64_t)n * C;
    float mx = x[0];
    for (int c = 1; c < C; c++) mx = std::fmax(mx, x[c]);
    double sum = 0.0;
    for (int c = 0; c < C; c++) sum += std::exp(((double)x[c] - mx) * inv_t);
    double inv = 1.0 / sum;
    for (int c = 0; c < C; c++) y[c] = (float)(std::exp(((double)x[c] - mx) * inv_t) * inv);
  }
  return DUSA_OK;
}

// din = out * (dout - <dout, out>) / temperature (overwrite)
int dusa_softmax_backward(dusa_ctx* ctx, float* din, const float* dout, const float* out, int N, int C,
                          float temperature) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_softmax_backward(ctx, s.out(din, dusa::count(N, C)), s.in(dout, dusa::count(N, C)), s.in(out, dusa::count(N, C)), N, C, temperature));
  }
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout); CHECK_PTR(out);
  CHECK_POS(N); CHECK_POS(C);
  CHECK_ARG(temperature > 0.0f && std::isfinite(temperature), "%s: temperature must be finite and > 0, got %g",
            __func__, (double)temperature);
  const double inv_t = 1.0 / (double)temperature;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * C > (1 << 14))
  for (int n = 0; n < N; n++) {
    const float* g = dout + (int64_t)n * C;
    const float* y = out + (int64_t)n * C;
    float* dx = din + (int64_t)n * C;
    double dot = 0.0;
    for (int c = 0; c < C; c++) dot += (double)g[c] * y[c];
    for (int c = 0; c < C; c++) dx[c] = (float)((double)y[c] * ((double)g[c] - dot) * inv_t);
  }
  return DUSA_OK;
}

}  // extern "C"
