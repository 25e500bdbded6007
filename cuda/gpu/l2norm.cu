// l2norm.cu — row L2 normalisation over (N, C) with torch F.normalize semantics: out = x / max(||x||, eps).
// The forward saves the raw norm ||x||; the backward treats a clamped row (||x|| < eps) as a constant divisor.
// One warp per row, sums in double like the CPU backend (the order of the double sum is a fixed shuffle tree).
#include <cmath>

#include "gpu.cuh"
#include "reduce.cuh"

namespace {

constexpr int kThreads = 256;  // 8 rows per block

template <typename T>
__global__ void l2norm_forward_kernel(T* out, float* norm, const T* in, int N, int C, float eps) {
  const int lane = threadIdx.x & 31;
  for (int64_t n = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32; n < N; n += (int64_t)gridDim.x * blockDim.x / 32) {
    const T* x = in + n * C;
    T* y = out + n * C;
    double ss = 0.0;
    for (int c = lane; c < C; c += 32) {
      double v = dusa::to_f32(x[c]);
      ss += v * v;
    }
    double nrm = sqrt(dusa::warp_sum(ss)), inv = 1.0 / fmax(nrm, (double)eps);
    if (lane == 0) norm[n] = (float)nrm;
    for (int c = lane; c < C; c += 32) dusa::store_f32(y + c, (float)(dusa::to_f32(x[c]) * inv));
  }
}

// ||x|| >= eps: din = dout / ||x|| - x <x, dout> / ||x||^3; else din = dout / eps
template <typename T>
__global__ void l2norm_backward_kernel(T* din, const T* dout, const T* in, const float* norm, int N, int C, float eps) {
  const int lane = threadIdx.x & 31;
  for (int64_t n = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32; n < N; n += (int64_t)gridDim.x * blockDim.x / 32) {
    const T* x = in + n * C;
    const T* g = dout + n * C;
    T* dx = din + n * C;
    double nrm = norm[n];
    if (nrm >= (double)eps) {
      double dot = 0.0;
      for (int c = lane; c < C; c += 32) dot += (double)dusa::to_f32(x[c]) * dusa::to_f32(g[c]);
      dot = dusa::warp_sum(dot);
      double inv = 1.0 / nrm, k = dot * inv * inv * inv;
      for (int c = lane; c < C; c += 32) dusa::store_f32(dx + c, (float)(dusa::to_f32(g[c]) * inv - dusa::to_f32(x[c]) * k));
    } else {
      double inv = 1.0 / (double)eps;
      for (int c = lane; c < C; c += 32) dusa::store_f32(dx + c, (float)(dusa::to_f32(g[c]) * inv));
    }
  }
}

}  // namespace

extern "C" {

int dusa_l2norm_forward(dusa_ctx* ctx, float* out, float* norm, const float* in, int N, int C, float eps) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(norm); CHECK_PTR(in);
  CHECK_POS(N); CHECK_POS(C);
  CHECK_ARG(eps >= 0.0f, "%s: eps must be >= 0, got %g", __func__, (double)eps);
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    l2norm_forward_kernel<<<dusa::capped_blocks((uint64_t)N * 32, kThreads), kThreads, 0, ctx->stream>>>(dusa::act<S>(out), norm, dusa::act<S>(in), N, C, eps);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_l2norm_backward(dusa_ctx* ctx, float* din, const float* dout, const float* in, const float* norm, int N, int C,
                         float eps) {
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout); CHECK_PTR(in); CHECK_PTR(norm);
  CHECK_POS(N); CHECK_POS(C);
  CHECK_ARG(eps >= 0.0f, "%s: eps must be >= 0, got %g", __func__, (double)eps);
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    l2norm_backward_kernel<<<dusa::capped_blocks((uint64_t)N * 32, kThreads), kThreads, 0, ctx->stream>>>(dusa::act<S>(din), dusa::act<S>(dout), dusa::act<S>(in), norm, N, C, eps);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

}  // extern "C"
