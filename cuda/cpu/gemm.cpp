// gemm.cpp — the three GEMM paths: CBLAS (OpenBLAS) when linked, a built-in cache-blocked kernel with packed
// panels and a register-tiled micro-kernel, and a naive double-accumulating loop that serves as the oracle.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "cpu.h"

#ifdef DUSA_HAVE_CBLAS
extern "C" {
void cblas_sgemm(int order, int trans_a, int trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc);
void openblas_set_num_threads(int threads) __attribute__((weak));
}
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
#endif

namespace dusa {

bool blas_available() {
#ifdef DUSA_HAVE_CBLAS
  return true;
#else
  return false;
#endif
}

static inline float a_at(const float* A, int lda, bool t, int i, int k) { return t ? A[(int64_t)k * lda + i] : A[(int64_t)i * lda + k]; }
static inline float b_at(const float* B, int ldb, bool t, int k, int j) { return t ? B[(int64_t)j * ldb + k] : B[(int64_t)k * ldb + j]; }

void gemm_naive(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                float beta, float* C, int ldc) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double acc = 0.0;
      for (int k = 0; k < K; k++) acc += (double)a_at(A, lda, ta, i, k) * (double)b_at(B, ldb, tb, k, j);
      float* c = &C[(int64_t)i * ldc + j];
      *c = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *c));
    }
}

// ---------------------------------------------------------------------------------------------
// blocked kernel: C += A_panel(MR x KC) * B_panel(KC x NR) on packed panels, MR x NR accumulators in registers

constexpr int MR = 6, NR = 16, KC = 256, MC = 96, NC = 2048;
typedef float vec8 __attribute__((vector_size(32), aligned(4)));

static void micro_kernel(int kc, const float* a, const float* b, float* C, int ldc, int mr, int nr, float alpha) {
  vec8 acc[MR][2] = {};
  for (int k = 0; k < kc; k++) {
    vec8 b0, b1;
    std::memcpy(&b0, b + k * NR, 32);
    std::memcpy(&b1, b + k * NR + 8, 32);
    for (int i = 0; i < MR; i++) {
      float ai = a[k * MR + i];
      acc[i][0] += ai * b0;
      acc[i][1] += ai * b1;
    }
  }
  for (int i = 0; i < mr; i++) {
    float row[NR];
    std::memcpy(row, &acc[i][0], 32);
    std::memcpy(row + 8, &acc[i][1], 32);
    float* c = C + (int64_t)i * ldc;
    for (int j = 0; j < nr; j++) c[j] += alpha * row[j];
  }
}

// packs rows [i0, i0+mc) x cols [k0, k0+kc) of op(A) into MR-row slivers, zero-padded
static void pack_a(const float* A, int lda, bool ta, int i0, int mc, int k0, int kc, float* out) {
  for (int s = 0; s < mc; s += MR) {
    int rows = std::min(MR, mc - s);
    for (int k = 0; k < kc; k++)
      for (int i = 0; i < MR; i++) *out++ = i < rows ? a_at(A, lda, ta, i0 + s + i, k0 + k) : 0.0f;
  }
}

static void pack_b(const float* B, int ldb, bool tb, int k0, int kc, int j0, int nc, float* out) {
  for (int s = 0; s < nc; s += NR) {
    int cols = std::min(NR, nc - s);
    for (int k = 0; k < kc; k++)
      for (int j = 0; j < NR; j++) *out++ = j < cols ? b_at(B, ldb, tb, k0 + k, j0 + s + j) : 0.0f;
  }
}

static void scale_c(int M, int N, float beta, float* C, int ldc) {
  for (int i = 0; i < M; i++) {
    float* c = C + (int64_t)i * ldc;
    if (beta == 0.0f) std::memset(c, 0, sizeof(float) * N);
    else if (beta != 1.0f) for (int j = 0; j < N; j++) c[j] *= beta;
  }
}

// One thread's share: the rows [m0, m1) of C, with its own packing buffers.
static void gemm_rows(bool ta, bool tb, int m0, int m1, int N, int K, float alpha, const float* A, int lda, const float* B,
                      int ldb, float* C, int ldc, float* a_pack, float* b_pack) {
  for (int j0 = 0; j0 < N; j0 += NC) {
    int nc = std::min(NC, N - j0);
    for (int k0 = 0; k0 < K; k0 += KC) {
      int kc = std::min(KC, K - k0);
      pack_b(B, ldb, tb, k0, kc, j0, nc, b_pack);
      for (int i0 = m0; i0 < m1; i0 += MC) {
        int mc = std::min(MC, m1 - i0);
        pack_a(A, lda, ta, i0, mc, k0, kc, a_pack);
        for (int s = 0; s < mc; s += MR)
          for (int t = 0; t < nc; t += NR)
            micro_kernel(kc, a_pack + (int64_t)s * kc, b_pack + (int64_t)t * kc, C + (int64_t)(i0 + s) * ldc + j0 + t,
                         ldc, std::min(MR, mc - s), std::min(NR, nc - t), alpha);
      }
    }
  }
}

static constexpr int64_t A_PACK = (int64_t)MC * KC, B_PACK = (int64_t)KC * (NC + NR);

void gemm_serial(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                 float beta, float* C, int ldc) {
  scale_c(M, N, beta, C, ldc);
  if (K == 0 || alpha == 0.0f) return;
  thread_local std::vector<float> a_pack, b_pack;
  try {
    if ((int64_t)a_pack.size() < A_PACK) a_pack.resize(A_PACK);
    if ((int64_t)b_pack.size() < B_PACK) b_pack.resize(B_PACK);
  } catch (const std::bad_alloc&) {
    // no memory for 2 MiB of packing buffers: the unpacked loop still gives the right answer, slowly
    gemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, 1.0f, C, ldc);
    return;
  }
  gemm_rows(ta, tb, 0, M, N, K, alpha, A, lda, B, ldb, C, ldc, a_pack.data(), b_pack.data());
}

using SerialGemm = void (*)(bool, bool, int, int, int, float, const float*, int, const float*, int, float, float*, int);

#ifdef DUSA_HAVE_CBLAS
// OpenBLAS runs single-threaded (set once) and is parallelised by our OpenMP split below, so one thread pool
// serves the whole library: a pthreads BLAS beside spinning OpenMP workers oversubscribes the cores.
static void blas_serial(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                        int ldb, float beta, float* C, int ldc) {
  static const bool single = [] {
    if (openblas_set_num_threads) openblas_set_num_threads(1);
    return true;
  }();
  (void)single;
  if (K == 0) return scale_c(M, N, beta, C, ldc);
  cblas_sgemm(CBLAS_ROW_MAJOR, ta ? CBLAS_TRANS : CBLAS_NO_TRANS, tb ? CBLAS_TRANS : CBLAS_NO_TRANS, M, N, K, alpha, A,
              lda, B, ldb, beta, C, ldc);
}
#endif

void gemm_tile(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
               float beta, float* C, int ldc) {
#ifdef DUSA_HAVE_CBLAS
  blas_serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
  gemm_serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

void gemm_single(const dusa_ctx* ctx, bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  int path = ctx->reference ? DUSA_GEMM_NAIVE : ctx->gemm_path;
  if (path == DUSA_GEMM_AUTO) path = blas_available() ? DUSA_GEMM_BLAS : DUSA_GEMM_BLOCKED;
  if (path == DUSA_GEMM_NAIVE) return gemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (path == DUSA_GEMM_BLAS) return gemm_tile(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  gemm_serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Splits C over threads (rows when there are enough, else columns); each thread runs a single-threaded GEMM.
static void gemm_parallel(SerialGemm serial, int threads, bool ta, bool tb, int M, int N, int K, float alpha,
                          const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  int64_t flops = 2LL * M * N * K;
  if (threads <= 1 || flops < (1 << 18) || (M < 2 * MR && N < 2 * NR)) {
    serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  if (M >= threads * MR) {
#pragma omp parallel num_threads(threads)
    {
      int t = omp_get_thread_num(), nt = omp_get_num_threads();
      int slivers = (M + MR - 1) / MR;
      int m0 = std::min(M, (int)((int64_t)slivers * t / nt) * MR), m1 = std::min(M, (int)((int64_t)slivers * (t + 1) / nt) * MR);
      if (m1 > m0) serial(ta, tb, m1 - m0, N, K, alpha, ta ? A + m0 : A + (int64_t)m0 * lda, lda, B, ldb, beta,
                          C + (int64_t)m0 * ldc, ldc);
    }
  } else {
#pragma omp parallel num_threads(threads)
    {
      int t = omp_get_thread_num(), nt = omp_get_num_threads();
      int slivers = (N + NR - 1) / NR;
      int n0 = std::min(N, (int)((int64_t)slivers * t / nt) * NR), n1 = std::min(N, (int)((int64_t)slivers * (t + 1) / nt) * NR);
      if (n1 > n0) serial(ta, tb, M, n1 - n0, K, alpha, A, lda, tb ? B + (int64_t)n0 * ldb : B + n0, ldb, beta,
                          C + n0, ldc);
    }
  }
}

void gemm(dusa_ctx* ctx, bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  int path = ctx->reference ? DUSA_GEMM_NAIVE : ctx->gemm_path;
  if (path == DUSA_GEMM_AUTO) path = blas_available() ? DUSA_GEMM_BLAS : DUSA_GEMM_BLOCKED;
  if (path == DUSA_GEMM_NAIVE) return gemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#ifdef DUSA_HAVE_CBLAS
  if (path == DUSA_GEMM_BLAS)
    return gemm_parallel(blas_serial, ctx->threads, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
  gemm_parallel(gemm_serial, ctx->threads, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace dusa
