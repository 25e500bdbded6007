// gemm.cuh — the CUDA backend's GEMM (gemm.cu: naive oracle, our blocked SIMT kernel, cuBLASLt opened at run time)
// and the deterministic reductions the layer ops share.
#pragma once
#include "gpu.cuh"

namespace dusa {

// Row-major C(M,N) = alpha op(A) op(B) + beta C, plus bias[j] in column j when bias is not null (per output
// feature, as linear needs), over `batch` matrices at element strides stride_a/b/c (0 shares that operand).
// in_dtype is the element type of A and B, out_dtype of C (DUSA_DTYPE_*): fp32/fp32, bf16/bf16, or bf16/fp32 (the
// weight gradients of bf16 storage); the bias is fp32.
// beta == 0 never reads C, so NaN there is overwritten. M, N or batch <= 0 does nothing; K == 0 gives beta C + bias.
// Path: NAIVE in reference mode, else ctx->gemm_path; AUTO = cuBLASLt when it loads, else BLOCKED.
// Returns a status; errors name `op` (pass the public entry point's __func__).
int gemm(dusa_ctx* ctx, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
         const float* B, int ldb, float beta, float* C, int ldc, int batch = 1, int64_t stride_a = 0,
         int64_t stride_b = 0, int64_t stride_c = 0, const char* op = "gemm", const float* bias = nullptr,
         int in_dtype = DUSA_DTYPE_F32, int out_dtype = DUSA_DTYPE_F32);

// Deterministic sums (fixed split and order, double accumulators, no atomics). Both may grow dusa::workspace, so a
// caller must not hold a workspace pointer across them.
// dst[j] += sum_i src[i*cols + j] over (rows, cols) — linear.cu. src holds src_dtype (DUSA_DTYPE_*), dst fp32.
int column_sum_add(dusa_ctx* ctx, float* dst, const float* src, int rows, int cols, const char* op,
                   int src_dtype = DUSA_DTYPE_F32);
// dst[c] += sum_{b, q} src[(b*C + c)*HW + q] over (B, C, HW) — conv2d.cu. src holds src_dtype, dst fp32.
int channel_sum_add(dusa_ctx* ctx, float* dst, const float* src, int B, int C, int64_t HW, const char* op,
                    int src_dtype = DUSA_DTYPE_F32);

}  // namespace dusa

// CHECK_LAUNCH for internal helpers: the error names the public op rather than the helper.
#define CHECK_LAUNCH_OP(op)                                                                     \
  do {                                                                                          \
    cudaError_t launch_err_ = cudaGetLastError();                                               \
    if (launch_err_ != cudaSuccess) return dusa::cuda_fail(launch_err_, (op), "kernel launch"); \
  } while (0)
