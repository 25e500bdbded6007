// embedding.cu — table lookup (class labels -> vectors) forward/backward, and the sinusoidal timestep embedding
// of DiT / SiT. The backward is deterministic without atomics: the block of row n works only when n is the first
// occurrence of its id, and then adds every row with that id onto the table row in row order (the CPU's float
// order, so the sums are bit-identical). Cost: O(N^2) id comparisons, fine for label batches (N = batch size).
#include <cmath>

#include "gpu.cuh"
#include "reduce.cuh"

namespace {

// out(N, C) = table[ids[n]]
// (an id outside [0, V) gives a zero row: it is reported by the replay check of a graph, or before the launch)
template <typename T>
__global__ void embedding_forward_kernel(T* out, const int32_t* ids, const T* table, int N, int C, int V) {
  const uint64_t n = (uint64_t)N * C;
  for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x) {
    const int id = ids[i / C];
    out[i] = id >= 0 && id < V ? table[(int64_t)id * C + (int64_t)(i % C)] : T(0.0f);
  }
}

// dtable[ids[n]] += dout[n], rows added in order n = 0..N-1 (dtable a parameter gradient, fp32; dout the storage type)
template <typename T>
__global__ void embedding_backward_kernel(float* dtable, const T* dout, const int32_t* ids, int N, int C, int V) {
  for (int n = blockIdx.x; n < N; n += gridDim.x) {
    const int id = ids[n];
    if (id < 0 || id >= V) continue;  // reported by the replay check of a graph, or before the launch
    int earlier = 0;
    for (int m = threadIdx.x; m < n && !earlier; m += blockDim.x) earlier = ids[m] == id;
    if (__syncthreads_or(earlier)) continue;  // a lower row owns this id
    float* d = dtable + (int64_t)id * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
      float acc = dusa::to_f32(d[c]);
      for (int m = n; m < N; m++)
        if (ids[m] == id) acc += dusa::to_f32(dout[(int64_t)m * C + c]);
      dusa::store_f32(d + c, acc);
    }
  }
}

// out(N, dim) = [cos(t f_i) for i < half, sin(t f_i) for i < half, 0 if dim is odd], f_i = exp(-ln(max_period) i / half)
template <typename T>
__global__ void timestep_embedding_kernel(T* out, const float* t, int N, int dim, double log_period) {
  const int half = dim / 2, per = half + (dim & 1);  // work items per row: the pairs, then the odd pad
  const uint64_t n = (uint64_t)N * per;
  for (uint64_t w = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; w < n; w += (uint64_t)gridDim.x * blockDim.x) {
    const int64_t row = (int64_t)(w / per);
    const int i = (int)(w % per);
    T* y = out + row * dim;
    if (i == half) {
      dusa::store_f32(y + dim - 1, 0.0f);
      continue;
    }
    double arg = (double)t[row] * exp(-log_period * i / half);
    dusa::store_f32(y + i, (float)cos(arg));
    dusa::store_f32(y + half + i, (float)sin(arg));
  }
}

int check_ids(dusa_ctx* ctx, const int32_t* ids, int N, int V, const char* fn) {
  float* scratch = dusa::workspace(ctx, 2);
  if (!scratch) return DUSA_ERR_OOM;
  int64_t bad = -1;
  int32_t value = 0;
  if (int status = dusa::find_bad_id(ctx, ids, (uint64_t)N, V, scratch, &bad, &value, fn, "ids", 1)) return status;
  if (bad >= 0) return dusa::fail(DUSA_ERR_INVALID, "%s: id %d of row %d is outside [0, %d)", fn, value, (int)bad, V);
  return DUSA_OK;
}

}  // namespace

extern "C" {

int dusa_embedding_forward(dusa_ctx* ctx, float* out, const int32_t* ids, const float* table, int N, int C, int V) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(ids); CHECK_PTR(table);
  CHECK_POS(N); CHECK_POS(C); CHECK_POS(V);
  if (int status = check_ids(ctx, ids, N, V, __func__)) return status;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    embedding_forward_kernel<<<dusa::capped_blocks((uint64_t)N * C, 256), 256, 0, ctx->stream>>>(dusa::act<S>(out), ids, dusa::act<S>(table), N, C, V);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_embedding_backward(dusa_ctx* ctx, float* dtable, const float* dout, const int32_t* ids, int N, int C, int V) {
  DUSA_OP(ctx);
  CHECK_PTR(dtable); CHECK_PTR(dout); CHECK_PTR(ids);
  CHECK_POS(N); CHECK_POS(C); CHECK_POS(V);
  if (int status = check_ids(ctx, ids, N, V, __func__)) return status;
  const unsigned blocks = (unsigned)(N < 65535 * 8 ? N : 65535 * 8);
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    embedding_backward_kernel<<<blocks, 256, 0, ctx->stream>>>(dtable, dusa::act<S>(dout), ids, N, C, V);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_timestep_embedding(dusa_ctx* ctx, float* out, const float* t, int N, int dim, float max_period) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(t);
  CHECK_POS(N); CHECK_POS(dim);
  CHECK_ARG(max_period > 0.0f && std::isfinite(max_period), "%s: max_period must be finite and > 0, got %g", __func__,
            (double)max_period);
  const double log_period = std::log((double)max_period);  // on the host, like the CPU
  const int per = dim / 2 + (dim & 1);
  dusa::with_storage(ctx, [&](auto s) {
    using S = decltype(s);
    timestep_embedding_kernel<<<dusa::capped_blocks((uint64_t)N * per, 256), 256, 0, ctx->stream>>>(dusa::act<S>(out), t,
                                                                                                   N, dim, log_period);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

}  // extern "C"
