// groupnorm.cu — GroupNorm over NCHW (B, C, HW) with G groups, affine, optionally fused with SiLU. The same numerics
// as the fast path of cuda/cpu/groupnorm.cpp (see the formulas there):
//   forward:  statistics two-pass in double, one block per (b, g); then out elementwise in float
//             (x - mean) * (weight * rstd) + bias, SiLU y * sigmoid(y).
//   backward: per-(b, c) double sums of dy*xhat and dy (one block per plane), the group coefficients
//             a = mean(dxhat), k = mean(dxhat xhat) from them per (b, g), din elementwise, and the parameter grads
//             from the (b, c) partials rounded to float and added over b in order (as the CPU does).
// Nothing uses atomics: results are reproducible. The CPU's reference mode (double throughout) is not mirrored:
// the fast path is within float rounding of it.
#include "block_reduce.cuh"
#include "gpu.cuh"
#include "op_checks.h"

namespace {

constexpr int STATS_THREADS = 512;

__device__ inline float sigmoid(float y) { return 1.0f / (1.0f + expf(-y)); }

// factor of silu'(y) applied to the upstream gradient
__device__ inline float silu_grad(float y) {
  float s = sigmoid(y);
  return s * (1.0f + y * (1.0f - s));
}

// mean and rstd of each group (b, g): the n = Cg*HW contiguous values at bg*n
template <class T>
__global__ void groupnorm_stats_kernel(float* mean, float* rstd, const T* in, int64_t groups, int64_t n, float eps) {
  __shared__ double shared[32];
  for (int64_t bg = blockIdx.x; bg < groups; bg += gridDim.x) {
    const T* x = in + bg * n;
    double sum = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += (float)x[i];
    double m = dusa::block_total(sum, shared) / n;
    double sq = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      double d = (double)(float)x[i] - m;
      sq += d * d;
    }
    sq = dusa::block_total(sq, shared);
    if (threadIdx.x == 0) {
      mean[bg] = (float)m;
      rstd[bg] = (float)(1.0 / sqrt(sq / n + (double)eps));
    }
  }
}

template <class T>
__global__ void groupnorm_apply_kernel(T* out, const T* in, const float* mean, const float* rstd, const float* weight,
                                       const float* bias, int64_t total, int C, int HW, int Cg, int silu) {
  int64_t n = (int64_t)Cg * HW;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t bg = i / n;
    int c = (int)((i / HW) % C);
    float mf = mean[bg], rf = rstd[bg];
    // (x - mean) * scale + bias, not x * scale + (bias - mean * scale), as the CPU
    float scale = (weight ? weight[c] : 1.0f) * rf, shift = bias ? bias[c] : 0.0f;
    float v = ((float)in[i] - mf) * scale + shift;
    out[i] = (T)(silu ? v * sigmoid(v) : v);
  }
}

// The gradient dy at the GroupNorm output (before the optional SiLU) and xhat, recomputed from the saved statistics.
template <class T>
struct GroupGrad {
  const T* dout;
  const T* in;
  const float* weight;
  const float* bias;
  const float* mean;
  const float* rstd;
  int C, HW, G, Cg, silu;
  // element i of plane b*C + c
  __device__ void at(int64_t i, int64_t b, int c, float* xhat, float* dy) const {
    int64_t bg = b * G + c / Cg;
    float w = weight ? weight[c] : 1.0f, bb = bias ? bias[c] : 0.0f;
    *xhat = ((float)in[i] - mean[bg]) * rstd[bg];
    float d = (float)dout[i];
    *dy = silu ? d * silu_grad(*xhat * w + bb) : d;
  }
  // plane-sum terms: [0] dy * xhat (float product, as the CPU), [1] dy
  __device__ void operator()(int64_t plane, int p, double* acc) const {
    float xhat, dy;
    at(plane * HW + p, plane / C, (int)(plane % C), &xhat, &dy);
    acc[0] += dy * xhat;
    acc[1] += dy;
  }
};

// a = sum_c w_c sum(dy) / n and k = sum_c w_c sum(dy xhat) / n per (b, g), from the double (b, c) partials in order
__global__ void groupnorm_coef_kernel(float* coef, const double* partial, const float* weight, int B, int C, int G,
                                      int HW) {
  int64_t groups = (int64_t)B * G, planes = (int64_t)B * C;
  int Cg = C / G;
  double n = (double)Cg * HW;
  for (int64_t bg = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; bg < groups; bg += (int64_t)gridDim.x * blockDim.x) {
    int64_t b = bg / G;
    int g = (int)(bg % G);
    double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
    for (int cc = 0; cc < Cg; cc++) {
      int c = g * Cg + cc;
      float w = weight ? weight[c] : 1.0f;
      sum_dxhat += partial[planes + b * C + c] * w;
      sum_dxhat_xhat += partial[b * C + c] * w;
    }
    coef[2 * bg] = (float)(sum_dxhat / n);
    coef[2 * bg + 1] = (float)(sum_dxhat_xhat / n);
  }
}

template <class T>
__global__ void groupnorm_input_grad_kernel(T* din, GroupGrad<T> gg, const float* coef, int64_t total) {
  int64_t n = (int64_t)gg.Cg * gg.HW;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t plane = i / gg.HW, bg = i / n;
    int c = (int)(plane % gg.C);
    float xhat, dy;
    gg.at(i, plane / gg.C, c, &xhat, &dy);
    float dxhat = dy * (gg.weight ? gg.weight[c] : 1.0f);
    float a = coef[2 * bg], k = coef[2 * bg + 1], r = gg.rstd[bg];
    din[i] = (T)((dxhat - a - xhat * k) * r);
  }
}

}  // namespace

extern "C" {

int dusa_groupnorm_forward(dusa_ctx* ctx, float* out, float* mean, float* rstd, const float* in, const float* weight,
                           const float* bias, int B, int C, int HW, int G, float eps, int silu) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(mean); CHECK_PTR(rstd); CHECK_PTR(in);
  CHECK_GROUPNORM_SIZES();
  CHECK_ARG(eps >= 0, "%s: eps must be >= 0", __func__);
  int Cg = C / G;
  int64_t groups = (int64_t)B * G, total = (int64_t)B * C * HW;
  unsigned grid = (unsigned)(groups < 65535 * 8 ? groups : 65535 * 8);
  dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    groupnorm_stats_kernel<<<grid, STATS_THREADS, 0, ctx->stream>>>(mean, rstd, dusa::act<T>(in), groups,
                                                                    (int64_t)Cg * HW, eps);
    groupnorm_apply_kernel<<<dusa::capped_blocks(total, 256), 256, 0, ctx->stream>>>(
        dusa::act<T>(out), dusa::act<T>(in), mean, rstd, weight, bias, total, C, HW, Cg, silu);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_groupnorm_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout, const float* in,
                            const float* weight, const float* bias, const float* mean, const float* rstd, int B, int C,
                            int HW, int G, int silu) {
  DUSA_OP(ctx);
  CHECK_PTR(dout); CHECK_PTR(in); CHECK_PTR(mean); CHECK_PTR(rstd);
  CHECK_GROUPNORM_SIZES();
  if (!din && !dweight && !dbias) return DUSA_OK;
  int Cg = C / G;
  int64_t planes = (int64_t)B * C, groups = (int64_t)B * G, total = planes * HW;
  // workspace: partials (2, B, C) doubles, then the coefficients (B, G, 2) floats
  float* ws = dusa::workspace(ctx, 4 * (uint64_t)planes + 2 * (uint64_t)groups);
  if (!ws) return DUSA_ERR_OOM;
  double* partial = reinterpret_cast<double*>(ws);
  float* coef = ws + 4 * planes;
  int status = DUSA_OK;
  dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    GroupGrad<T> gg{dusa::act<T>(dout), dusa::act<T>(in), weight, bias, mean, rstd, C, HW, G, Cg, silu};
    status = dusa::plane_sums<2>(ctx, "dusa_groupnorm_backward", partial, gg, planes, HW);
    if (status != DUSA_OK || !din) return;
    groupnorm_coef_kernel<<<dusa::capped_blocks(groups, 256), 256, 0, ctx->stream>>>(coef, partial, weight, B, C, G, HW);
    groupnorm_input_grad_kernel<<<dusa::capped_blocks(total, 256), 256, 0, ctx->stream>>>(dusa::act<T>(din), gg, coef,
                                                                                          total);
  });
  if (status != DUSA_OK) return status;
  CHECK_LAUNCH();
  if (dweight || dbias) {
    dusa::plane_finish_kernel<true><<<dusa::capped_blocks(C, 256), 256, 0, ctx->stream>>>(dweight, dbias, partial, B, C);
    CHECK_LAUNCH();
  }
  return DUSA_OK;
}

}  // extern "C"
