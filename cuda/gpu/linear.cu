// linear.cu — the linear layer on the GEMM paths of gemm.cu, and the deterministic column sum behind its dbias.
#include <algorithm>

#include "gemm.cuh"
#include "op_checks.h"

namespace {

constexpr int kSumCols = 32, kSumLanes = 8;  // column-sum blocks: 32 columns x 8 row lanes
constexpr int kRowsPerSplit = 1024;          // rows one block sums before the work is split over more blocks
constexpr int kMaxSplits = 64;

// Block (x, s) sums the rows [s*chunk, (s+1)*chunk) of 32 columns: partial[s*cols + j], or dst[j] += when there is
// one split. Row lanes stride the rows; their sums are added in lane order, then splits in split order.
template <typename T>
__global__ void column_sum_kernel(float* dst, double* partial, const T* src, int rows, int cols, int chunk) {
  __shared__ double lane_sum[kSumLanes][kSumCols];
  const int j = blockIdx.x * kSumCols + threadIdx.x;
  const int r0 = blockIdx.y * chunk, r1 = min(rows, r0 + chunk);
  double acc = 0.0;
  if (j < cols)
    for (int i = r0 + threadIdx.y; i < r1; i += kSumLanes) acc += (float)src[(int64_t)i * cols + j];
  lane_sum[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y != 0 || j >= cols) return;
  double s = 0.0;
  for (int y = 0; y < kSumLanes; y++) s += lane_sum[y][threadIdx.x];
  if (partial) partial[(int64_t)blockIdx.y * cols + j] = s;
  else dst[j] += (float)s;
}

__global__ void column_finish_kernel(float* dst, const double* partial, int splits, int cols) {
  for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < cols; j += gridDim.x * blockDim.x) {
    double s = 0.0;
    for (int p = 0; p < splits; p++) s += partial[(int64_t)p * cols + j];
    dst[j] += (float)s;
  }
}

}  // namespace

namespace dusa {

int column_sum_add(dusa_ctx* ctx, float* dst, const float* src, int rows, int cols, const char* op, int src_dtype) {
  if (rows <= 0 || cols <= 0) return DUSA_OK;
  // the split depends only on the sizes, so the sum (and its rounding) is the same on every device and run
  int splits = std::min(kMaxSplits, (rows + kRowsPerSplit - 1) / kRowsPerSplit);
  int chunk = (rows + splits - 1) / splits;
  double* partial = nullptr;
  if (splits > 1) {
    float* ws = workspace(ctx, (uint64_t)splits * cols * 2);
    if (!ws) return DUSA_ERR_OOM;
    partial = reinterpret_cast<double*>(ws);  // the workspace is a cudaMalloc block: 256-byte aligned
  }
  dim3 grid((unsigned)((cols + kSumCols - 1) / kSumCols), (unsigned)splits);
  if (src_dtype == DUSA_DTYPE_BF16)
    column_sum_kernel<<<grid, dim3(kSumCols, kSumLanes), 0, ctx->stream>>>(
        dst, partial, reinterpret_cast<const __nv_bfloat16*>(src), rows, cols, chunk);
  else
    column_sum_kernel<<<grid, dim3(kSumCols, kSumLanes), 0, ctx->stream>>>(dst, partial, src, rows, cols, chunk);
  CHECK_LAUNCH_OP(op);
  if (partial) {
    column_finish_kernel<<<capped_blocks(cols, 256), 256, 0, ctx->stream>>>(dst, partial, splits, cols);
    CHECK_LAUNCH_OP(op);
  }
  return DUSA_OK;
}

}  // namespace dusa

extern "C" {

int dusa_linear_forward(dusa_ctx* ctx, float* out, const float* in, const float* weight, const float* bias, int N,
                        int IC, int OC) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in); CHECK_PTR(weight);
  CHECK_POS(N); CHECK_POS(IC); CHECK_POS(OC);
  // out (N, OC) = in (N, IC) W^T (IC, OC) + b, the bias in the GEMM's epilogue
  return dusa::gemm(ctx, false, true, N, OC, IC, 1.0f, in, IC, weight, IC, 0.0f, out, OC, 1, 0, 0, 0, __func__, bias,
                    ctx->storage, ctx->storage);
}

int dusa_linear_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout, const float* in,
                         const float* weight, int N, int IC, int OC) {
  DUSA_OP(ctx);
  CHECK_PTR(dout);
  CHECK_POS(N); CHECK_POS(IC); CHECK_POS(OC);
  const int st = ctx->storage;
  CHECK_WEIGHTED_BACKWARD(din, dweight, in, weight);
  if (din) {  // (N, OC)(OC, IC)
    if (int s = dusa::gemm(ctx, false, false, N, IC, OC, 1.0f, dout, OC, weight, IC, 0.0f, din, IC, 1, 0, 0, 0, __func__,
                           nullptr, st, st))
      return s;
  }
  if (dweight) {  // (OC, N)(N, IC)
    if (int s = dusa::gemm(ctx, true, false, OC, IC, N, 1.0f, dout, OC, in, IC, 1.0f, dweight, IC, 1, 0, 0, 0, __func__,
                           nullptr, st, DUSA_DTYPE_F32))
      return s;
  }
  if (dbias) return dusa::column_sum_add(ctx, dbias, dout, N, OC, __func__, st);
  return DUSA_OK;
}

}  // extern "C"
