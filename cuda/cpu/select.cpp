// select.cpp — DUSA class selection (top-k of the L2-normalised logits plus classes drawn without replacement
// from the softmax of the raw logits over the rest) and the gather that picks the selected logits.
// Rows are independent; each draw uses its own Philox uniform, so results never depend on the thread count.
#include <omp.h>

#include <cmath>

#include "cpu.h"
#include "storage.h"
#include "op_checks.h"

namespace {

// true when class a ranks before class b: larger value first, ties to the lower index
inline bool ranks_before(const float* x, int a, int b) { return x[a] > x[b] || (x[a] == x[b] && a < b); }

// top-k of one row in rank order, without scratch: pick k is the best class ranked after pick k-1
void top_k(int32_t* sel, const float* x, int C, int topk) {
  for (int j = 0; j < topk; j++) {
    int best = -1;
    for (int c = 0; c < C; c++) {
      if (j > 0 && !ranks_before(x, sel[j - 1], c)) continue;
      if (best < 0 || ranks_before(x, c, best)) best = c;
    }
    sel[j] = best;
  }
}

// Sequential draws without replacement by inverse CDF over the still-available classes, in class order.
// weight[c] >= 0 for an available class, -1 once taken (the top-k are taken from the start).
// A draw picks the first available class whose running sum exceeds u * total; when rounding leaves none, the
// last available class of positive weight; when every weight underflowed to 0, the first available class.
void draw_classes(int32_t* sel, double* weight, int C, int count, uint64_t seed, uint64_t offset, uint64_t first) {
  for (int j = 0; j < count; j++) {
    double total = 0.0;
    for (int c = 0; c < C; c++)
      if (weight[c] >= 0.0) total += weight[c];
    double target = (double)dusa::philox_uniform(seed, offset, first + j) * total;
    int pick = -1, last_positive = -1, first_available = -1;
    double cum = 0.0;
    for (int c = 0; c < C && pick < 0; c++) {
      if (weight[c] < 0.0) continue;
      if (first_available < 0) first_available = c;
      if (weight[c] > 0.0) last_positive = c;
      cum += weight[c];
      if (cum > target) pick = c;
    }
    if (pick < 0) pick = last_positive >= 0 ? last_positive : first_available;
    sel[j] = pick;
    weight[pick] = -1.0;
  }
}

int first_nonfinite_row(const float* x, int B, int C) {
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++)
      if (!std::isfinite(x[(int64_t)b * C + c])) return b;
  return -1;
}

int check_idx(const char* fn, const int32_t* idx, int B, int C, int K) {
  for (int64_t i = 0; i < (int64_t)B * K; i++)
    if (idx[i] < 0 || idx[i] >= C)
      return dusa::fail(DUSA_ERR_INVALID, "%s: idx[%lld, %lld] = %d is outside [0, %d)", fn, (long long)(i / K),
                        (long long)(i % K), idx[i], C);
  return DUSA_OK;
}

}  // namespace

extern "C" {

// selected (B, topk + rand_budget); logits may be NULL when rand_budget = 0
int dusa_select_classes(dusa_ctx* ctx, int32_t* selected, const float* normed, const float* logits, int B, int C,
                        int topk, int rand_budget, float temperature, uint64_t seed, uint64_t offset) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_select_classes(ctx, selected, s.in(normed, dusa::count(B, C)), s.in(logits, dusa::count(B, C)), B, C, topk, rand_budget, temperature, seed, offset));
  }
  DUSA_OP(ctx);
  if (int s = dusa::select_args(__func__, selected, normed, logits, B, C, topk, rand_budget, temperature)) return s;
  int bad = first_nonfinite_row(normed, B, C);
  CHECK_ARG(bad < 0, "%s: normed row %d has a non-finite value", __func__, bad);
  if (rand_budget > 0) {
    bad = first_nonfinite_row(logits, B, C);
    CHECK_ARG(bad < 0, "%s: logits row %d has a non-finite value", __func__, bad);
  }
  const int K = topk + rand_budget;
  double* scratch = nullptr;
  if (rand_budget > 0) {
    scratch = (double*)dusa::workspace(ctx, 2 * (uint64_t)C * ctx->threads);  // (threads, C) doubles
    if (!scratch) return DUSA_ERR_OOM;
  }
#pragma omp parallel num_threads(ctx->threads) if ((int64_t)B * C * K > (1 << 14))
  {
    double* weight = scratch ? scratch + (int64_t)omp_get_thread_num() * C : nullptr;
#pragma omp for schedule(static)
    for (int b = 0; b < B; b++) {
      int32_t* sel = selected + (int64_t)b * K;
      top_k(sel, normed + (int64_t)b * C, C, topk);
      if (rand_budget == 0) continue;
      // unnormalised softmax(logits / temperature) over the non-top-k classes, max-subtracted, in double
      const float* x = logits + (int64_t)b * C;
      for (int c = 0; c < C; c++) weight[c] = 0.0;
      for (int j = 0; j < topk; j++) weight[sel[j]] = -1.0;
      double mx = -INFINITY;
      for (int c = 0; c < C; c++)
        if (weight[c] >= 0.0) mx = std::fmax(mx, (double)x[c] / temperature);
      for (int c = 0; c < C; c++)
        if (weight[c] >= 0.0) weight[c] = std::exp((double)x[c] / temperature - mx);
      draw_classes(sel + topk, weight, C, rand_budget, seed, offset, (uint64_t)b * rand_budget);
    }
  }
  return DUSA_OK;
}

// out(B, K) = in(B, C)[b, idx[b, k]]
int dusa_gather_forward(dusa_ctx* ctx, float* out, const float* in, const int32_t* idx, int B, int C, int K) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_gather_forward(ctx, s.out(out, dusa::count(B, K)), s.in(in, dusa::count(B, C)), idx, B, C, K));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in); CHECK_PTR(idx);
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(K);
  if (int status = check_idx(__func__, idx, B, C, K)) return status;
  for (int b = 0; b < B; b++)
    for (int k = 0; k < K; k++) out[(int64_t)b * K + k] = in[(int64_t)b * C + idx[(int64_t)b * K + k]];
  return DUSA_OK;
}

// din(B, C) = 0 except din[b, idx[b, k]] += dout[b, k] (repeated indices add up) — overwrite
int dusa_gather_backward(dusa_ctx* ctx, float* din, const float* dout, const int32_t* idx, int B, int C, int K) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_gather_backward(ctx, s.out(din, dusa::count(B, C)), s.in(dout, dusa::count(B, K)), idx, B, C, K));
  }
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout); CHECK_PTR(idx);
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(K);
  if (int status = check_idx(__func__, idx, B, C, K)) return status;
  for (int b = 0; b < B; b++) {
    float* d = din + (int64_t)b * C;
    for (int c = 0; c < C; c++) d[c] = 0.0f;
    for (int k = 0; k < K; k++) d[idx[(int64_t)b * K + k]] += dout[(int64_t)b * K + k];
  }
  return DUSA_OK;
}

}  // extern "C"
