// l2norm.cpp — row L2 normalisation over (N, C) with torch F.normalize semantics: out = x / max(||x||, eps).
// The forward saves the raw norm ||x||; the backward treats a clamped row (||x|| < eps) as a constant divisor.
#include <cmath>

#include "cpu.h"
#include "storage.h"

extern "C" {

int dusa_l2norm_forward(dusa_ctx* ctx, float* out, float* norm, const float* in, int N, int C, float eps) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_l2norm_forward(ctx, s.out(out, dusa::count(N, C)), norm, s.in(in, dusa::count(N, C)), N, C, eps));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(norm); CHECK_PTR(in);
  CHECK_POS(N); CHECK_POS(C);
  CHECK_ARG(eps >= 0.0f, "%s: eps must be >= 0, got %g", __func__, (double)eps);
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * C > (1 << 14))
  for (int n = 0; n < N; n++) {
    const float* x = in + (int64_t)n * C;
    float* y = out + (int64_t)n * C;
    double ss = 0.0;
    for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
    double nrm = std::sqrt(ss), inv = 1.0 / std::fmax(nrm, (double)eps);
    norm[n] = (float)nrm;
    for (int c = 0; c < C; c++) y[c] = (float)(x[c] * inv);
  }
  return DUSA_OK;
}

// ||x|| >= eps: din = (dout - y <y, dout>) / ||x||, y = x / ||x||; else din = dout / eps (overwrite)
int dusa_l2norm_backward(dusa_ctx* ctx, float* din, const float* dout, const float* in, const float* norm, int N, int C,
                         float eps) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_l2norm_backward(ctx, s.out(din, dusa::count(N, C)), s.in(dout, dusa::count(N, C)), s.in(in, dusa::count(N, C)), norm, N, C, eps));
  }
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout); CHECK_PTR(in); CHECK_PTR(norm);
  CHECK_POS(N); CHECK_POS(C);
  CHECK_ARG(eps >= 0.0f, "%s: eps must be >= 0, got %g", __func__, (double)eps);
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * C > (1 << 14))
  for (int n = 0; n < N; n++) {
    const float* x = in + (int64_t)n * C;
    const float* g = dout + (int64_t)n * C;
    float* dx = din + (int64_t)n * C;
    double nrm = norm[n];
    if (nrm >= (double)eps) {
      double dot = 0.0;
      for (int c = 0; c < C; c++) dot += (double)x[c] * g[c];
      double inv = 1.0 / nrm, k = dot * inv * inv * inv;
      for (int c = 0; c < C; c++) dx[c] = (float)(g[c] * inv - x[c] * k);
    } else {
      double inv = 1.0 / (double)eps;
      for (int c = 0; c < C; c++) dx[c] = (float)(g[c] * inv);
    }
  }
  return DUSA_OK;
}

}  // extern "C"
