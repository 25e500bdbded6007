// select.cu — DUSA class selection (top-k of the L2-normalised logits plus classes drawn without replacement from
// the softmax of the raw logits over the rest) and the gather that picks the selected logits.
// One block per row. The top-k is k block-wide arg-best reductions under a strict total order (larger value first,
// ties to the lower index), so it equals the CPU's pick for pick. The draws replicate the CPU's arithmetic exactly:
// the weights are computed elementwise in double, then one thread runs the CPU's sequential inverse-CDF loop
// (class-order double sums), with the same Philox uniform per draw.
#include <climits>
#include <cmath>

#include "gpu.cuh"
#include "op_checks.h"
#include "reduce.cuh"
#include "step_values.h"

namespace {

constexpr int kThreads = 256;

// (value, class) under the selection order: true when a ranks before b
struct Ranked {
  float v;
  int c;
};

__device__ __forceinline__ bool ranks_before(Ranked a, Ranked b) { return a.v > b.v || (a.v == b.v && a.c < b.c); }

// the best-ranked candidate of the block (every thread gets it); `sv`, `sc` hold 32 entries
__device__ Ranked block_best(Ranked r, float* sv, int* sc) {
  for (int o = 16; o > 0; o >>= 1) {
    Ranked other{__shfl_xor_sync(0xffffffffu, r.v, o), __shfl_xor_sync(0xffffffffu, r.c, o)};
    if (ranks_before(other, r)) r = other;
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) {
    sv[warp] = r.v;
    sc[warp] = r.c;
  }
  __syncthreads();
  r = lane < warps ? Ranked{sv[lane], sc[lane]} : Ranked{-INFINITY, INT_MAX};
  for (int o = 16; o > 0; o >>= 1) {
    Ranked other{__shfl_xor_sync(0xffffffffu, r.v, o), __shfl_xor_sync(0xffffffffu, r.c, o)};
    if (ranks_before(other, r)) r = other;
  }
  return r;
}

__device__ double block_max(double v, double* shared) {
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : -INFINITY;
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// The CPU's draw_classes, verbatim (one thread): sequential draws by inverse CDF over the available classes in
// class order; weight[c] >= 0 for an available class, -1 once taken.
__device__ void draw_classes(int32_t* sel, double* weight, int C, int count, uint64_t seed, uint64_t offset, uint64_t first) {
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

// weights: (B, C) doubles of workspace when rand_budget > 0
template <class T>
__global__ void __launch_bounds__(kThreads) select_kernel(int32_t* selected, double* weights, const T* normed,
                                                          const T* logits, int C, int topk, int rand_budget,
                                                          float temperature, uint64_t seed, uint64_t offset,
                                                          const int32_t* index, uint64_t stride) {
  __shared__ float sv[32];
  __shared__ int sc[32];
  __shared__ double sd[32];
  const int b = blockIdx.x, K = topk + rand_budget;
  int32_t* sel = selected + (int64_t)b * K;
  const T* x = normed + (int64_t)b * C;
  // top-k: pick j is the best class ranked after pick j-1
  Ranked prev{INFINITY, -1};  // ranks before every class
  for (int j = 0; j < topk; j++) {
    Ranked best{-INFINITY, INT_MAX};  // ranks after every class (values are finite)
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
      Ranked r{(float)x[c], c};
      if (ranks_before(prev, r) && ranks_before(r, best)) best = r;
    }
    prev = block_best(best, sv, sc);
    if (prev.c >= C) prev.c = 0;  // no candidate: a non-finite row, reported by the graph's replay check; stay in bounds
    if (threadIdx.x == 0) sel[j] = prev.c;
  }
  if (rand_budget == 0) return;

  // unnormalised softmax(logits / temperature) over the non-top-k classes, max-subtracted, in double
  const T* l = logits + (int64_t)b * C;
  double* weight = weights + (int64_t)b * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) weight[c] = 0.0;
  __syncthreads();
  for (int j = threadIdx.x; j < topk; j += blockDim.x) weight[sel[j]] = -1.0;
  __syncthreads();
  double mx = -INFINITY;
  for (int c = threadIdx.x; c < C; c += blockDim.x)
    if (weight[c] >= 0.0) mx = fmax(mx, (double)(float)l[c] / temperature);
  mx = block_max(mx, sd);
  for (int c = threadIdx.x; c < C; c += blockDim.x)
    if (weight[c] >= 0.0) weight[c] = exp((double)(float)l[c] / temperature - mx);
  __syncthreads();
  if (threadIdx.x == 0)
    draw_classes(sel + topk, weight, C, rand_budget, seed, dusa::indexed_offset(offset, index, stride), (uint64_t)b * rand_budget);
}

// out(B, K) = in[b, idx[b, k]]
template <class T>
__global__ void gather_forward_kernel(T* out, const T* in, const int32_t* idx, int B, int C, int K) {
  const uint64_t n = (uint64_t)B * K;
  for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x)
    out[i] = idx[i] >= 0 && idx[i] < C ? in[(int64_t)(i / K) * C + idx[i]] : T(0.0f);  // bad ids: a graph's replay check
}

// din[b, c] = sum of dout[b, k] over idx[b, k] == c, k ascending (the CPU's float order), 0 elsewhere
template <class T>
__global__ void gather_backward_kernel(T* din, const T* dout, const int32_t* idx, int B, int C, int K) {
  const uint64_t n = (uint64_t)B * C;
  for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x) {
    const int64_t b = (int64_t)(i / C);
    const int c = (int)(i % C);
    const int32_t* ib = idx + b * K;
    const T* gb = dout + b * K;
    float acc = 0.0f;
    for (int k = 0; k < K; k++)
      if (ib[k] == c) acc += (float)gb[k];
    din[i] = (T)acc;
  }
}

int check_idx(dusa_ctx* ctx, const int32_t* idx, int B, int C, int K, const char* fn) {
  float* scratch = dusa::workspace(ctx, 2);
  if (!scratch) return DUSA_ERR_OOM;
  int64_t bad = -1;
  int32_t value = 0;
  if (int status = dusa::find_bad_id(ctx, idx, (uint64_t)B * K, C, scratch, &bad, &value, fn, "idx", K)) return status;
  if (bad >= 0)
    return dusa::fail(DUSA_ERR_INVALID, "%s: idx[%lld, %lld] = %d is outside [0, %d)", fn, (long long)(bad / K),
                      (long long)(bad % K), value, C);
  return DUSA_OK;
}

// selected (B, topk + rand_budget); logits may be NULL when rand_budget = 0; index (nullable) a device step counter
int select_classes(dusa_ctx* ctx, int32_t* selected, const float* normed, const float* logits, int B, int C, int topk,
                   int rand_budget, float temperature, uint64_t seed, uint64_t offset, const int32_t* index,
                   uint64_t stride, const char* fn) {
  if (int s = dusa::select_args(fn, selected, normed, logits, B, C, topk, rand_budget, temperature)) return s;
  // workspace: 8 bytes for the checks, then the (B, C) double weights of the draws
  float* ws = dusa::workspace(ctx, 2 + (rand_budget > 0 ? 2 * (uint64_t)B * C : 0));
  if (!ws) return DUSA_ERR_OOM;
  const uint64_t n = (uint64_t)B * C;
  int64_t bad = -1;
  bool bf16 = ctx->storage == DUSA_DTYPE_BF16;
  auto non_finite = [&](const float* x, const char* what) {
    const dusa::GraphCheck check{dusa::GraphCheck::kNonFinite, fn, what, nullptr, 0, C};
    return bf16 ? dusa::first_match(ctx, dusa::NonFinite<__nv_bfloat16>{dusa::act<__nv_bfloat16>(x)}, n, ws, &bad, fn, check)
                : dusa::first_match(ctx, dusa::NonFinite<float>{x}, n, ws, &bad, fn, check);
  };
  if (int status = non_finite(normed, "normed")) return status;
  CHECK_ARG(bad < 0, "%s: normed row %d has a non-finite value", fn, (int)(bad / C));
  if (rand_budget > 0) {
    if (int status = non_finite(logits, "logits")) return status;
    CHECK_ARG(bad < 0, "%s: logits row %d has a non-finite value", fn, (int)(bad / C));
  }
  double* weights = rand_budget > 0 ? (double*)(ws + 2) : nullptr;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    select_kernel<<<B, kThreads, 0, ctx->stream>>>(selected, weights, dusa::act<S>(normed), dusa::act<S>(logits), C, topk, rand_budget, temperature, seed, offset, index, stride);
  });
  cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? DUSA_OK : dusa::cuda_fail(err, fn, "kernel launch");
}

}  // namespace

extern "C" {

int dusa_select_classes(dusa_ctx* ctx, int32_t* selected, const float* normed, const float* logits, int B, int C,
                        int topk, int rand_budget, float temperature, uint64_t seed, uint64_t offset) {
  DUSA_OP(ctx);
  return select_classes(ctx, selected, normed, logits, B, C, topk, rand_budget, temperature, seed, offset, nullptr, 0, __func__);
}

int dusa_select_classes_indexed(dusa_ctx* ctx, int32_t* selected, const float* normed, const float* logits, int B,
                                int C, int topk, int rand_budget, float temperature, uint64_t seed, uint64_t offset,
                                const int32_t* index, uint64_t stride) {
  DUSA_OP(ctx);
  CHECK_PTR(index);
  return select_classes(ctx, selected, normed, logits, B, C, topk, rand_budget, temperature, seed, offset, index, stride, __func__);
}

// out(B, K) = in(B, C)[b, idx[b, k]]
int dusa_gather_forward(dusa_ctx* ctx, float* out, const float* in, const int32_t* idx, int B, int C, int K) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in); CHECK_PTR(idx);
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(K);
  if (int status = check_idx(ctx, idx, B, C, K, __func__)) return status;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    gather_forward_kernel<<<dusa::capped_blocks((uint64_t)B * K, 256), 256, 0, ctx->stream>>>(dusa::act<S>(out), dusa::act<S>(in), idx, B, C, K);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

// din(B, C) = 0 except din[b, idx[b, k]] += dout[b, k] (repeated indices add up) — overwrite
int dusa_gather_backward(dusa_ctx* ctx, float* din, const float* dout, const int32_t* idx, int B, int C, int K) {
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout); CHECK_PTR(idx);
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(K);
  if (int status = check_idx(ctx, idx, B, C, K, __func__)) return status;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    gather_backward_kernel<<<dusa::capped_blocks((uint64_t)B * C, 256), 256, 0, ctx->stream>>>(dusa::act<S>(din), dusa::act<S>(dout), idx, B, C, K);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

}  // extern "C"
