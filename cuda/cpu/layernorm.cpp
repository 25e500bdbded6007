// layernorm.cpp — LayerNorm over the last dim, LayerNorm fused with adaLN modulate, and LayerNorm2d over the
// channels of NCHW. Statistics two-pass in double; parameter grads reduced column-wise so the sums do not
// depend on the thread count.
#include <cmath>
#include <omp.h>

#include <vector>

#include "cpu.h"
#include "storage.h"

namespace {

// mean and rstd of one row of C values
inline void row_stats(const float* x, int C, float eps, float* mean, float* rstd) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int c = 0; c < C; c++) sum += x[c];
  double m = sum / C, var = 0.0;
#pragma omp simd reduction(+ : var)
  for (int c = 0; c < C; c++) var += ((double)x[c] - m) * ((double)x[c] - m);
  *mean = (float)m;
  *rstd = (float)(1.0 / std::sqrt(var / C + (double)eps));
}

// din of one row given dxhat = dout * (scale of xhat), overwrite
inline void row_input_grad(float* din, const float* dxhat, const float* x, float mean, float rstd, int C) {
  double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
#pragma omp simd reduction(+ : sum_dxhat, sum_dxhat_xhat)
  for (int c = 0; c < C; c++) {
    float xhat = (x[c] - mean) * rstd;
    sum_dxhat += dxhat[c];
    sum_dxhat_xhat += (double)dxhat[c] * xhat;
  }
  float a = (float)(sum_dxhat / C), b = (float)(sum_dxhat_xhat / C);
  for (int c = 0; c < C; c++) {
    float xhat = (x[c] - mean) * rstd;
    din[c] = (dxhat[c] - a - xhat * b) * rstd;
  }
}

constexpr int COLS = 64;  // column block of the parameter-grad reductions

}  // namespace

extern "C" {

int dusa_layernorm_forward(dusa_ctx* ctx, float* out, float* mean, float* rstd, const float* in, const float* weight,
                           const float* bias, int N, int C, float eps) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_layernorm_forward(ctx, s.out(out, dusa::count(N, C)), mean, rstd, s.in(in, dusa::count(N, C)), weight, bias, N, C, eps));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(mean); CHECK_PTR(rstd); CHECK_PTR(in);
  CHECK_POS(N); CHECK_POS(C);
  CHECK_ARG(eps >= 0, "%s: eps must be >= 0", __func__);
#pragma omp parallel for num_threads(ctx->threads) schedule(static)
  for (int n = 0; n < N; n++) {
    const float* x = in + (int64_t)n * C;
    float* y = out + (int64_t)n * C;
    float m, r;
    row_stats(x, C, eps, &m, &r);
    mean[n] = m;
    rstd[n] = r;
    for (int c = 0; c < C; c++) {
      float v = (x[c] - m) * r;
      if (weight) v *= weight[c];
      if (bias) v += bias[c];
      y[c] = v;
    }
  }
  return DUSA_OK;
}

int dusa_layernorm_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout, const float* in,
                            const float* weight, const float* mean, const float* rstd, int N, int C) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_layernorm_backward(ctx, s.out(din, dusa::count(N, C)), dweight, dbias, s.in(dout, dusa::count(N, C)), s.in(in, dusa::count(N, C)), weight, mean, rstd, N, C));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dout); CHECK_PTR(in); CHECK_PTR(mean); CHECK_PTR(rstd);
  CHECK_POS(N); CHECK_POS(C);
  if (din) {
    float* scratch = dusa::workspace(ctx, (uint64_t)ctx->threads * C);
    if (!scratch) return DUSA_ERR_OOM;
#pragma omp parallel num_threads(ctx->threads)
    {
      float* dxhat = scratch + (int64_t)omp_get_thread_num() * C;
#pragma omp for schedule(static)
      for (int n = 0; n < N; n++) {
        const float* g = dout + (int64_t)n * C;
        for (int c = 0; c < C; c++) dxhat[c] = weight ? g[c] * weight[c] : g[c];
        row_input_grad(din + (int64_t)n * C, dxhat, in + (int64_t)n * C, mean[n], rstd[n], C);
      }
    }
  }
  if (dweight || dbias) {
    int blocks = (C + COLS - 1) / COLS;
#pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int blk = 0; blk < blocks; blk++) {
      int c0 = blk * COLS, c1 = c0 + COLS < C ? c0 + COLS : C;
      float dw[COLS] = {}, db[COLS] = {};
      for (int n = 0; n < N; n++) {
        const float* g = dout + (int64_t)n * C;
        const float* x = in + (int64_t)n * C;
        for (int c = c0; c < c1; c++) {
          dw[c - c0] += g[c] * ((x[c] - mean[n]) * rstd[n]);
          db[c - c0] += g[c];
        }
      }
      for (int c = c0; c < c1; c++) {
        if (dweight) dweight[c] += dw[c - c0];
        if (dbias) dbias[c] += db[c - c0];
      }
    }
  }
  return DUSA_OK;
}

int dusa_layernorm_modulate_forward(dusa_ctx* ctx, float* out, float* mean, float* rstd, const float* in,
                                    const float* shift, const float* scale, int B, int T, int C, int mod_stride,
                                    float eps) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_layernorm_modulate_forward(ctx, s.out(out, dusa::count(B, T, C)), mean, rstd, s.in(in, dusa::count(B, T, C)), s.in(shift, dusa::span(B, mod_stride, C)), s.in(scale, dusa::span(B, mod_stride, C)), B, T, C, mod_stride, eps));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(mean); CHECK_PTR(rstd); CHECK_PTR(in); CHECK_PTR(shift); CHECK_PTR(scale);
  CHECK_POS(B); CHECK_POS(T); CHECK_POS(C);
  CHECK_ARG(mod_stride >= C, "%s: mod_stride (%d) must be >= C (%d)", __func__, mod_stride, C);
#pragma omp parallel for num_threads(ctx->threads) schedule(static)
  for (int64_t row = 0; row < (int64_t)B * T; row++) {
    int b = (int)(row / T);
    const float* x = in + row * C;
    const float* sh = shift + (int64_t)b * mod_stride;
    const float* sc = scale + (int64_t)b * mod_stride;
    float* y = out + row * C;
    float m, r;
    row_stats(x, C, eps, &m, &r);
    mean[row] = m;
    rstd[row] = r;
    for (int c = 0; c < C; c++) y[c] = (x[c] - m) * r * (1.0f + sc[c]) + sh[c];
  }
  return DUSA_OK;
}

int dusa_layernorm_modulate_backward(dusa_ctx* ctx, float* din, float* dshift, float* dscale, const float* dout,
                                     const float* in, const float* scale, const float* mean, const float* rstd, int B,
                                     int T, int C, int mod_stride) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_layernorm_modulate_backward(ctx, s.out(din, dusa::count(B, T, C)), s.out(dshift, dusa::span(B, mod_stride, C)), s.out(dscale, dusa::span(B, mod_stride, C)), s.in(dout, dusa::count(B, T, C)), s.in(in, dusa::count(B, T, C)), s.in(scale, dusa::span(B, mod_stride, C)), mean, rstd, B, T, C, mod_stride));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dout); CHECK_PTR(in); CHECK_PTR(scale); CHECK_PTR(mean); CHECK_PTR(rstd);
  CHECK_POS(B); CHECK_POS(T); CHECK_POS(C);
  CHECK_ARG(mod_stride >= C, "%s: mod_stride (%d) must be >= C (%d)", __func__, mod_stride, C);
  if (din) {
    float* scratch = dusa::workspace(ctx, (uint64_t)ctx->threads * C);
    if (!scratch) return DUSA_ERR_OOM;
#pragma omp parallel num_threads(ctx->threads)
    {
      float* dxhat = scratch + (int64_t)omp_get_thread_num() * C;
#pragma omp for schedule(static)
      for (int64_t row = 0; row < (int64_t)B * T; row++) {
        const float* g = dout + row * C;
        const float* sc = scale + (row / T) * mod_stride;
        for (int c = 0; c < C; c++) dxhat[c] = g[c] * (1.0f + sc[c]);
        row_input_grad(din + row * C, dxhat, in + row * C, mean[row], rstd[row], C);
      }
    }
  }
  if (dshift || dscale) {
    int blocks = (C + COLS - 1) / COLS;
#pragma omp parallel for collapse(2) num_threads(ctx->threads) schedule(static)
    for (int b = 0; b < B; b++)
      for (int blk = 0; blk < blocks; blk++) {
        int c0 = blk * COLS, c1 = c0 + COLS < C ? c0 + COLS : C;
        float dsh[COLS] = {}, dsc[COLS] = {};
        for (int t = 0; t < T; t++) {
          int64_t row = (int64_t)b * T + t;
          const float* g = dout + row * C;
          const float* x = in + row * C;
          for (int c = c0; c < c1; c++) {
            dsh[c - c0] += g[c];
            dsc[c - c0] += g[c] * ((x[c] - mean[row]) * rstd[row]);
          }
        }
        for (int c = c0; c < c1; c++) {
          if (dshift) dshift[(int64_t)b * mod_stride + c] = dsh[c - c0];
          if (dscale) dscale[(int64_t)b * mod_stride + c] = dsc[c - c0];
        }
      }
  }
  return DUSA_OK;
}

// NCHW: normalise each pixel's C channels. Per image, statistics are accumulated plane by plane (contiguous).
int dusa_layernorm2d_forward(dusa_ctx* ctx, float* out, float* mean, float* rstd, const float* in, const float* weight,
                             const float* bias, int B, int C, int HW, float eps) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_layernorm2d_forward(ctx, s.out(out, dusa::count(B, C, HW)), mean, rstd, s.in(in, dusa::count(B, C, HW)), weight, bias, B, C, HW, eps));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(mean); CHECK_PTR(rstd); CHECK_PTR(in);
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(HW);
  constexpr int P = 256;  // pixel tile
  int tiles = (HW + P - 1) / P;
#pragma omp parallel num_threads(ctx->threads)
  {
    double sum[P], sq[P];
#pragma omp for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
      for (int tile = 0; tile < tiles; tile++) {
        int p0 = tile * P, np = p0 + P < HW ? P : HW - p0;
        const float* x = in + (int64_t)b * C * HW + p0;
        float* y = out + (int64_t)b * C * HW + p0;
        for (int p = 0; p < np; p++) sum[p] = sq[p] = 0.0;
        for (int c = 0; c < C; c++)
          for (int p = 0; p < np; p++) sum[p] += x[(int64_t)c * HW + p];
        for (int p = 0; p < np; p++) sum[p] /= C;
        for (int c = 0; c < C; c++)
          for (int p = 0; p < np; p++) {
            double d = x[(int64_t)c * HW + p] - sum[p];
            sq[p] += d * d;
          }
        float* m = mean + (int64_t)b * HW + p0;
        float* r = rstd + (int64_t)b * HW + p0;
        for (int p = 0; p < np; p++) {
          m[p] = (float)sum[p];
          r[p] = (float)(1.0 / std::sqrt(sq[p] / C + (double)eps));
        }
        for (int c = 0; c < C; c++) {
          float w = weight ? weight[c] : 1.0f, bb = bias ? bias[c] : 0.0f;
          for (int p = 0; p < np; p++) y[(int64_t)c * HW + p] = (x[(int64_t)c * HW + p] - m[p]) * r[p] * w + bb;
        }
      }
  }
  return DUSA_OK;
}

int dusa_layernorm2d_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout,
                              const float* in, const float* weight, const float* mean, const float* rstd, int B, int C,
                              int HW) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_layernorm2d_backward(ctx, s.out(din, dusa::count(B, C, HW)), dweight, dbias, s.in(dout, dusa::count(B, C, HW)), s.in(in, dusa::count(B, C, HW)), weight, mean, rstd, B, C, HW));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dout); CHECK_PTR(in); CHECK_PTR(mean); CHECK_PTR(rstd);
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(HW);
  constexpr int P = 256;
  int tiles = (HW + P - 1) / P;
  if (din) {
#pragma omp parallel num_threads(ctx->threads)
    {
      double a[P], bsum[P];
#pragma omp for collapse(2) schedule(static)
      for (int b = 0; b < B; b++)
        for (int tile = 0; tile < tiles; tile++) {
          int p0 = tile * P, np = p0 + P < HW ? P : HW - p0;
          int64_t base = (int64_t)b * C * HW + p0;
          const float* m = mean + (int64_t)b * HW + p0;
          const float* r = rstd + (int64_t)b * HW + p0;
          for (int p = 0; p < np; p++) a[p] = bsum[p] = 0.0;
          for (int c = 0; c < C; c++) {
            float w = weight ? weight[c] : 1.0f;
            for (int p = 0; p < np; p++) {
              int64_t i = base + (int64_t)c * HW + p;
              float dxhat = dout[i] * w;
              a[p] += dxhat;
              bsum[p] += (double)dxhat * ((in[i] - m[p]) * r[p]);
            }
          }
          for (int p = 0; p < np; p++) {
            a[p] /= C;
            bsum[p] /= C;
          }
          for (int c = 0; c < C; c++) {
            float w = weight ? weight[c] : 1.0f;
            for (int p = 0; p < np; p++) {
              int64_t i = base + (int64_t)c * HW + p;
              float xhat = (in[i] - m[p]) * r[p];
              din[i] = (dout[i] * w - (float)a[p] - xhat * (float)bsum[p]) * r[p];
            }
          }
        }
    }
  }
  if (dweight || dbias) {
#pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int c = 0; c < C; c++) {
      double dw = 0.0, db = 0.0;
      for (int b = 0; b < B; b++) {
        const float* g = dout + ((int64_t)b * C + c) * HW;
        const float* x = in + ((int64_t)b * C + c) * HW;
        const float* m = mean + (int64_t)b * HW;
        const float* r = rstd + (int64_t)b * HW;
        for (int p = 0; p < HW; p++) {
          dw += (double)g[p] * ((x[p] - m[p]) * r[p]);
          db += g[p];
        }
      }
      if (dweight) dweight[c] += (float)dw;
      if (dbias) dbias[c] += (float)db;
    }
  }
  return DUSA_OK;
}

}  // extern "C"
