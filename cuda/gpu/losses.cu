// losses.cu — classification losses over logits (N, C): cross-entropy against int32 labels and the mean softmax
// entropy (Tent), forward and backward, plus argmax. One warp per row; per-row values in double like the CPU
// backend; the mean over rows is one block's fixed-order sum (deterministic, but a tree rather than the CPU's
// row-order sum). Labels are checked on the device before anything is written; a bad one is reported like the CPU.
#include <climits>
#include <cmath>

#include "gpu.cuh"
#include "reduce.cuh"

namespace {

constexpr int kThreads = 256;  // 8 rows per block

// log sum exp of one row (every lane gets it): max in float, sum of exp in double
template <typename T>
__device__ __forceinline__ double row_lse(const T* x, int C, int lane) {
  float mx = -INFINITY;
  for (int c = lane; c < C; c += 32) mx = fmaxf(mx, dusa::to_f32(x[c]));
  mx = dusa::warp_max(mx);
  double sum = 0.0;
  for (int c = lane; c < C; c += 32) sum += exp((double)dusa::to_f32(x[c]) - mx);
  return mx + log(dusa::warp_sum(sum));
}

// -sum p log p with log p = x - lse (every lane gets it)
template <typename T>
__device__ __forceinline__ double row_entropy(const T* x, int C, double lse, int lane) {
  double h = 0.0;
  for (int c = lane; c < C; c += 32) {
    double logp = (double)dusa::to_f32(x[c]) - lse;
    h -= exp(logp) * logp;
  }
  return dusa::warp_sum(h);
}

#define FOR_EACH_ROW(n, N)                                                                   \
  for (int64_t n = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32; n < (N);         \
       n += (int64_t)gridDim.x * blockDim.x / 32)

template <typename T>
__global__ void cross_entropy_rows_kernel(double* per_row, const T* logits, const int32_t* labels, int N, int C) {
  const int lane = threadIdx.x & 31;
  FOR_EACH_ROW(n, N) {
    const T* x = logits + n * C;
    double lse = row_lse(x, C, lane);
    const int label = labels[n];  // outside [0, C): NaN, reported by the replay check of a graph or before the launch
    if (lane == 0) per_row[n] = label >= 0 && label < C ? lse - dusa::to_f32(x[label]) : (double)NAN;
  }
}

template <typename T>
__global__ void cross_entropy_backward_kernel(T* dlogits, const T* logits, const int32_t* labels, int N, int C, double scale) {
  const int lane = threadIdx.x & 31;
  FOR_EACH_ROW(n, N) {
    const T* x = logits + n * C;
    T* dx = dlogits + n * C;
    double lse = row_lse(x, C, lane);
    int label = labels[n];
    for (int c = lane; c < C; c += 32)
      dusa::store_f32(dx + c, (float)(scale * (exp((double)dusa::to_f32(x[c]) - lse) - (c == label ? 1.0 : 0.0))));
  }
}

template <typename T>
__global__ void entropy_rows_kernel(double* per_row, const T* logits, int N, int C) {
  const int lane = threadIdx.x & 31;
  FOR_EACH_ROW(n, N) {
    const T* x = logits + n * C;
    double h = row_entropy(x, C, row_lse(x, C, lane), lane);
    if (lane == 0) per_row[n] = h;
  }
}

// d/dx_c of -sum p log p = -p_c (log p_c + H), times dloss / N
template <typename T>
__global__ void entropy_backward_kernel(T* dlogits, const T* logits, int N, int C, double scale) {
  const int lane = threadIdx.x & 31;
  FOR_EACH_ROW(n, N) {
    const T* x = logits + n * C;
    T* dx = dlogits + n * C;
    double lse = row_lse(x, C, lane), h = row_entropy(x, C, lse, lane);
    for (int c = lane; c < C; c += 32) {
      double logp = (double)dusa::to_f32(x[c]) - lse;
      dusa::store_f32(dx + c, (float)(-scale * exp(logp) * (logp + h)));
    }
  }
}

// loss[0] = mean of per_row (one block)
__global__ void mean_kernel(float* loss, const double* per_row, int N) {
  __shared__ double shared[32];
  double s = 0.0;
  for (int n = threadIdx.x; n < N; n += blockDim.x) s += per_row[n];
  s = dusa::block_sum(s, shared);
  if (threadIdx.x == 0) loss[0] = (float)(s / N);
}

// (value, index) candidates for argmax: NaN beats everything, then the larger value, then the lower index
struct Best {
  float v;
  int i;
};

__device__ __forceinline__ Best better(Best a, Best b) {
  bool an = isnan(a.v), bn = isnan(b.v);
  if (an || bn) {
    if (an && bn) return a.i < b.i ? a : b;
    return an ? a : b;
  }
  if (a.v > b.v) return a;
  if (b.v > a.v) return b;
  return a.i < b.i ? a : b;
}

template <typename T>
__global__ void argmax_kernel(int32_t* out, const T* in, int N, int C) {
  const int lane = threadIdx.x & 31;
  FOR_EACH_ROW(n, N) {
    const T* x = in + n * C;
    Best best{-INFINITY, INT_MAX};
    for (int c = lane; c < C; c += 32) best = better(best, Best{dusa::to_f32(x[c]), c});
    for (int o = 16; o > 0; o >>= 1) {
      Best other{__shfl_xor_sync(0xffffffffu, best.v, o), __shfl_xor_sync(0xffffffffu, best.i, o)};
      best = better(best, other);
    }
    if (lane == 0) out[n] = best.i;
  }
}

inline unsigned row_blocks(int N) { return dusa::capped_blocks((uint64_t)N * 32, kThreads); }

// workspace: 8 bytes for the label check, then per_row (N doubles)
inline float* loss_workspace(dusa_ctx* ctx, int N) { return dusa::workspace(ctx, 2 + 2 * (uint64_t)N); }

int check_labels(dusa_ctx* ctx, const int32_t* labels, int N, int C, void* scratch, const char* fn) {
  int64_t bad = -1;
  int32_t value = 0;
  if (int status = dusa::find_bad_id(ctx, labels, (uint64_t)N, C, scratch, &bad, &value, fn, "labels", 1)) return status;
  if (bad >= 0)
    return dusa::fail(DUSA_ERR_INVALID, "%s: label %d of row %d is outside [0, %d)", fn, value, (int)bad, C);
  return DUSA_OK;
}

}  // namespace

extern "C" {

int dusa_cross_entropy_forward(dusa_ctx* ctx, float* loss, const float* logits, const int32_t* labels, int N, int C) {
  DUSA_OP(ctx);
  CHECK_PTR(loss); CHECK_PTR(logits); CHECK_PTR(labels);
  CHECK_POS(N); CHECK_POS(C);
  float* ws = loss_workspace(ctx, N);
  if (!ws) return DUSA_ERR_OOM;
  if (int status = check_labels(ctx, labels, N, C, ws, __func__)) return status;
  double* per_row = (double*)(ws + 2);
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    cross_entropy_rows_kernel<<<row_blocks(N), kThreads, 0, ctx->stream>>>(per_row, dusa::act<S>(logits), labels, N, C);
  });
  CHECK_LAUNCH();
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    mean_kernel<<<1, 256, 0, ctx->stream>>>((float*)dusa::scalar_target(ctx, loss), per_row, N);
  });
  CHECK_LAUNCH();
  return dusa::scalar_finish(ctx, loss, sizeof(float), __func__);
}

// dlogits = dloss * (softmax - onehot) / N (overwrite)
int dusa_cross_entropy_backward(dusa_ctx* ctx, float* dlogits, const float* logits, const int32_t* labels, int N, int C,
                                float dloss) {
  DUSA_OP(ctx);
  CHECK_PTR(dlogits); CHECK_PTR(logits); CHECK_PTR(labels);
  CHECK_POS(N); CHECK_POS(C);
  float* ws = dusa::workspace(ctx, 2);
  if (!ws) return DUSA_ERR_OOM;
  if (int status = check_labels(ctx, labels, N, C, ws, __func__)) return status;
  const double scale = (double)dloss / N;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    cross_entropy_backward_kernel<<<row_blocks(N), kThreads, 0, ctx->stream>>>(dusa::act<S>(dlogits), dusa::act<S>(logits), labels, N, C, scale);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_entropy_forward(dusa_ctx* ctx, float* loss, const float* logits, int N, int C) {
  DUSA_OP(ctx);
  CHECK_PTR(loss); CHECK_PTR(logits);
  CHECK_POS(N); CHECK_POS(C);
  float* ws = loss_workspace(ctx, N);
  if (!ws) return DUSA_ERR_OOM;
  double* per_row = (double*)(ws + 2);
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    entropy_rows_kernel<<<row_blocks(N), kThreads, 0, ctx->stream>>>(per_row, dusa::act<S>(logits), N, C);
  });
  CHECK_LAUNCH();
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    mean_kernel<<<1, 256, 0, ctx->stream>>>((float*)dusa::scalar_target(ctx, loss), per_row, N);
  });
  CHECK_LAUNCH();
  return dusa::scalar_finish(ctx, loss, sizeof(float), __func__);
}

int dusa_entropy_backward(dusa_ctx* ctx, float* dlogits, const float* logits, int N, int C, float dloss) {
  DUSA_OP(ctx);
  CHECK_PTR(dlogits); CHECK_PTR(logits);
  CHECK_POS(N); CHECK_POS(C);
  const double scale = (double)dloss / N;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    entropy_backward_kernel<<<row_blocks(N), kThreads, 0, ctx->stream>>>(dusa::act<S>(dlogits), dusa::act<S>(logits), N, C, scale);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

// first index of the row maximum (NaN counts as the maximum, like torch.argmax)
int dusa_argmax(dusa_ctx* ctx, int32_t* out, const float* in, int N, int C) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_POS(N); CHECK_POS(C);
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    argmax_kernel<<<row_blocks(N), kThreads, 0, ctx->stream>>>(out, dusa::act<S>(in), N, C);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

}  // extern "C"
