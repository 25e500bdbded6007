// attention.cpp — fused multi-head self-attention, flash style. Scores are computed a (query block x key tile)
// at a time with an online softmax, so no thread ever holds more than BQ x BK of the T x T matrix. The forward
// saves lse = log sum exp of each row of scaled scores; the backward recomputes the probabilities from q, k and
// lse and uses D = rowsum(dout * out). Every output element is summed in a fixed order (keys ascending for out
// and dq, queries ascending for dk and dv), so results do not depend on the thread count.
// Reference mode: plain double loops over one full row (or column) of scores.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu.h"
#include "storage.h"
#include "vecmath.h"

namespace {

constexpr int BQ = 64;  // query rows per block
constexpr int BK = 256;  // key rows per tile (a BQ x BK score tile is 64 KiB)

struct Attn {
  int B, T, NH, HD, rs;  // rs: row stride of q, k, v (and of dq, dk, dv)
  int threads;
  int64_t os() const { return (int64_t)NH * HD; }  // row stride of out and dout
  int64_t qkv_at(int b, int t, int h) const { return ((int64_t)b * T + t) * rs + (int64_t)h * HD; }
  int64_t out_at(int b, int t, int h) const { return ((int64_t)b * T + t) * os() + (int64_t)h * HD; }
  int64_t lse_at(int b, int h, int t) const { return ((int64_t)b * NH + h) * T + t; }
};

// per-thread scratch sizes rounded to 16 floats: keeps double views aligned and threads off each other's lines
inline int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }

int check_sizes(const char* fn, int B, int T, int NH, int HD, int row_stride) {
  if (B <= 0 || T <= 0 || NH <= 0 || HD <= 0)
    return dusa::fail(DUSA_ERR_INVALID, "%s: B, T, NH, HD must be > 0, got B=%d T=%d NH=%d HD=%d", fn, B, T, NH, HD);
  if ((int64_t)row_stride < (int64_t)NH * HD)
    return dusa::fail(DUSA_ERR_INVALID, "%s: row_stride (%d) must be >= NH*HD (%lld)", fn, row_stride,
                      (long long)NH * HD);
  return DUSA_OK;
}

inline double dot_d(const float* a, const float* b, int n) {
  double acc = 0.0;
  for (int i = 0; i < n; i++) acc += (double)a[i] * b[i];
  return acc;
}

// ---------------------------------------------------------------------------------------------
// reference: one query row at a time with its full row of T scores, in double

void forward_reference(const Attn& a, float* out, float* lse, const float* q, const float* k, const float* v,
                       float* scratch) {
  const double scale = 1.0 / std::sqrt((double)a.HD);
  const int64_t per = round16(2 * ((int64_t)a.T + a.HD));
  const int64_t rows = (int64_t)a.B * a.NH * a.T;
#pragma omp parallel num_threads(a.threads)
  {
    double* s = (double*)(scratch + omp_get_thread_num() * per);  // (T) scores, then probabilities
    double* acc = s + a.T;                                          // (HD)
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      int t = (int)(r % a.T), h = (int)(r / a.T % a.NH), b = (int)(r / ((int64_t)a.T * a.NH));
      const float* qt = q + a.qkv_at(b, t, h);
      double mx = -INFINITY;
      for (int j = 0; j < a.T; j++) {
        s[j] = scale * dot_d(qt, k + a.qkv_at(b, j, h), a.HD);
        mx = std::max(mx, s[j]);
      }
      double sum = 0.0;
      for (int j = 0; j < a.T; j++) sum += (s[j] = std::exp(s[j] - mx));
      for (int c = 0; c < a.HD; c++) acc[c] = 0.0;
      for (int j = 0; j < a.T; j++) {
        const float* vj = v + a.qkv_at(b, j, h);
        for (int c = 0; c < a.HD; c++) acc[c] += s[j] * vj[c];
      }
      float* o = out + a.out_at(b, t, h);
      for (int c = 0; c < a.HD; c++) o[c] = (float)(acc[c] / sum);
      lse[a.lse_at(b, h, t)] = (float)(mx + std::log(sum));
    }
  }
}

// dq row by row, then dk and dv key by key (each a full column of T probabilities), so no two rows share a sum
void backward_reference(const Attn& a, float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse, float* scratch) {
  const double scale = 1.0 / std::sqrt((double)a.HD);
  const int64_t per = round16(4 * (int64_t)a.HD);
  const int64_t rows = (int64_t)a.B * a.NH * a.T;
#pragma omp parallel num_threads(a.threads)
  {
    double* acc0 = (double*)(scratch + omp_get_thread_num() * per);  // (HD)
    double* acc1 = acc0 + a.HD;                                       // (HD)
    if (dq) {
#pragma omp for schedule(static)
      for (int64_t r = 0; r < rows; r++) {
        int t = (int)(r % a.T), h = (int)(r / a.T % a.NH), b = (int)(r / ((int64_t)a.T * a.NH));
        const float* qt = q + a.qkv_at(b, t, h);
        const float* dot = dout + a.out_at(b, t, h);
        double D = dot_d(dot, out + a.out_at(b, t, h), a.HD), l = lse[a.lse_at(b, h, t)];
        for (int c = 0; c < a.HD; c++) acc0[c] = 0.0;
        for (int j = 0; j < a.T; j++) {
          const float* kj = k + a.qkv_at(b, j, h);
          double p = std::exp(scale * dot_d(qt, kj, a.HD) - l);
          double ds = p * (dot_d(dot, v + a.qkv_at(b, j, h), a.HD) - D);
          for (int c = 0; c < a.HD; c++) acc0[c] += ds * kj[c];
        }
        float* g = dq + a.qkv_at(b, t, h);
        for (int c = 0; c < a.HD; c++) g[c] = (float)(scale * acc0[c]);
      }
    }
    if (dk || dv) {
#pragma omp for schedule(static)
      for (int64_t r = 0; r < rows; r++) {
        int j = (int)(r % a.T), h = (int)(r / a.T % a.NH), b = (int)(r / ((int64_t)a.T * a.NH));
        const float* kj = k + a.qkv_at(b, j, h);
        const float* vj = v + a.qkv_at(b, j, h);
        for (int c = 0; c < a.HD; c++) acc0[c] = acc1[c] = 0.0;
        for (int t = 0; t < a.T; t++) {
          const float* qt = q + a.qkv_at(b, t, h);
          const float* dot = dout + a.out_at(b, t, h);
          double D = dot_d(dot, out + a.out_at(b, t, h), a.HD);
          double p = std::exp(scale * dot_d(qt, kj, a.HD) - lse[a.lse_at(b, h, t)]);
          double ds = p * (dot_d(dot, vj, a.HD) - D);
          for (int c = 0; c < a.HD; c++) {
            acc0[c] += ds * qt[c];  // dk
            acc1[c] += p * dot[c];  // dv
          }
        }
        if (dk)
          for (int c = 0; c < a.HD; c++) dk[a.qkv_at(b, j, h) + c] = (float)(scale * acc0[c]);
        if (dv)
          for (int c = 0; c < a.HD; c++) dv[a.qkv_at(b, j, h) + c] = (float)acc1[c];
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// tiled forward: one task = (b, h, block of BQ query rows), keys visited a tile of BK at a time

void forward_tiled(const Attn& a, float* out, float* lse, const float* q, const float* k, const float* v,
                   float* scratch) {
  const float scale = (float)(1.0 / std::sqrt((double)a.HD));
  const int64_t per = round16((int64_t)BQ * BK + (int64_t)BQ * a.HD + 3 * BQ);
  const int nqb = (a.T + BQ - 1) / BQ;
  const int64_t tasks = (int64_t)a.B * a.NH * nqb;
#pragma omp parallel num_threads(a.threads)
  {
    float* S = scratch + omp_get_thread_num() * per;  // (BQ, BK) scores, then probabilities
    float* acc = S + BQ * BK;                          // (BQ, HD) unnormalised output
    double* l = (double*)(acc + (int64_t)BQ * a.HD);   // (BQ) running sum of exp
    float* m = (float*)(l + BQ);                       // (BQ) running max
#pragma omp for schedule(static)
    for (int64_t task = 0; task < tasks; task++) {
      int qb = (int)(task % nqb), h = (int)(task / nqb % a.NH), b = (int)(task / ((int64_t)nqb * a.NH));
      int t0 = qb * BQ, mq = std::min(BQ, a.T - t0);
      const float* Q = q + a.qkv_at(b, t0, h);
      for (int i = 0; i < mq; i++) { m[i] = -INFINITY; l[i] = 0.0; }
      std::memset(acc, 0, sizeof(float) * mq * a.HD);
      for (int s0 = 0; s0 < a.T; s0 += BK) {
        int nk = std::min(BK, a.T - s0);
        // S = scale Q K^T   (mq, HD) x (HD, nk)
        dusa::gemm_tile(false, true, mq, nk, a.HD, scale, Q, a.rs, k + a.qkv_at(b, s0, h), a.rs, 0.0f, S, BK);
        for (int i = 0; i < mq; i++) {
          float* Si = S + i * BK;
          float mx = m[i];
#pragma omp simd reduction(max : mx)
          for (int j = 0; j < nk; j++) mx = std::max(mx, Si[j]);
          float correction = std::exp(m[i] - mx);  // 0 on the first tile (m = -inf)
          double sum = 0.0;
#pragma omp simd reduction(+ : sum)
          for (int j = 0; j < nk; j++) sum += (Si[j] = dusa::exp_vec(Si[j] - mx));
          l[i] = l[i] * correction + sum;
          m[i] = mx;
          if (correction != 1.0f) {
            float* ai = acc + (int64_t)i * a.HD;
            for (int c = 0; c < a.HD; c++) ai[c] *= correction;
          }
        }
        // acc += P V   (mq, nk) x (nk, HD)
        dusa::gemm_tile(false, false, mq, a.HD, nk, 1.0f, S, BK, v + a.qkv_at(b, s0, h), a.rs, 1.0f, acc, a.HD);
      }
      for (int i = 0; i < mq; i++) {
        float inv = (float)(1.0 / l[i]);
        const float* ai = acc + (int64_t)i * a.HD;
        float* o = out + a.out_at(b, t0 + i, h);
        for (int c = 0; c < a.HD; c++) o[c] = ai[c] * inv;
        lse[a.lse_at(b, h, t0 + i)] = (float)((double)m[i] + std::log(l[i]));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// tiled backward

struct Grads {
  float *dq, *dk, *dv;
  const float *dout, *q, *k, *v, *lse, *D;  // D (B, NH, T) = rowsum(dout * out)
};

// One (query block at t0, key tile at s0) step: recomputes P, then accumulates into the requested gradients.
// P and dS are (mq, nk) scratch at leading dimension BK.
void backward_tile(const Attn& a, const Grads& g, int b, int h, int t0, int mq, int s0, int nk, bool do_dq,
                   bool do_dkdv, float* P, float* dS) {
  const float scale = (float)(1.0 / std::sqrt((double)a.HD));
  const float* Q = g.q + a.qkv_at(b, t0, h);
  const float* K = g.k + a.qkv_at(b, s0, h);
  const float* V = g.v + a.qkv_at(b, s0, h);
  const float* dO = g.dout + a.out_at(b, t0, h);
  const int os = (int)a.os();
  dusa::gemm_tile(false, true, mq, nk, a.HD, scale, Q, a.rs, K, a.rs, 0.0f, P, BK);  // scale Q K^T
  for (int i = 0; i < mq; i++) {
    float l = g.lse[a.lse_at(b, h, t0 + i)];
    float* Pi = P + i * BK;
#pragma omp simd
    for (int j = 0; j < nk; j++) Pi[j] = dusa::exp_vec(Pi[j] - l);
  }
  if (do_dkdv && g.dv)  // dV += P^T dO   (nk, mq) x (mq, HD)
    dusa::gemm_tile(true, false, nk, a.HD, mq, 1.0f, P, BK, dO, os, 1.0f, g.dv + a.qkv_at(b, s0, h), a.rs);
  if (!(do_dq && g.dq) && !(do_dkdv && g.dk)) return;
  dusa::gemm_tile(false, true, mq, nk, a.HD, 1.0f, dO, os, V, a.rs, 0.0f, dS, BK);  // dP = dO V^T
  for (int i = 0; i < mq; i++) {
    float D = g.D[a.lse_at(b, h, t0 + i)];
    const float* Pi = P + i * BK;
    float* dSi = dS + i * BK;
    for (int j = 0; j < nk; j++) dSi[j] = Pi[j] * (dSi[j] - D);
  }
  if (do_dkdv && g.dk)  // dK += scale dS^T Q   (nk, mq) x (mq, HD)
    dusa::gemm_tile(true, false, nk, a.HD, mq, scale, dS, BK, Q, a.rs, 1.0f, g.dk + a.qkv_at(b, s0, h), a.rs);
  if (do_dq && g.dq)  // dQ += scale dS K   (mq, nk) x (nk, HD)
    dusa::gemm_tile(false, false, mq, a.HD, nk, scale, dS, BK, K, a.rs, 1.0f, g.dq + a.qkv_at(b, t0, h), a.rs);
}

inline void zero_rows(float* x, const Attn& a, int b, int h, int t0, int n) {
  if (!x) return;
  for (int t = t0; t < t0 + n; t++) std::memset(x + a.qkv_at(b, t, h), 0, sizeof(float) * a.HD);
}

void backward_tiled(const Attn& a, const Grads& g, float* scratch) {
  const int64_t per = round16(2 * (int64_t)BQ * BK);
  const int nqb = (a.T + BQ - 1) / BQ, nkb = (a.T + BK - 1) / BK;
  const int64_t heads = (int64_t)a.B * a.NH;
  if (heads >= 4 * (int64_t)a.threads) {
    // enough heads: each thread owns whole heads, so one pass writes dq, dk and dv without races
#pragma omp parallel num_threads(a.threads)
    {
      float* P = scratch + omp_get_thread_num() * per;
      float* dS = P + BQ * BK;
#pragma omp for schedule(static)
      for (int64_t bh = 0; bh < heads; bh++) {
        int b = (int)(bh / a.NH), h = (int)(bh % a.NH);
        zero_rows(g.dq, a, b, h, 0, a.T); zero_rows(g.dk, a, b, h, 0, a.T); zero_rows(g.dv, a, b, h, 0, a.T);
        for (int s0 = 0; s0 < a.T; s0 += BK)
          for (int t0 = 0; t0 < a.T; t0 += BQ)
            backward_tile(a, g, b, h, t0, std::min(BQ, a.T - t0), s0, std::min(BK, a.T - s0), true, true, P, dS);
      }
    }
    return;
  }
  // few heads (e.g. the VAE mid-block): pass 1 owns key tiles (dk, dv), pass 2 owns query blocks (dq).
  // The tiles compute exactly what the one-pass loop does, in the same order: identical results.
#pragma omp parallel num_threads(a.threads)
  {
    float* P = scratch + omp_get_thread_num() * per;
    float* dS = P + BQ * BK;
    if (g.dk || g.dv) {
#pragma omp for schedule(dynamic, 1)
      for (int64_t task = 0; task < heads * nkb; task++) {
        int kb = (int)(task % nkb), h = (int)(task / nkb % a.NH), b = (int)(task / ((int64_t)nkb * a.NH));
        int s0 = kb * BK, nk = std::min(BK, a.T - s0);
        zero_rows(g.dk, a, b, h, s0, nk); zero_rows(g.dv, a, b, h, s0, nk);
        for (int t0 = 0; t0 < a.T; t0 += BQ)
          backward_tile(a, g, b, h, t0, std::min(BQ, a.T - t0), s0, nk, false, true, P, dS);
      }
    }
    if (g.dq) {
#pragma omp for schedule(dynamic, 1)
      for (int64_t task = 0; task < heads * nqb; task++) {
        int qb = (int)(task % nqb), h = (int)(task / nqb % a.NH), b = (int)(task / ((int64_t)nqb * a.NH));
        int t0 = qb * BQ, mq = std::min(BQ, a.T - t0);
        zero_rows(g.dq, a, b, h, t0, mq);
        for (int s0 = 0; s0 < a.T; s0 += BK)
          backward_tile(a, g, b, h, t0, mq, s0, std::min(BK, a.T - s0), true, false, P, dS);
      }
    }
  }
}

}  // namespace

extern "C" {

int dusa_attention_forward(dusa_ctx* ctx, float* out, float* lse, const float* q, const float* k, const float* v, int B,
                           int T, int NH, int HD, int row_stride) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_attention_forward(ctx, s.out(out, dusa::count(B, T, NH, HD)), lse, s.in(q, dusa::span(dusa::count(B, T), row_stride, dusa::count(NH, HD))), s.in(k, dusa::span(dusa::count(B, T), row_stride, dusa::count(NH, HD))), s.in(v, dusa::span(dusa::count(B, T), row_stride, dusa::count(NH, HD))), B, T, NH, HD, row_stride));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(lse); CHECK_PTR(q); CHECK_PTR(k); CHECK_PTR(v);
  if (int status = check_sizes(__func__, B, T, NH, HD, row_stride)) return status;
  Attn a{B, T, NH, HD, row_stride, ctx->threads};
  int64_t per = ctx->reference ? round16(2 * ((int64_t)T + HD)) : round16((int64_t)BQ * BK + (int64_t)BQ * HD + 3 * BQ);
  float* scratch = dusa::workspace(ctx, (uint64_t)(per * ctx->threads));
  if (!scratch) return DUSA_ERR_OOM;
  if (ctx->reference) forward_reference(a, out, lse, q, k, v, scratch);
  else forward_tiled(a, out, lse, q, k, v, scratch);
  return DUSA_OK;
}

int dusa_attention_backward(dusa_ctx* ctx, float* dq, float* dk, float* dv, const float* dout, const float* q,
                            const float* k, const float* v, const float* out, const float* lse, int B, int T, int NH,
                            int HD, int row_stride) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_attention_backward(ctx, s.out(dq, dusa::span(dusa::count(B, T), row_stride, dusa::count(NH, HD))), s.out(dk, dusa::span(dusa::count(B, T), row_stride, dusa::count(NH, HD))), s.out(dv, dusa::span(dusa::count(B, T), row_stride, dusa::count(NH, HD))), s.in(dout, dusa::count(B, T, NH, HD)), s.in(q, dusa::span(dusa::count(B, T), row_stride, dusa::count(NH, HD))), s.in(k, dusa::span(dusa::count(B, T), row_stride, dusa::count(NH, HD))), s.in(v, dusa::span(dusa::count(B, T), row_stride, dusa::count(NH, HD))), s.in(out, dusa::count(B, T, NH, HD)), lse, B, T, NH, HD, row_stride));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dout); CHECK_PTR(q); CHECK_PTR(k); CHECK_PTR(v); CHECK_PTR(out); CHECK_PTR(lse);
  if (int status = check_sizes(__func__, B, T, NH, HD, row_stride)) return status;
  if (!dq && !dk && !dv) return DUSA_OK;
  Attn a{B, T, NH, HD, row_stride, ctx->threads};
  if (ctx->reference) {
    float* scratch = dusa::workspace(ctx, (uint64_t)(round16(4 * (int64_t)HD) * ctx->threads));
    if (!scratch) return DUSA_ERR_OOM;
    backward_reference(a, dq, dk, dv, dout, q, k, v, out, lse, scratch);
    return DUSA_OK;
  }
  const int64_t rows = (int64_t)B * NH * T;
  float* scratch = dusa::workspace(ctx, (uint64_t)(round16(rows) + round16(2 * (int64_t)BQ * BK) * ctx->threads));
  if (!scratch) return DUSA_ERR_OOM;
  float* D = scratch;  // (B, NH, T)
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (rows * HD > (1 << 15))
  for (int64_t r = 0; r < rows; r++) {
    int t = (int)(r % T), h = (int)(r / T % NH), b = (int)(r / ((int64_t)T * NH));
    D[r] = (float)dot_d(dout + a.out_at(b, t, h), out + a.out_at(b, t, h), HD);
  }
  Grads g{dq, dk, dv, dout, q, k, v, lse, D};
  backward_tiled(a, g, scratch + round16(rows));
  return DUSA_OK;
}

}  // extern "C"
