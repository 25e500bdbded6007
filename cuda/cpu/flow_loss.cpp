// flow_loss.cpp — the fused DUSA loss. Per image b: p_w = sum_k w_k p_k over the K class hypotheses, then
// mse, norm_l2 (MSE over a stop-gradient sqrt of itself) and cosine against the shared target, and the
// gradients of grad_scale * total to w and to every p_k in the same pass:
//   g = dtotal/dp_w,  dp_k = w_k g,  dw_k = <g, p_k>.
// Rows run in parallel; per-row sums are in double and the terms are summed in row order (thread-independent).
#include <omp.h>

#include <cmath>

#include "cpu.h"
#include "storage.h"
#include "op_checks.h"

namespace {

constexpr double NORM_L2_EPS = 1e-3;  // e / stopgrad(sqrt(e + 1e-3))
constexpr double COSINE_EPS = 1e-8;   // <a, b> / max(|a| |b|, 1e-8)

struct RowStats {
  double mse;     // e_b = mean_d (p_w - target)^2
  double cosine;  // <p_w, target> / max(|p_w| |target|, eps)
};

}  // namespace

extern "C" {

int dusa_flow_loss(dusa_ctx* ctx, float* terms, float* dw, float* dp, const float* w, const float* p,
                   const float* target, int B, int K, int D, float w_mse, float w_norm_l2, float w_cosine,
                   float grad_scale) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_flow_loss(ctx, terms, s.out(dw, dusa::count(B, K)), s.out(dp, dusa::count(B, K, D)), s.in(w, dusa::count(B, K)), s.in(p, dusa::count(B, K, D)), s.in(target, dusa::count(B, D)), B, K, D, w_mse, w_norm_l2, w_cosine, grad_scale));
  }
  DUSA_OP(ctx);
  if (int s = dusa::flow_loss_args(__func__, terms, w, p, target, B, K, D, w_mse, w_norm_l2, w_cosine, grad_scale)) return s;
  const int64_t per = ((int64_t)D + K + 1) / 2 * 2;  // doubles per thread: p_w (D), dw accumulators (K)
  float* ws = dusa::workspace(ctx, 4 * (uint64_t)B + 2 * (uint64_t)(per * ctx->threads));
  if (!ws) return DUSA_ERR_OOM;
  RowStats* stats = (RowStats*)ws;        // (B)
  double* scratch = (double*)(ws + 4 * (int64_t)B);
  const bool grads = dw || dp;
#pragma omp parallel num_threads(ctx->threads) if ((int64_t)B * K * D > (1 << 14))
  {
    double* pw = scratch + omp_get_thread_num() * per;  // (D)
    double* acc = pw + D;                                // (K)
#pragma omp for schedule(static)
    for (int b = 0; b < B; b++) {
      const float* wb = w + (int64_t)b * K;
      const float* pb = p + (int64_t)b * K * D;  // (K, D)
      const float* tb = target + (int64_t)b * D;
      double se = 0.0, dot = 0.0, pp = 0.0, tt = 0.0;
      for (int d = 0; d < D; d++) {
        double v = 0.0;
        for (int k = 0; k < K; k++) v += (double)wb[k] * pb[(int64_t)k * D + d];
        pw[d] = v;
        double r = v - tb[d];
        se += r * r;
        dot += v * tb[d];
        pp += v * v;
        tt += (double)tb[d] * tb[d];
      }
      double e = se / D;
      bool clamped = pp * tt < COSINE_EPS * COSINE_EPS;
      double den = clamped ? COSINE_EPS : std::sqrt(pp) * std::sqrt(tt);
      double cosine = dot / den;
      stats[b] = {e, cosine};
      if (!grads) continue;
      // g_d = a (p_w - t)_d + c_t t_d + c_p p_w,d
      double a = (double)grad_scale * ((double)w_mse / B + (double)w_norm_l2 / (B * std::sqrt(e + NORM_L2_EPS))) * 2.0 / D;
      double c_t = 0.0, c_p = 0.0;
      if (w_cosine != 0.0f) {  // d(1 - cos)/dp_w = -(t / den - cos p_w / |p_w|^2), the second part unless clamped
        double s = -(double)grad_scale * w_cosine / B;
        c_t = s / den;
        c_p = clamped ? 0.0 : -s * cosine / pp;
      }
      for (int k = 0; k < K; k++) acc[k] = 0.0;
      for (int d = 0; d < D; d++) {
        double g = a * (pw[d] - tb[d]) + c_t * tb[d] + c_p * pw[d];
        for (int k = 0; k < K; k++) {
          int64_t i = (int64_t)k * D + d;
          if (dp) dp[(int64_t)b * K * D + i] = (float)(wb[k] * g);
          acc[k] += g * pb[i];
        }
      }
      if (dw)
        for (int k = 0; k < K; k++) dw[(int64_t)b * K + k] = (float)acc[k];
    }
  }
  double mse = 0.0, norm_l2 = 0.0, cosine = 0.0;
  for (int b = 0; b < B; b++) {
    mse += stats[b].mse;
    norm_l2 += stats[b].mse / std::sqrt(stats[b].mse + NORM_L2_EPS);
    cosine += 1.0 - stats[b].cosine;
  }
  mse /= B; norm_l2 /= B; cosine /= B;
  terms[0] = (float)(w_mse * mse + w_norm_l2 * norm_l2 + w_cosine * cosine);
  terms[1] = (float)mse;
  terms[2] = (float)norm_l2;
  terms[3] = (float)cosine;
  return DUSA_OK;
}

}  // extern "C"
