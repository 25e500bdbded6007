// embedding.cpp — table lookup (class labels -> vectors) forward/backward, and the sinusoidal timestep embedding
// of DiT / SiT (REPA models/sit.py TimestepEmbedder.timestep_embedding).
#include <algorithm>
#include <cmath>

#include "cpu.h"
#include "storage.h"

namespace {

int check_ids(const char* fn, const int32_t* ids, int N, int V) {
  for (int n = 0; n < N; n++)
    if (ids[n] < 0 || ids[n] >= V)
      return dusa::fail(DUSA_ERR_INVALID, "%s: id %d of row %d is outside [0, %d)", fn, ids[n], n, V);
  return DUSA_OK;
}

constexpr int COLS = 64;  // column block of the backward: each thread owns whole columns of dtable

}  // namespace

extern "C" {

// out(N, C) = table(V, C)[ids[n]]
int dusa_embedding_forward(dusa_ctx* ctx, float* out, const int32_t* ids, const float* table, int N, int C, int V) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_embedding_forward(ctx, s.out(out, dusa::count(N, C)), ids, s.in(table, dusa::count(V, C)), N, C, V));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(ids); CHECK_PTR(table);
  CHECK_POS(N); CHECK_POS(C); CHECK_POS(V);
  if (int status = check_ids(__func__, ids, N, V)) return status;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * C > (1 << 15))
  for (int n = 0; n < N; n++) std::copy_n(table + (int64_t)ids[n] * C, C, out + (int64_t)n * C);
  return DUSA_OK;
}

// dtable[ids[n]] += dout[n]; rows are added in order n = 0..N-1, so repeated ids sum deterministically
int dusa_embedding_backward(dusa_ctx* ctx, float* dtable, const float* dout, const int32_t* ids, int N, int C, int V) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_embedding_backward(ctx, dtable, s.in(dout, dusa::count(N, C)), ids, N, C, V));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dtable); CHECK_PTR(dout); CHECK_PTR(ids);
  CHECK_POS(N); CHECK_POS(C); CHECK_POS(V);
  if (int status = check_ids(__func__, ids, N, V)) return status;
  const int blocks = (C + COLS - 1) / COLS;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * C > (1 << 15))
  for (int blk = 0; blk < blocks; blk++) {
    int c0 = blk * COLS, c1 = std::min(C, c0 + COLS);
    for (int n = 0; n < N; n++) {
      float* d = dtable + (int64_t)ids[n] * C;
      const float* g = dout + (int64_t)n * C;
      for (int c = c0; c < c1; c++) d[c] += g[c];
    }
  }
  return DUSA_OK;
}

// out(N, dim) = [cos(t f_i) for i < half, sin(t f_i) for i < half, 0 if dim is odd],
// half = dim / 2, f_i = exp(-ln(max_period) i / half); computed in double, rounded once
int dusa_timestep_embedding(dusa_ctx* ctx, float* out, const float* t, int N, int dim, float max_period) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_timestep_embedding(ctx, s.out(out, dusa::count(N, dim)), t, N, dim, max_period));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(t);
  CHECK_POS(N); CHECK_POS(dim);
  CHECK_ARG(max_period > 0.0f && std::isfinite(max_period), "%s: max_period must be finite and > 0, got %g", __func__,
            (double)max_period);
  const int half = dim / 2;
  const double log_period = std::log((double)max_period);
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * dim > (1 << 14))
  for (int n = 0; n < N; n++) {
    float* y = out + (int64_t)n * dim;
    for (int i = 0; i < half; i++) {
      double arg = (double)t[n] * std::exp(-log_period * i / half);
      y[i] = (float)std::cos(arg);
      y[half + i] = (float)std::sin(arg);
    }
    if (dim % 2) y[dim - 1] = 0.0f;
  }
  return DUSA_OK;
}

}  // extern "C"
