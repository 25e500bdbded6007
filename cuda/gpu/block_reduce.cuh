// block_reduce.cuh — deterministic reductions shared by the normalisation, activation, elementwise and optimizer
// ops: warp and block sums, and two-pass column / plane sums whose partials go through dusa::workspace().
//
// Every sum here has a fixed order that depends only on the problem's shape (never on timing, atomics or the
// GPU's SM count), so a result is bit-for-bit reproducible. Partials are doubles.
// warp_total / block_total are the same trees as reduce.cuh's warp_sum / block_sum, named apart so a file may
// include both headers.
#pragma once
#include "gpu.cuh"

namespace dusa {

// Sum over the 32 lanes of a warp (all lanes active); every lane gets the same total.
template <class T>
__device__ inline T warp_total(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over a 1-D block (blockDim.x a multiple of 32); every thread gets the same total. shared: 32 T.
// Every thread of the block must call it. Safe to call repeatedly with the same shared buffer.
template <class T>
__device__ inline T block_total(T v, T* shared) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_total(v);
  __syncthreads();  // the previous call's readers are done with shared
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : T(0);
  return warp_total(v);
}

// Sum over the threads that work on one row: a warp (ROW_THREADS == 32) or the whole 1-D block.
template <int ROW_THREADS, class T>
__device__ inline T row_total(T v, T* shared) {
  if constexpr (ROW_THREADS == 32) return warp_total(v);
  else return block_total(v, shared);
}

// ---------------------------------------------------------------------------------------------
// Column sums over row-major data (groups * T rows, C columns), K quantities at once:
//   sums[k][g][c] = sum_{t < T} f(row = g*T + t, c)[k]
// Pass 1: a 32 x 8 block owns 32 columns of a chunk of COL_CHUNK rows of one group; lane x reads column c0 + x
// (coalesced) of rows t = y, y + 8, ...; the 8 row-lane sums are added in order -> partial[k][g][chunk][c].
// Pass 2: one thread per (g, c) adds the chunks in order and hands fin(g, c, sums) the K totals.
// f(row, c, acc) adds its K values into acc (doubles); each op chooses the precision of its products.

constexpr int COL_X = 32, COL_Y = 8;
constexpr int64_t COL_CHUNK = 256;  // rows per chunk (fixed: the order of the sums depends only on the shape)

template <int K, class F>
__global__ void column_partials_kernel(double* partial, F f, int64_t groups, int64_t T, int C, int64_t chunks) {
  __shared__ double s[K][COL_Y][COL_X + 1];
  int64_t col_blocks = (C + COL_X - 1) / COL_X;
  int64_t total = groups * chunks * col_blocks;
  int x = threadIdx.x, y = threadIdx.y;
  for (int64_t blk = blockIdx.x; blk < total; blk += gridDim.x) {
    int64_t cb = blk % col_blocks, rest = blk / col_blocks;
    int64_t chunk = rest % chunks, g = rest / chunks;
    int c = (int)(cb * COL_X + x);
    double acc[K];
    for (int k = 0; k < K; k++) acc[k] = 0.0;
    if (c < C) {
      int64_t t1 = (chunk + 1) * COL_CHUNK < T ? (chunk + 1) * COL_CHUNK : T;
      for (int64_t t = chunk * COL_CHUNK + y; t < t1; t += COL_Y) f(g * T + t, c, acc);
    }
    for (int k = 0; k < K; k++) s[k][y][x] = acc[k];
    __syncthreads();
    if (y < K && c < C) {
      double v = 0.0;
      for (int j = 0; j < COL_Y; j++) v += s[y][j][x];
      partial[((y * groups + g) * chunks + chunk) * C + c] = v;
    }
    __syncthreads();
  }
}

template <int K, class Fin>
__global__ void column_finish_kernel(const double* partial, Fin fin, int64_t groups, int C, int64_t chunks) {
  int64_t total = groups * C;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t g = i / C;
    int c = (int)(i % C);
    double sums[K];
    for (int k = 0; k < K; k++) {
      double v = 0.0;
      for (int64_t ch = 0; ch < chunks; ch++) v += partial[((k * groups + g) * chunks + ch) * C + c];
      sums[k] = v;
    }
    fin(g, c, sums);
  }
}

// Runs both passes on ctx->stream; `op` names the public op in error messages.
template <int K, class F, class Fin>
int column_sums(dusa_ctx* ctx, const char* op, F f, Fin fin, int64_t groups, int64_t T, int C) {
  static_assert(K >= 1 && K <= COL_Y, "column_sums: K must be in [1, COL_Y]");
  int64_t chunks = (T + COL_CHUNK - 1) / COL_CHUNK;
  int64_t col_blocks = (C + COL_X - 1) / COL_X;
  double* partial = reinterpret_cast<double*>(workspace(ctx, 2 * (uint64_t)K * groups * chunks * C));
  if (!partial) return DUSA_ERR_OOM;
  uint64_t blocks = (uint64_t)(groups * chunks * col_blocks);
  column_partials_kernel<K><<<(unsigned)(blocks < 65535 * 8 ? blocks : 65535 * 8), dim3(COL_X, COL_Y), 0,
                              ctx->stream>>>(partial, f, groups, T, C, chunks);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return cuda_fail(err, op, "kernel launch");
  column_finish_kernel<K><<<capped_blocks((uint64_t)(groups * C), 256), 256, 0, ctx->stream>>>(partial, fin, groups, C, chunks);
  err = cudaGetLastError();
  if (err != cudaSuccess) return cuda_fail(err, op, "kernel launch");
  return DUSA_OK;
}

// ---------------------------------------------------------------------------------------------
// Plane sums over contiguous planes of HW values (NCHW: plane = b*C + c), K quantities at once:
//   partial[k][plane] = sum_{p < HW} f(plane, p)[k]
// One block of PLANE_THREADS per plane (grid-stride over planes); thread i takes p = i, i + PLANE_THREADS, ...
// (coalesced), then a block sum in fixed order. The op's own kernel then combines the planes.

constexpr int PLANE_THREADS = 256;

template <int K, class F>
__global__ void plane_partials_kernel(double* partial, F f, int64_t planes, int HW) {
  __shared__ double shared[32];
  for (int64_t plane = blockIdx.x; plane < planes; plane += gridDim.x) {
    double acc[K];
    for (int k = 0; k < K; k++) acc[k] = 0.0;
    for (int p = threadIdx.x; p < HW; p += blockDim.x) f(plane, p, acc);
    for (int k = 0; k < K; k++) {
      double total = block_total(acc[k], shared);
      if (threadIdx.x == 0) partial[k * planes + plane] = total;
    }
  }
}

template <int K, class F>
int plane_sums(dusa_ctx* ctx, const char* op, double* partial, F f, int64_t planes, int HW) {
  unsigned grid = (unsigned)(planes < 65535 * 8 ? planes : 65535 * 8);
  plane_partials_kernel<K><<<grid, PLANE_THREADS, 0, ctx->stream>>>(partial, f, planes, HW);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return cuda_fail(err, op, "kernel launch");
  return DUSA_OK;
}

// Parameter grads from (B, C) plane partials: dweight[c] += sum_b partial[0][b, c], dbias[c] += sum_b partial[1][b, c],
// b in order, in double. round_partials rounds each partial to float first (the CPU GroupNorm keeps them as floats).
// Either output may be null.
template <bool round_partials>
__global__ void plane_finish_kernel(float* dweight, float* dbias, const double* partial, int B, int C) {
  int64_t planes = (int64_t)B * C;
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    double dw = 0.0, db = 0.0;
    for (int b = 0; b < B; b++) {
      double w = partial[(int64_t)b * C + c], d = partial[planes + (int64_t)b * C + c];
      if (round_partials) {
        w = (float)w;
        d = (float)d;
      }
      dw += w;
      db += d;
    }
    if (dweight) dweight[c] += (float)dw;
    if (dbias) dbias[c] += (float)db;
  }
}

}  // namespace dusa
