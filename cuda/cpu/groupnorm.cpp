// groupnorm.cpp — GroupNorm over NCHW (B, C, HW) with G groups, affine, optionally fused with SiLU (the
// SD-VAE's `nonlinearity(norm(x))`). Group g of image b is the contiguous block of C/G channels x HW pixels.
//
//   xhat = (x - mean[b,g]) * rstd[b,g],  y = xhat * weight[c] + bias[c],  out = silu ? y * sigmoid(y) : y
//
// Statistics two-pass in double; mean and rstd (B, G) are saved. Backward recomputes xhat (and y, for silu')
// from in and the saved statistics:
//   dy = dout * (silu ? s (1 + y (1 - s)) : 1),  dxhat = dy * weight[c]
//   din = rstd (dxhat - mean_group(dxhat) - xhat mean_group(dxhat xhat))       (overwrite)
//   dweight[c] += sum_{b,hw} dy xhat,  dbias[c] += sum_{b,hw} dy
// The parameter sums go through per-(b, c) partials and a reduction over b in a fixed order, so they do not
// depend on the thread count. weight/bias may be NULL (1 and 0).
#include <cmath>

#include "cpu.h"
#include "storage.h"
#include "op_checks.h"

namespace {

inline float sigmoid(float y) { return 1.0f / (1.0f + std::exp(-y)); }

// the gradient at the GroupNorm output y from the gradient dout after the optional SiLU
inline double grad_before_silu(double dout, double y, int silu) {
  if (!silu) return dout;
  double s = 1.0 / (1.0 + std::exp(-y));
  return dout * s * (1.0 + y * (1.0 - s));
}

// factor of silu'(y) applied to the upstream gradient
inline float silu_grad(float y) {
  float s = sigmoid(y);
  return s * (1.0f + y * (1.0f - s));
}

// ---------------------------------------------------------------------------------------------
// reference: serial plain loops, double throughout

void forward_reference(float* out, float* mean, float* rstd, const float* in, const float* weight, const float* bias,
                       int B, int C, int HW, int G, float eps, int silu) {
  int Cg = C / G;
  int64_t n = (int64_t)Cg * HW;
  for (int b = 0; b < B; b++)
    for (int g = 0; g < G; g++) {
      const float* x = in + ((int64_t)b * C + (int64_t)g * Cg) * HW;
      double m = 0.0, v = 0.0;
      for (int64_t i = 0; i < n; i++) m += x[i];
      m /= n;
      for (int64_t i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
      double r = 1.0 / std::sqrt(v / n + (double)eps);
      mean[b * G + g] = (float)m;
      rstd[b * G + g] = (float)r;
      for (int cc = 0; cc < Cg; cc++) {
        int c = g * Cg + cc;
        for (int p = 0; p < HW; p++) {
          int64_t i = (int64_t)cc * HW + p;
          double y = (x[i] - m) * r * (weight ? weight[c] : 1.0) + (bias ? bias[c] : 0.0);
          if (silu) y = y / (1.0 + std::exp(-y));
          out[((int64_t)b * C + (int64_t)g * Cg) * HW + i] = (float)y;
        }
      }
    }
}

void backward_reference(float* din, float* dweight, float* dbias, const float* dout, const float* in,
                        const float* weight, const float* bias, const float* mean, const float* rstd, int B, int C,
                        int HW, int G, int silu) {
  int Cg = C / G;
  int64_t n = (int64_t)Cg * HW;
  for (int b = 0; b < B; b++)
    for (int g = 0; g < G; g++) {
      int64_t base = ((int64_t)b * C + (int64_t)g * Cg) * HW;
      double m = mean[b * G + g], r = rstd[b * G + g];
      double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
      for (int cc = 0; cc < Cg; cc++) {
        int c = g * Cg + cc;
        double w = weight ? weight[c] : 1.0, bb = bias ? bias[c] : 0.0;
        for (int p = 0; p < HW; p++) {
          int64_t i = base + (int64_t)cc * HW + p;
          double xhat = (in[i] - m) * r, dy = grad_before_silu(dout[i], xhat * w + bb, silu);
          sum_dxhat += dy * w;
          sum_dxhat_xhat += dy * w * xhat;
          if (dweight) dweight[c] += (float)(dy * xhat);
          if (dbias) dbias[c] += (float)dy;
        }
      }
      if (!din) continue;
      for (int cc = 0; cc < Cg; cc++) {
        int c = g * Cg + cc;
        double w = weight ? weight[c] : 1.0, bb = bias ? bias[c] : 0.0;
        for (int p = 0; p < HW; p++) {
          int64_t i = base + (int64_t)cc * HW + p;
          double xhat = (in[i] - m) * r, dy = grad_before_silu(dout[i], xhat * w + bb, silu);
          din[i] = (float)(r * (dy * w - sum_dxhat / n - xhat * sum_dxhat_xhat / n));
        }
      }
    }
}

}  // namespace

extern "C" {

int dusa_groupnorm_forward(dusa_ctx* ctx, float* out, float* mean, float* rstd, const float* in, const float* weight,
                           const float* bias, int B, int C, int HW, int G, float eps, int silu) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_groupnorm_forward(ctx, s.out(out, dusa::count(B, C, HW)), mean, rstd, s.in(in, dusa::count(B, C, HW)), weight, bias, B, C, HW, G, eps, silu));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(mean); CHECK_PTR(rstd); CHECK_PTR(in);
  CHECK_GROUPNORM_SIZES();
  CHECK_ARG(eps >= 0, "%s: eps must be >= 0", __func__);
  if (ctx->reference) {
    forward_reference(out, mean, rstd, in, weight, bias, B, C, HW, G, eps, silu);
    return DUSA_OK;
  }
  int Cg = C / G;
  int64_t n = (int64_t)Cg * HW;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)B * C * HW > (1 << 15))
  for (int bg = 0; bg < B * G; bg++) {
    int g = bg % G;
    int64_t base = (int64_t)bg * n;  // (b*C + g*Cg) * HW
    const float* x = in + base;
    float* y = out + base;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += x[i];
    double m = sum / n, sq = 0.0;
    for (int64_t i = 0; i < n; i++) {
      double d = x[i] - m;
      sq += d * d;
    }
    float mf = (float)m, rf = (float)(1.0 / std::sqrt(sq / n + (double)eps));
    mean[bg] = mf;
    rstd[bg] = rf;
    for (int cc = 0; cc < Cg; cc++) {
      int c = g * Cg + cc;
      // (x - mean) * scale + bias, not x * scale + (bias - mean * scale): the folded shift loses
      // |mean| * rstd * eps when the group's variance is small
      float scale = (weight ? weight[c] : 1.0f) * rf, shift = bias ? bias[c] : 0.0f;
      const float* xc = x + (int64_t)cc * HW;
      float* yc = y + (int64_t)cc * HW;
      if (silu) {
        for (int p = 0; p < HW; p++) {
          float v = (xc[p] - mf) * scale + shift;
          yc[p] = v * sigmoid(v);
        }
      } else {
        for (int p = 0; p < HW; p++) yc[p] = (xc[p] - mf) * scale + shift;
      }
    }
  }
  return DUSA_OK;
}

int dusa_groupnorm_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout, const float* in,
                            const float* weight, const float* bias, const float* mean, const float* rstd, int B, int C,
                            int HW, int G, int silu) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_groupnorm_backward(ctx, s.out(din, dusa::count(B, C, HW)), dweight, dbias, s.in(dout, dusa::count(B, C, HW)), s.in(in, dusa::count(B, C, HW)), weight, bias, mean, rstd, B, C, HW, G, silu));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dout); CHECK_PTR(in); CHECK_PTR(mean); CHECK_PTR(rstd);
  CHECK_GROUPNORM_SIZES();
  if (!din && !dweight && !dbias) return DUSA_OK;
  if (ctx->reference) {
    backward_reference(din, dweight, dbias, dout, in, weight, bias, mean, rstd, B, C, HW, G, silu);
    return DUSA_OK;
  }
  int Cg = C / G;
  int64_t n = (int64_t)Cg * HW;
  // partials (2, B, C): per-image sums of dy*xhat and dy
  bool params = dweight || dbias;
  float* partial = nullptr;
  if (params) {
    partial = dusa::workspace(ctx, 2 * (uint64_t)B * C);
    if (!partial) return DUSA_ERR_OOM;
  }
  int64_t BC = (int64_t)B * C;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)B * C * HW > (1 << 14))
  for (int bg = 0; bg < B * G; bg++) {
    int b = bg / G, g = bg % G;
    int64_t base = (int64_t)bg * n;
    float m = mean[bg], r = rstd[bg];
    double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
    for (int cc = 0; cc < Cg; cc++) {
      int c = g * Cg + cc;
      float w = weight ? weight[c] : 1.0f, bb = bias ? bias[c] : 0.0f;
      const float* x = in + base + (int64_t)cc * HW;
      const float* d = dout + base + (int64_t)cc * HW;
      float* dx = din ? din + base + (int64_t)cc * HW : nullptr;
      double dw = 0.0, db = 0.0;
      for (int p = 0; p < HW; p++) {
        float xhat = (x[p] - m) * r;
        float dy = silu ? d[p] * silu_grad(xhat * w + bb) : d[p];
        dw += dy * xhat;
        db += dy;
        if (dx) dx[p] = dy * w;  // dxhat, parked in din until the group sums are known
      }
      sum_dxhat += db * w;  // sum dxhat = w sum dy
      sum_dxhat_xhat += dw * w;
      if (params) {
        partial[(int64_t)b * C + c] = (float)dw;
        partial[BC + (int64_t)b * C + c] = (float)db;
      }
    }
    if (din) {
      float a = (float)(sum_dxhat / n), k = (float)(sum_dxhat_xhat / n);
      const float* x = in + base;
      float* dx = din + base;
      for (int64_t i = 0; i < n; i++) {
        float xhat = (x[i] - m) * r;
        dx[i] = (dx[i] - a - xhat * k) * r;
      }
    }
  }
  if (params) {
    for (int c = 0; c < C; c++) {
      double dw = 0.0, db = 0.0;
      for (int b = 0; b < B; b++) {
        dw += partial[(int64_t)b * C + c];
        db += partial[BC + (int64_t)b * C + c];
      }
      if (dweight) dweight[c] += (float)dw;
      if (dbias) dbias[c] += (float)db;
    }
  }
  return DUSA_OK;
}

}  // extern "C"
