// flow_loss.cu — the fused DUSA loss (see cuda/cpu/flow_loss.cpp). One block per image b:
//   pass 1: p_w,d = sum_k w_k p_k,d (double, k ascending like the CPU) and the row sums se, <p_w,t>, |p_w|^2, |t|^2
//           (double, block tree) -> e_b, cosine_b into the workspace;
//   pass 2: g_d = a (p_w - t)_d + c_t t_d + c_p p_w,d, dp_k,d = w_k g_d, and g_d kept (double) for
//   pass 3: dw_k = <g, p_k> (double, block tree).
// A last single-thread kernel sums the per-image terms in image order exactly like the CPU.
#include <cmath>

#include "gpu.cuh"
#include "op_checks.h"
#include "reduce.cuh"

namespace {

constexpr double NORM_L2_EPS = 1e-3;  // e / stopgrad(sqrt(e + 1e-3))
constexpr double COSINE_EPS = 1e-8;   // <a, b> / max(|a| |b|, 1e-8)
constexpr int kThreads = 256;

struct RowStats {
  double mse;     // e_b = mean_d (p_w - target)^2
  double cosine;  // <p_w, target> / max(|p_w| |target|, eps)
};

struct LossArgs {
  int B, K, D;
  float w_mse, w_norm_l2, w_cosine, grad_scale;
};

template <typename T>
__device__ __forceinline__ double weighted(const T* wb, const T* pb, int K, int D, int d) {
  double v = 0.0;
  for (int k = 0; k < K; k++) v += (double)dusa::to_f32(wb[k]) * dusa::to_f32(pb[(int64_t)k * D + d]);
  return v;
}

template <typename T>
__global__ void __launch_bounds__(kThreads) flow_loss_rows_kernel(RowStats* stats, double* gbuf, T* dw, T* dp,
                                                                  const T* w, const T* p, const T* target,
                                                                  LossArgs a) {
  __shared__ double shared[32];
  const int b = blockIdx.x, K = a.K, D = a.D;
  const T* wb = w + (int64_t)b * K;
  const T* pb = p + (int64_t)b * K * D;  // (K, D)
  const T* tb = target + (int64_t)b * D;
  double se = 0.0, dot = 0.0, pp = 0.0, tt = 0.0;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    double v = weighted(wb, pb, K, D, d), t = dusa::to_f32(tb[d]);
    double r = v - t;
    se += r * r;
    dot += v * t;
    pp += v * v;
    tt += t * t;
  }
  se = dusa::block_sum(se, shared);
  dot = dusa::block_sum(dot, shared);
  pp = dusa::block_sum(pp, shared);
  tt = dusa::block_sum(tt, shared);
  double e = se / D;
  bool clamped = pp * tt < COSINE_EPS * COSINE_EPS;
  double den = clamped ? COSINE_EPS : sqrt(pp) * sqrt(tt);
  double cosine = dot / den;
  if (threadIdx.x == 0) stats[b] = {e, cosine};
  if (!dw && !dp) return;

  // g_d = a (p_w - t)_d + c_t t_d + c_p p_w,d
  const int B = a.B;
  double ca = (double)a.grad_scale * ((double)a.w_mse / B + (double)a.w_norm_l2 / (B * sqrt(e + NORM_L2_EPS))) * 2.0 / D;
  double c_t = 0.0, c_p = 0.0;
  if (a.w_cosine != 0.0f) {  // d(1 - cos)/dp_w = -(t / den - cos p_w / |p_w|^2), the second part unless clamped
    double s = -(double)a.grad_scale * a.w_cosine / B;
    c_t = s / den;
    c_p = clamped ? 0.0 : -s * cosine / pp;
  }
  double* gb = gbuf ? gbuf + (int64_t)b * D : nullptr;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    double v = weighted(wb, pb, K, D, d), t = dusa::to_f32(tb[d]);
    double g = ca * (v - t) + c_t * t + c_p * v;
    if (dp)
      for (int k = 0; k < K; k++) dusa::store_f32(dp + ((int64_t)b * K + k) * D + d, (float)(dusa::to_f32(wb[k]) * g));
    if (gb) gb[d] = g;  // read back below by this same thread only
  }
  if (!dw) return;
  for (int k = 0; k < K; k++) {
    double acc = 0.0;
    for (int d = threadIdx.x; d < D; d += blockDim.x) acc += gb[d] * dusa::to_f32(pb[(int64_t)k * D + d]);
    acc = dusa::block_sum(acc, shared);
    if (threadIdx.x == 0) dusa::store_f32(dw + (int64_t)b * K + k, (float)acc);
  }
}

// terms = {total, mse, norm_l2, cosine}, images summed in order like the CPU
__global__ void flow_loss_terms_kernel(float* terms, const RowStats* stats, LossArgs a) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  double mse = 0.0, norm_l2 = 0.0, cosine = 0.0;
  for (int b = 0; b < a.B; b++) {
    mse += stats[b].mse;
    norm_l2 += stats[b].mse / sqrt(stats[b].mse + NORM_L2_EPS);
    cosine += 1.0 - stats[b].cosine;
  }
  mse /= a.B; norm_l2 /= a.B; cosine /= a.B;
  terms[0] = (float)(a.w_mse * mse + a.w_norm_l2 * norm_l2 + a.w_cosine * cosine);
  terms[1] = (float)mse;
  terms[2] = (float)norm_l2;
  terms[3] = (float)cosine;
}

}  // namespace

extern "C" {

int dusa_flow_loss(dusa_ctx* ctx, float* terms, float* dw, float* dp, const float* w, const float* p,
                   const float* target, int B, int K, int D, float w_mse, float w_norm_l2, float w_cosine,
                   float grad_scale) {
  DUSA_OP(ctx);
  if (int s = dusa::flow_loss_args(__func__, terms, w, p, target, B, K, D, w_mse, w_norm_l2, w_cosine, grad_scale)) return s;
  // workspace: stats (B RowStats), then g (B, D) doubles when dw is wanted
  const uint64_t stats_floats = 4 * (uint64_t)B, g_floats = dw ? 2 * (uint64_t)B * D : 0;
  float* ws = dusa::workspace(ctx, stats_floats + g_floats);
  if (!ws) return DUSA_ERR_OOM;
  RowStats* stats = (RowStats*)ws;
  double* gbuf = dw ? (double*)(ws + stats_floats) : nullptr;
  LossArgs a{B, K, D, w_mse, w_norm_l2, w_cosine, grad_scale};
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    flow_loss_rows_kernel<<<B, kThreads, 0, ctx->stream>>>(stats, gbuf, dusa::act<S>(dw), dusa::act<S>(dp), dusa::act<S>(w), dusa::act<S>(p), dusa::act<S>(target), a);
  });
  CHECK_LAUNCH();
  flow_loss_terms_kernel<<<1, 32, 0, ctx->stream>>>((float*)dusa::scalar_target(ctx, terms), stats, a);
  CHECK_LAUNCH();
  return dusa::scalar_finish(ctx, terms, 4 * sizeof(float), __func__);
}

}  // extern "C"
