// cpu.h — internals shared by the CPU backend's op files: the context, error reporting, argument checks,
// the per-op profiler scope, the workspace, GEMM entry points and the Philox generator.
#pragma once
#include "dusa.h"
#include "philox.h"

#include <chrono>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

struct dusa_ctx {
  int threads = 1;
  int reference = 0;
  int gemm_path = DUSA_GEMM_AUTO;
  uint64_t memory_limit = 0;
  uint64_t current[DUSA_TAG_COUNT] = {};
  uint64_t peak[DUSA_TAG_COUNT] = {};
  std::unordered_map<void*, std::pair<uint64_t, int>> allocations;  // ptr -> (bytes, tag)
  float* workspace = nullptr;
  uint64_t workspace_floats = 0;
  bool profiling = false;
  std::vector<std::string> profile_names;
  std::vector<uint64_t> profile_calls;
  std::vector<double> profile_seconds;
  std::unordered_map<std::string, int> profile_index;
};

namespace dusa {

// Records the message as the thread's last error and returns code.
int fail(int code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Grows the context's workspace (tag workspace) to at least `floats`; nullptr (error set) on OOM.
float* workspace(dusa_ctx* ctx, uint64_t floats);

// Tagged raw allocation used by the public dusa_alloc and by the workspace.
int allocate(dusa_ctx* ctx, void** out, uint64_t bytes, int tag);
int release(dusa_ctx* ctx, void* ptr);

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

// Start of a context-control function (not an op): null context check, not profiled.
#define DUSA_CTX(ctx) \
  if (!(ctx)) return dusa::fail(DUSA_ERR_INVALID, "%s: context is null", __func__)

#define CHECK_PTR(p) \
  if (!(p)) return dusa::fail(DUSA_ERR_INVALID, "%s: %s is null", __func__, #p)

#define CHECK_POS(x)                                                                               \
  if ((x) <= 0)                                                                                    \
    return dusa::fail(DUSA_ERR_INVALID, "%s: %s must be > 0, got %lld", __func__, #x, (long long)(x))

#define CHECK_NONNEG(x)                                                                             \
  if ((x) < 0)                                                                                      \
    return dusa::fail(DUSA_ERR_INVALID, "%s: %s must be >= 0, got %lld", __func__, #x, (long long)(x))

#define CHECK_ARG(cond, ...) \
  if (!(cond)) return dusa::fail(DUSA_ERR_INVALID, __VA_ARGS__)
