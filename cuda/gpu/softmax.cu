// softmax.cu — row softmax with temperature over (N, C), forward and backward: one warp per row, max-subtracted,
// sums in double like the CPU backend (only the order of the double sums differs: a fixed shuffle tree).
#include <cmath>

#include "gpu.cuh"
#include "reduce.cuh"

namespace {

constexpr int kThreads = 256;  // 8 rows per block

template <typename T>
__global__ void softmax_forward_kernel(T* out, const T* in, int N, int C, double inv_t) {
  const int lane = threadIdx.x & 31;
  for (int64_t n = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32; n < N; n += (int64_t)gridDim.x * blockDim.x / 32) {
    const T* x = in + n * C;
    T* y = out + n * C;
    float mx = -INFINITY;
    for (int c = lane; c < C; c += 32) mx = fmaxf(mx, dusa::to_f32(x[c]));
    mx = dusa::warp_max(mx);
    double sum = 0.0;
    for (int c = lane; c < C; c += 32) sum += exp(((double)dusa::to_f32(x[c]) - mx) * inv_t);
    double inv = 1.0 / dusa::warp_sum(sum);
    for (int c = lane; c < C; c += 32) dusa::store_f32(y + c, (float)(exp(((double)dusa::to_f32(x[c]) - mx) * inv_t) * inv));
  }
}

// din = out * (dout - <dout, out>) / temperature
template <typename T>
__global__ void softmax_backward_kernel(T* din, const T* dout, const T* out, int N, int C, double inv_t) {
  const int lane = threadIdx.x & 31;
  for (int64_t n = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32; n < N; n += (int64_t)gridDim.x * blockDim.x / 32) {
    const T* g = dout + n * C;
    const T* y = out + n * C;
    T* dx = din + n * C;
    double dot = 0.0;
    for (int c = lane; c < C; c += 32) dot += (double)dusa::to_f32(g[c]) * dusa::to_f32(y[c]);
    dot = dusa::warp_sum(dot);
    for (int c = lane; c < C; c += 32)
      dusa::store_f32(dx + c, (float)((double)dusa::to_f32(y[c]) * ((double)dusa::to_f32(g[c]) - dot) * inv_t));
  }
}

}  // namespace

extern "C" {

int dusa_softmax_forward(dusa_ctx* ctx, float* out, const float* in, int N, int C, float temperature) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_POS(N); CHECK_POS(C);
  CHECK_ARG(temperature > 0.0f && std::isfinite(temperature), "%s: temperature must be finite and > 0, got %g",
            __func__, (double)temperature);
  const double inv_t = 1.0 / (double)temperature;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    softmax_forward_kernel<<<dusa::capped_blocks((uint64_t)N * 32, kThreads), kThreads, 0, ctx->stream>>>(dusa::act<S>(out), dusa::act<S>(in), N, C, inv_t);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_softmax_backward(dusa_ctx* ctx, float* din, const float* dout, const float* out, int N, int C,
                          float temperature) {
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout); CHECK_PTR(out);
  CHECK_POS(N); CHECK_POS(C);
  CHECK_ARG(temperature > 0.0f && std::isfinite(temperature), "%s: temperature must be finite and > 0, got %g",
            __func__, (double)temperature);
  const double inv_t = 1.0 / (double)temperature;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    softmax_backward_kernel<<<dusa::capped_blocks((uint64_t)N * 32, kThreads), kThreads, 0, ctx->stream>>>(dusa::act<S>(din), dusa::act<S>(dout), dusa::act<S>(out), N, C, inv_t);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

}  // extern "C"
