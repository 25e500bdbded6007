// linear.cpp — matmul (plain and strided-batched) and the linear layer forward/backward.
#include "cpu.h"
#include "op_checks.h"
#include "storage.h"

extern "C" {

int dusa_matmul(dusa_ctx* ctx, float* C, const float* A, const float* B, int M, int N, int K, int trans_a, int trans_b,
                float alpha, float beta) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_matmul(ctx, s.out(C, dusa::count(M, N)), s.in(A, dusa::count(M, K)), s.in(B, dusa::count(K, N)), M, N, K, trans_a, trans_b, alpha, beta));
  }
  DUSA_OP(ctx);
  CHECK_PTR(C); CHECK_PTR(A); CHECK_PTR(B);
  CHECK_POS(M); CHECK_POS(N); CHECK_POS(K);
  dusa::gemm(ctx, trans_a, trans_b, M, N, K, alpha, A, trans_a ? M : K, B, trans_b ? K : N, beta, C, N);
  return DUSA_OK;
}

int dusa_matmul_batched(dusa_ctx* ctx, float* C, const float* A, const float* B, int batch, int M, int N, int K,
                        int trans_a, int trans_b, float alpha, float beta, int64_t stride_a, int64_t stride_b,
                        int64_t stride_c) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_matmul_batched(ctx, s.out(C, dusa::span(batch, stride_c, dusa::count(M, N))), s.in(A, dusa::span(batch, stride_a, dusa::count(M, K))), s.in(B, dusa::span(batch, stride_b, dusa::count(K, N))), batch, M, N, K, trans_a, trans_b, alpha, beta, stride_a, stride_b, stride_c));
  }
  DUSA_OP(ctx);
  CHECK_PTR(C); CHECK_PTR(A); CHECK_PTR(B);
  CHECK_POS(batch); CHECK_POS(M); CHECK_POS(N); CHECK_POS(K);
  CHECK_NONNEG(stride_a); CHECK_NONNEG(stride_b);
  CHECK_ARG(stride_c >= (int64_t)M * N || batch == 1, "%s: stride_c %lld is smaller than M*N = %lld (outputs overlap)",
            __func__, (long long)stride_c, (long long)M * N);
  int lda = trans_a ? M : K, ldb = trans_b ? K : N;
  if (ctx->reference || batch < ctx->threads || (int64_t)M * N * K > (1 << 20)) {
    for (int i = 0; i < batch; i++)
      dusa::gemm(ctx, trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
                 C + i * stride_c, N);
  } else {
#pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < batch; i++)
      dusa::gemm_serial(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
                        C + i * stride_c, N);
  }
  return DUSA_OK;
}

int dusa_linear_forward(dusa_ctx* ctx, float* out, const float* in, const float* weight, const float* bias, int N,
                        int IC, int OC) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_linear_forward(ctx, s.out(out, dusa::count(N, OC)), s.in(in, dusa::count(N, IC)), s.in(weight, dusa::count(OC, IC)), bias, N, IC, OC));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in); CHECK_PTR(weight);
  CHECK_POS(N); CHECK_POS(IC); CHECK_POS(OC);
  float beta = 0.0f;
  if (bias) {
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * OC > (1 << 15))
    for (int n = 0; n < N; n++)
      for (int o = 0; o < OC; o++) out[(int64_t)n * OC + o] = bias[o];
    beta = 1.0f;
  }
  dusa::gemm(ctx, false, true, N, OC, IC, 1.0f, in, IC, weight, IC, beta, out, OC);
  return DUSA_OK;
}

int dusa_linear_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout, const float* in,
                         const float* weight, int N, int IC, int OC) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_linear_backward(ctx, s.out(din, dusa::count(N, IC)), dweight, dbias, s.in(dout, dusa::count(N, OC)), s.in(in, dusa::count(N, IC)), s.in(weight, dusa::count(OC, IC)), N, IC, OC));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dout);
  CHECK_POS(N); CHECK_POS(IC); CHECK_POS(OC);
  CHECK_WEIGHTED_BACKWARD(din, dweight, in, weight);
  if (din) {
    dusa::gemm(ctx, false, false, N, IC, OC, 1.0f, dout, OC, weight, IC, 0.0f, din, IC);  // (N,OC)(OC,IC)
  }
  if (dweight) {
    dusa::gemm(ctx, true, false, OC, IC, N, 1.0f, dout, OC, in, IC, 1.0f, dweight, IC);  // (OC,N)(N,IC)
  }
  if (dbias) {  // column sums, 64 columns at a time so each row's slice is one contiguous, vectorised run
    constexpr int COLS = 64;
    int blocks = (OC + COLS - 1) / COLS;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)N * OC > (1 << 15))
    for (int blk = 0; blk < blocks; blk++) {
      int o0 = blk * COLS, o1 = o0 + COLS < OC ? o0 + COLS : OC;
      float acc[COLS] = {};
      for (int n = 0; n < N; n++) {
        const float* g = dout + (int64_t)n * OC;
        for (int o = o0; o < o1; o++) acc[o - o0] += g[o];
      }
      for (int o = o0; o < o1; o++) dbias[o] += acc[o - o0];
    }
  }
  return DUSA_OK;
}

}  // extern "C"
