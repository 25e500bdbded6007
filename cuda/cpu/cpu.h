// cpu.h — internals shared by the CPU backend's op files: the context, the per-op profiler scope, GEMM entry
// points and the Philox generator; errors, argument checks, accounting and the workspace come from core.h.
#pragma once
#include "core.h"
#include "philox.h"

#include <chrono>
#include <cstddef>
#include <cstdint>

struct dusa_ctx : dusa::Core {
  int threads = 1;
};

namespace dusa {

// Times one public entry point when the context is profiling.
struct OpScope {
  dusa_ctx* ctx;
  const char* name;
  bool active;
  std::chrono::steady_clock::time_point start;
  OpScope(dusa_ctx* c, const char* n) : ctx(c), name(n), active(c && c->profiling) {
    if (active) start = std::chrono::steady_clock::now();
  }
  ~OpScope();
};

// Row-major C(M,N) = alpha op(A) op(B) + beta C with leading dimensions; beta == 0 overwrites C (NaN-safe).
// gemm() threads over the context and picks the path; gemm_serial() is single-threaded and safe to call
// inside an OpenMP parallel region.
void gemm(dusa_ctx* ctx, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc);
void gemm_serial(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc);
// Single-threaded GEMM on the context's path (naive in reference mode); safe inside a parallel region.
void gemm_single(const dusa_ctx* ctx, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                 int lda, const float* B, int ldb, float beta, float* C, int ldc);
// Single-threaded like gemm_serial, but through BLAS when the build has it (safe inside a parallel region).
void gemm_tile(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
               const float* B, int ldb, float beta, float* C, int ldc);
void gemm_naive(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                const float* B, int ldb, float beta, float* C, int ldc);
bool blas_available();


}  // namespace dusa

// Start of every public op: null context check and profiler scope.
#define DUSA_OP(ctx)                                                                   \
  if (!(ctx)) return dusa::fail(DUSA_ERR_INVALID, "%s: context is null", __func__);  \
  dusa::OpScope dusa_op_scope_((ctx), __func__)
