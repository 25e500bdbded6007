// losses.cpp — classification losses over logits (N, C): cross-entropy against int32 labels and the mean
// softmax entropy (Tent), forward and backward, plus argmax. Per-row values are computed in parallel in double
// and summed in row order, so the loss does not depend on the thread count.
#include <cmath>

#include "cpu.h"
#include "storage.h"

namespace {

// log sum exp of one row, max-subtracted, in double
inline double row_lse(const float* x, int C) {
  float mx = x[0];
  for (int c = 1; c < C; c++) mx = std::fmax(mx, x[c]);
  double sum = 0.0;
  for (int c = 0; c < C; c++) sum += std::exp((double)x[c] - mx);
  return mx + std::log(sum);
}

// entropy of one row: -sum p log p with log p = x - lse (stable for any logit range)
inline double row_entropy(const float* x, int C, double lse) {
  double h = 0.0;
  for (int c = 0; c < C; c++) {
    double logp = (double)x[c] - lse;
    h -= std::exp(logp) * logp;
  }
  return h;
}

int check_labels(const char* fn, const int32_t* labels, int N, int C) {
  for (int n = 0; n < N; n++)
    if (labels[n] < 0 || labels[n] >= C)
      return dusa::fail(DUSA_ERR_INVALID, "%s: label %d of row %d is outside [0, %d)", fn, labels[n], n, C);
  return DUSA_OK;
}

// sums per-row values in row order
inline double ordered_sum(const double* v, int N) {
  double s = 0.0;
  for (int n = 0; n < N; n++) s += v[n];
  return s;
}

}  // namespace

extern "C" {

int dusa_cross_entropy_forward(dusa_ctx* ctx, float* loss, const float* logits, const int32_t* labels, int N, int C) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_cross_entropy_forward(ctx, loss, s.in(logits, dusa::count(N, C)), labels, N, C));
  }
  DUSA_OP(ctx);
  CHECK_PTR(loss); CHECK_PTR(logits); CHECK_PTR(labels);
  CHECK_POS(N); CHECK_POS(C);
  if (int status = check_labels(__func__, labels, N, C)) return status;
  double* per_row = (double*)dusa::workspace(ctx, 2 * (uint64_t)N);  // (N)
  if (!per_row) return DUSA_ERR_OOM;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * C > (1 << 14))
  for (int n = 0; n < N; n++) {
    const float* x = logits + (int64_t)n * C;
    per_row[n] = row_lse(x, C) - x[labels[n]];
  }
  loss[0] = (float)(ordered_sum(per_row, N) / N);
  return DUSA_OK;
}

// dlogits = dloss * (softmax - onehot) / N (overwrite)
int dusa_cross_entropy_backward(dusa_ctx* ctx, float* dlogits, const float* logits, const int32_t* labels, int N, int C,
                                float dloss) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_cross_entropy_backward(ctx, s.out(dlogits, dusa::count(N, C)), s.in(logits, dusa::count(N, C)), labels, N, C, dloss));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dlogits); CHECK_PTR(logits); CHECK_PTR(labels);
  CHECK_POS(N); CHECK_POS(C);
  if (int status = check_labels(__func__, labels, N, C)) return status;
  const double scale = (double)dloss / N;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * C > (1 << 14))
  for (int n = 0; n < N; n++) {
    const float* x = logits + (int64_t)n * C;
    float* dx = dlogits + (int64_t)n * C;
    double lse = row_lse(x, C);
    for (int c = 0; c < C; c++) dx[c] = (float)(scale * (std::exp((double)x[c] - lse) - (c == labels[n] ? 1.0 : 0.0)));
  }
  return DUSA_OK;
}

int dusa_entropy_forward(dusa_ctx* ctx, float* loss, const float* logits, int N, int C) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_entropy_forward(ctx, loss, s.in(logits, dusa::count(N, C)), N, C));
  }
  DUSA_OP(ctx);
  CHECK_PTR(loss); CHECK_PTR(logits);
  CHECK_POS(N); CHECK_POS(C);
  double* per_row = (double*)dusa::workspace(ctx, 2 * (uint64_t)N);  // (N)
  if (!per_row) return DUSA_ERR_OOM;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * C > (1 << 14))
  for (int n = 0; n < N; n++) {
    const float* x = logits + (int64_t)n * C;
    per_row[n] = row_entropy(x, C, row_lse(x, C));
  }
  loss[0] = (float)(ordered_sum(per_row, N) / N);
  return DUSA_OK;
}

// d/dx_c of -sum p log p = -p_c (log p_c + H); dlogits = dloss / N times that (overwrite)
int dusa_entropy_backward(dusa_ctx* ctx, float* dlogits, const float* logits, int N, int C, float dloss) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_entropy_backward(ctx, s.out(dlogits, dusa::count(N, C)), s.in(logits, dusa::count(N, C)), N, C, dloss));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dlogits); CHECK_PTR(logits);
  CHECK_POS(N); CHECK_POS(C);
  const double scale = (double)dloss / N;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * C > (1 << 14))
  for (int n = 0; n < N; n++) {
    const float* x = logits + (int64_t)n * C;
    float* dx = dlogits + (int64_t)n * C;
    double lse = row_lse(x, C), h = row_entropy(x, C, lse);
    for (int c = 0; c < C; c++) {
      double logp = (double)x[c] - lse;
      dx[c] = (float)(-scale * std::exp(logp) * (logp + h));
    }
  }
  return DUSA_OK;
}

// first index of the row maximum (NaN counts as the maximum, like torch.argmax)
int dusa_argmax(dusa_ctx* ctx, int32_t* out, const float* in, int N, int C) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_argmax(ctx, out, s.in(in, dusa::count(N, C)), N, C));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_POS(N); CHECK_POS(C);
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * C > (1 << 14))
  for (int n = 0; n < N; n++) {
    const float* x = in + (int64_t)n * C;
    int best = 0;
    for (int c = 1; c < C && !std::isnan(x[best]); c++)
      if (x[c] > x[best] || std::isnan(x[c])) best = c;
    out[n] = best;
  }
  return DUSA_OK;
}

}  // extern "C"
