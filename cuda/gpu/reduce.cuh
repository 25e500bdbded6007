// reduce.cuh — small device helpers shared by the row-wise op files: storage-type loads/stores (fp32 now, bf16
// overloads later), deterministic warp / lane-group / block reductions (fixed shuffle trees: the same inputs give
// the same bits, and every lane of a group ends with identical values), and first_match(), which finds the first
// element of a device array that fails a check (out-of-range ids, non-finite values) for an op's error message.
#pragma once
#include <cstdint>

#include "gpu.cuh"

namespace dusa {

// --- storage type <-> float ---
__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ void store_f32(float* p, float v) { *p = v; }
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ void store_f32(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

// --- reductions over the 32 lanes of a warp (all lanes active) ---
template <typename V>
__device__ __forceinline__ V warp_sum(V v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// over aligned groups of W consecutive lanes (W a power of two <= 32; the whole warp must be active)
template <int W, typename V>
__device__ __forceinline__ V group_sum(V v) {
  for (int o = W / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <int W>
__device__ __forceinline__ float group_max(float v) {
  for (int o = W / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `shared` holds 32 values; the leading __syncthreads makes back-to-back calls with one buffer safe.
template <typename V>
__device__ __forceinline__ V block_sum(V v, V* shared) {
  v = warp_sum(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : V(0);
  return warp_sum(v);
}

// --- first element failing a check ---

struct IdOutOfRange {  // ids[i] outside [0, bound)
  const int32_t* ids;
  int bound;
  __device__ bool operator()(uint64_t i) const { return ids[i] < 0 || ids[i] >= bound; }
};

template <class T>
struct NonFinite {  // !isfinite(x[i])
  const T* x;
  __device__ bool operator()(uint64_t i) const { return !isfinite(to_f32(x[i])); }
};

// Each thread stops at its first match; the atomic minimum over threads is then the first match overall.
template <typename Pred>
__global__ void first_match_kernel(unsigned long long* first, Pred pred, uint64_t n) {
  for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x)
    if (pred(i)) {
      atomicMin(first, (unsigned long long)i);
      return;
    }
}

// Replay form of a check inside a graph: the first element with pred(i) goes into the guard word, tagged with the
// check's number (the lowest check, then the lowest element, wins; dusa_graph_launch reads it).
template <typename Pred>
__global__ void guard_kernel(unsigned long long* guard, Pred pred, uint64_t n, unsigned long long check) {
  for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x)
    if (pred(i)) {
      atomicMin(guard, (check << 40) | i);
      return;
    }
}

constexpr uint64_t kGuardElements = 1ull << 40;  // elements a guard word can name
constexpr uint64_t kGuardChecks = 1ull << 23;    // checks it can name (the top bits; the all-ones word means none)

// *index = the first i in [0, n) with pred(i), or -1 when none. `scratch` is 8 bytes of device memory (8-aligned),
// e.g. the start of the op's workspace. Synchronises the stream (the answer is needed on the host). While a graph is
// recorded it cannot: the check is recorded as `check` (its description for the message) and *index stays -1.
template <typename Pred>
inline int first_match(dusa_ctx* ctx, Pred pred, uint64_t n, void* scratch, int64_t* index, const char* op,
                       const GraphCheck& check) {
  *index = -1;
  if (n == 0) return DUSA_OK;
  if (ctx->capturing) {
    if (n > kGuardElements) return fail(DUSA_ERR_INVALID, "%s: %llu elements are too many to check inside a graph", op, (unsigned long long)n);
    if (ctx->graph_checks.size() >= kGuardChecks) return fail(DUSA_ERR_INVALID, "%s: more than %llu argument checks in one graph", op, (unsigned long long)kGuardChecks);
    try {
      ctx->graph_checks.push_back(check);
    } catch (...) {
      return fail(DUSA_ERR_OOM, "%s: out of host memory recording a graph check", op);
    }
    guard_kernel<<<capped_blocks(n, 256), 256, 0, ctx->stream>>>(ctx->guard, pred, n, (unsigned long long)(ctx->graph_checks.size() - 1));
    cudaError_t err = cudaGetLastError();
    return err == cudaSuccess ? DUSA_OK : cuda_fail(err, op, "kernel launch");
  }
  unsigned long long* first = static_cast<unsigned long long*>(scratch);
  cudaError_t err = cudaMemsetAsync(first, 0xFF, sizeof(unsigned long long), ctx->stream);
  if (err != cudaSuccess) return cuda_fail(err, op, "cudaMemsetAsync");
  first_match_kernel<<<capped_blocks(n, 256), 256, 0, ctx->stream>>>(first, pred, n);
  if ((err = cudaGetLastError()) != cudaSuccess) return cuda_fail(err, op, "kernel launch");
  unsigned long long host = 0;
  err = cudaMemcpyAsync(&host, first, sizeof(host), cudaMemcpyDeviceToHost, ctx->stream);
  if (err == cudaSuccess) err = cudaStreamSynchronize(ctx->stream);
  if (err != cudaSuccess) return cuda_fail(err, op, "reading back an argument check");
  if (host != ~0ull) *index = (int64_t)host;
  return DUSA_OK;
}

// The int32 value at device address p (for an error message).
inline int read_id(dusa_ctx* ctx, const int32_t* p, int32_t* value, const char* op) {
  cudaError_t err = cudaMemcpyAsync(value, p, sizeof(int32_t), cudaMemcpyDeviceToHost, ctx->stream);
  if (err == cudaSuccess) err = cudaStreamSynchronize(ctx->stream);
  return err == cudaSuccess ? DUSA_OK : cuda_fail(err, op, "reading back an id");
}

// Checks ids[0, n) against [0, bound): DUSA_OK, a CUDA failure, or (with *bad >= 0, *value its id) the first bad one.
// `what` names the argument and `row` its elements per row, for the message of a check replayed inside a graph.
inline int find_bad_id(dusa_ctx* ctx, const int32_t* ids, uint64_t n, int bound, void* scratch, int64_t* bad,
                       int32_t* value, const char* op, const char* what, int row) {
  const GraphCheck check{GraphCheck::kIdRange, op, what, ids, bound, row};
  if (int status = first_match(ctx, IdOutOfRange{ids, bound}, n, scratch, bad, op, check)) return status;
  if (*bad >= 0) return read_id(ctx, ids + *bad, value, op);
  return DUSA_OK;
}

}  // namespace dusa
