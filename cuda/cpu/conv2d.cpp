// conv2d.cpp — dense 2D convolution over NCHW, forward and backward, as im2col + GEMM.
//
// Per image b, with K = IC*KH*KW and P = OH*OW output pixels:
//   out_b (OC, P) = weight (OC, K) @ col_b (K, P) + bias
// col_b is built a band of output rows at a time, so the workspace stays within COL_FLOATS floats whatever the
// image height (SD-VAE: 128-channel 3x3 convs at 256x256 take 56-row bands); the floor is one row, K*OW floats. A 1x1 stride-1 unpadded conv is a
// plain GEMM on the input (col_b == in_b). Backward, per band:
//   dweight (OC, K) += dout_band (OC, n) @ col_band^T (n, K)
//   dcol (K, n) = weight^T (K, OC) @ dout_band (OC, n), then col2im adds dcol into din (zeroed first).
// Reference mode: a direct convolution loop, accumulated in double.
#include <algorithm>
#include <cstring>

#include <omp.h>

#include "conv_shape.h"
#include "cpu.h"
#include "op_checks.h"
#include "storage.h"

namespace {

constexpr int64_t COL_FLOATS = 16 << 20;  // im2col band budget (64 MiB)

using Conv = dusa::ConvShape;

// output rows per im2col band
int band_rows(const Conv& c, int workers = 1) {
  int64_t rows = COL_FLOATS / workers / std::max<int64_t>(1, c.K() * c.OW);
  return (int)std::max<int64_t>(1, std::min<int64_t>(rows, c.OH));
}

// Output columns ow whose input column ow*sw - pl + kw lies in [0, W): [lo, hi).
inline void valid_cols(const Conv& c, int kw, int* lo, int* hi) {
  int off = c.pl - kw;  // iw = ow*sw - off
  int a = off <= 0 ? 0 : (off + c.sw - 1) / c.sw;
  int b = (c.W - 1 + off) < 0 ? 0 : (c.W - 1 + off) / c.sw + 1;
  *lo = std::min(a, c.OW);
  *hi = std::max(*lo, std::min(b, c.OW));
}

// col (K, rows*OW) for output rows [oh0, oh0 + rows) of one image x (IC, H, W)
void im2col(int threads, const Conv& c, const float* x, int oh0, int rows, float* col) {
  int64_t n = (int64_t)rows * c.OW;
  int64_t K = c.K();
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && K * n > (1 << 15))
  for (int64_t r = 0; r < K; r++) {
    int ic = (int)(r / (c.KH * c.KW)), kh = (int)(r / c.KW % c.KH), kw = (int)(r % c.KW);
    int lo, hi;
    valid_cols(c, kw, &lo, &hi);
    const float* plane = x + (int64_t)ic * c.H * c.W;
    for (int i = 0; i < rows; i++) {
      float* dst = col + r * n + (int64_t)i * c.OW;
      int ih = (oh0 + i) * c.sh - c.pt + kh;
      if (ih < 0 || ih >= c.H) {
        std::memset(dst, 0, sizeof(float) * c.OW);
        continue;
      }
      const float* src = plane + (int64_t)ih * c.W;
      int64_t shift = (int64_t)kw - c.pl;  // output column ow reads input column ow*sw + shift
      for (int ow = 0; ow < lo; ow++) dst[ow] = 0.0f;
      if (c.sw == 1) {
        if (hi > lo) std::memcpy(dst + lo, src + lo + shift, sizeof(float) * (hi - lo));
      } else {
        for (int ow = lo; ow < hi; ow++) dst[ow] = src[(int64_t)ow * c.sw + shift];
      }
      for (int ow = hi; ow < c.OW; ow++) dst[ow] = 0.0f;
    }
  }
}

// dx (IC, H, W) += the columns dcol (K, rows*OW) of output rows [oh0, oh0 + rows); parallel over input channels
void col2im(dusa_ctx* ctx, const Conv& c, const float* dcol, int oh0, int rows, float* dx) {
  int64_t n = (int64_t)rows * c.OW;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (c.K() * n > (1 << 15))
  for (int ic = 0; ic < c.IC; ic++) {
    float* plane = dx + (int64_t)ic * c.H * c.W;
    for (int kh = 0; kh < c.KH; kh++)
      for (int kw = 0; kw < c.KW; kw++) {
        int64_t r = ((int64_t)ic * c.KH + kh) * c.KW + kw;
        int lo, hi;
        valid_cols(c, kw, &lo, &hi);
        for (int i = 0; i < rows; i++) {
          int ih = (oh0 + i) * c.sh - c.pt + kh;
          if (ih < 0 || ih >= c.H) continue;
          const float* src = dcol + r * n + (int64_t)i * c.OW;
          float* dst = plane + (int64_t)ih * c.W;
          int64_t shift = (int64_t)kw - c.pl;
          for (int ow = lo; ow < hi; ow++) dst[(int64_t)ow * c.sw + shift] += src[ow];
        }
      }
  }
}

// ---------------------------------------------------------------------------------------------
// reference: direct loops, double accumulators

void forward_reference(const Conv& c, float* out, const float* in, const float* w, const float* bias) {
  for (int b = 0; b < c.B; b++)
    for (int oc = 0; oc < c.OC; oc++)
      for (int oh = 0; oh < c.OH; oh++)
        for (int ow = 0; ow < c.OW; ow++) {
          double acc = bias ? bias[oc] : 0.0;
          for (int ic = 0; ic < c.IC; ic++)
            for (int kh = 0; kh < c.KH; kh++)
              for (int kw = 0; kw < c.KW; kw++) {
                int ih = oh * c.sh - c.pt + kh, iw = ow * c.sw - c.pl + kw;
                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                acc += (double)in[(((int64_t)b * c.IC + ic) * c.H + ih) * c.W + iw] *
                       w[(((int64_t)oc * c.IC + ic) * c.KH + kh) * c.KW + kw];
              }
          out[(((int64_t)b * c.OC + oc) * c.OH + oh) * c.OW + ow] = (float)acc;
        }
}

void backward_reference(const Conv& c, float* din, float* dw, float* db, const float* dout, const float* in,
                        const float* w) {
  auto dout_at = [&](int b, int oc, int oh, int ow) { return dout[(((int64_t)b * c.OC + oc) * c.OH + oh) * c.OW + ow]; };
  if (din) {
    for (int b = 0; b < c.B; b++)
      for (int ic = 0; ic < c.IC; ic++)
        for (int ih = 0; ih < c.H; ih++)
          for (int iw = 0; iw < c.W; iw++) {
            double acc = 0.0;
            for (int oc = 0; oc < c.OC; oc++)
              for (int kh = 0; kh < c.KH; kh++)
                for (int kw = 0; kw < c.KW; kw++) {
                  int th = ih + c.pt - kh, tw = iw + c.pl - kw;  // = oh*sh, ow*sw
                  if (th < 0 || tw < 0 || th % c.sh || tw % c.sw) continue;
                  int oh = th / c.sh, ow = tw / c.sw;
                  if (oh >= c.OH || ow >= c.OW) continue;
                  acc += (double)dout_at(b, oc, oh, ow) * w[(((int64_t)oc * c.IC + ic) * c.KH + kh) * c.KW + kw];
                }
            din[(((int64_t)b * c.IC + ic) * c.H + ih) * c.W + iw] = (float)acc;
          }
  }
  if (dw) {
    for (int oc = 0; oc < c.OC; oc++)
      for (int ic = 0; ic < c.IC; ic++)
        for (int kh = 0; kh < c.KH; kh++)
          for (int kw = 0; kw < c.KW; kw++) {
            double acc = 0.0;
            for (int b = 0; b < c.B; b++)
              for (int oh = 0; oh < c.OH; oh++)
                for (int ow = 0; ow < c.OW; ow++) {
                  int ih = oh * c.sh - c.pt + kh, iw = ow * c.sw - c.pl + kw;
                  if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                  acc += (double)dout_at(b, oc, oh, ow) * in[(((int64_t)b * c.IC + ic) * c.H + ih) * c.W + iw];
                }
            dw[(((int64_t)oc * c.IC + ic) * c.KH + kh) * c.KW + kw] += (float)acc;
          }
  }
  if (db) {
    for (int oc = 0; oc < c.OC; oc++) {
      double acc = 0.0;
      for (int b = 0; b < c.B; b++)
        for (int oh = 0; oh < c.OH; oh++)
          for (int ow = 0; ow < c.OW; ow++) acc += dout_at(b, oc, oh, ow);
      db[oc] += (float)acc;
    }
  }
}

}  // namespace

extern "C" {

int dusa_conv2d_forward(dusa_ctx* ctx, float* out, const float* in, const float* weight, const float* bias, int B,
                        int IC, int H, int W, int OC, int KH, int KW, int stride_h, int stride_w, int pad_top,
                        int pad_bottom, int pad_left, int pad_right) {
  if (dusa::stores_bf16(ctx)) {
    dusa::ConvShape c{B, IC, H, W, OC, KH, KW, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, 0, 0};
    if (int status = dusa::conv_shape(__func__, &c)) return status;
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_conv2d_forward(ctx, s.out(out, dusa::count(B, OC, c.OH, c.OW)), s.in(in, dusa::count(B, IC, H, W)), s.in(weight, dusa::count(OC, IC, KH, KW)), bias, B, IC, H, W, OC, KH, KW, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in); CHECK_PTR(weight);
  Conv c{B, IC, H, W, OC, KH, KW, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, 0, 0};
  if (int s = dusa::conv_shape(__func__, &c)) return s;
  if (ctx->reference) {
    forward_reference(c, out, in, weight, bias);
    return DUSA_OK;
  }
  int64_t K = c.K(), P = c.P();
  bool direct = c.pointwise();
  // With at least as many images as threads, each thread convolves whole images with a single-threaded GEMM
  // (no fork/join per small GEMM); otherwise images go one by one with the GEMM threaded.
  int workers = B >= ctx->threads ? ctx->threads : 1;
  int band = band_rows(c, workers);
  float* cols = nullptr;
  if (!direct) {
    cols = dusa::workspace(ctx, (uint64_t)workers * K * band * c.OW);
    if (!cols) return DUSA_ERR_OOM;
  }
  auto image = [&](int b, float* col, bool threaded) {
    const float* x = in + (int64_t)b * IC * H * W;  // (IC, H, W)
    float* y = out + (int64_t)b * OC * P;           // (OC, OH, OW)
    float beta = 0.0f;
    if (bias) {
      for (int oc = 0; oc < OC; oc++) std::fill(y + (int64_t)oc * P, y + (int64_t)(oc + 1) * P, bias[oc]);
      beta = 1.0f;
    }
    auto gemm = [&](int n, const float* rhs, float* dst) {
      // (OC, K) @ (K, n) -> columns of y at row stride P
      if (threaded) dusa::gemm(ctx, false, false, OC, n, (int)K, 1.0f, weight, (int)K, rhs, n, beta, dst, (int)P);
      else dusa::gemm_single(ctx, false, false, OC, n, (int)K, 1.0f, weight, (int)K, rhs, n, beta, dst, (int)P);
    };
    if (direct) return gemm((int)P, x, y);
    for (int oh0 = 0; oh0 < c.OH; oh0 += band) {
      int rows = std::min(band, c.OH - oh0);
      im2col(threaded ? ctx->threads : 1, c, x, oh0, rows, col);
      gemm(rows * c.OW, col, y + (int64_t)oh0 * c.OW);
    }
  };
  if (workers > 1) {
#pragma omp parallel num_threads(workers)
    {
      float* col = cols ? cols + (int64_t)omp_get_thread_num() * K * band * c.OW : nullptr;
#pragma omp for schedule(static)
      for (int b = 0; b < B; b++) image(b, col, false);
    }
  } else {
    for (int b = 0; b < B; b++) image(b, cols, true);
  }
  return DUSA_OK;
}

int dusa_conv2d_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout, const float* in,
                         const float* weight, int B, int IC, int H, int W, int OC, int KH, int KW, int stride_h,
                         int stride_w, int pad_top, int pad_bottom, int pad_left, int pad_right) {
  if (dusa::stores_bf16(ctx)) {
    dusa::ConvShape c{B, IC, H, W, OC, KH, KW, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, 0, 0};
    if (int status = dusa::conv_shape(__func__, &c)) return status;
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_conv2d_backward(ctx, s.out(din, dusa::count(B, IC, H, W)), dweight, dbias, s.in(dout, dusa::count(B, OC, c.OH, c.OW)), s.in(in, dusa::count(B, IC, H, W)), s.in(weight, dusa::count(OC, IC, KH, KW)), B, IC, H, W, OC, KH, KW, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dout);
  CHECK_WEIGHTED_BACKWARD(din, dweight, in, weight);
  Conv c{B, IC, H, W, OC, KH, KW, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, 0, 0};
  if (int s = dusa::conv_shape(__func__, &c)) return s;
  if (ctx->reference) {
    backward_reference(c, din, dweight, dbias, dout, in, weight);
    return DUSA_OK;
  }
  int64_t K = c.K(), P = c.P();
  if (dbias) {
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)B * OC * P > (1 << 15))
    for (int oc = 0; oc < OC; oc++) {
      double acc = 0.0;
      for (int b = 0; b < B; b++) {
        const float* g = dout + ((int64_t)b * OC + oc) * P;
        for (int64_t p = 0; p < P; p++) acc += g[p];
      }
      dbias[oc] += (float)acc;
    }
  }
  if (!din && !dweight) return DUSA_OK;
  bool direct = c.pointwise();
  int band = band_rows(c);
  float* col = nullptr;
  if (!direct) {
    col = dusa::workspace(ctx, (uint64_t)K * band * c.OW);
    if (!col) return DUSA_ERR_OOM;
  }
  for (int b = 0; b < B; b++) {
    const float* x = in ? in + (int64_t)b * IC * H * W : nullptr;  // (IC, H, W)
    const float* g = dout + (int64_t)b * OC * P;                     // (OC, OH, OW)
    float* dx = din ? din + (int64_t)b * IC * H * W : nullptr;
    if (direct) {
      // dweight (OC, IC) += g (OC, P) @ x^T (P, IC); dx (IC, P) = weight^T (IC, OC) @ g (OC, P)
      if (dweight) dusa::gemm(ctx, false, true, OC, IC, (int)P, 1.0f, g, (int)P, x, (int)P, 1.0f, dweight, IC);
      if (dx) dusa::gemm(ctx, true, false, IC, (int)P, OC, 1.0f, weight, IC, g, (int)P, 0.0f, dx, (int)P);
      continue;
    }
    if (dx) std::memset(dx, 0, sizeof(float) * IC * H * W);
    for (int oh0 = 0; oh0 < c.OH; oh0 += band) {
      int rows = std::min(band, c.OH - oh0);
      int n = rows * c.OW;
      const float* g_band = g + (int64_t)oh0 * c.OW;  // (OC, n) at row stride P
      if (dweight) {
        im2col(ctx->threads, c, x, oh0, rows, col);
        dusa::gemm(ctx, false, true, OC, (int)K, n, 1.0f, g_band, (int)P, col, n, 1.0f, dweight, (int)K);
      }
      if (dx) {
        dusa::gemm(ctx, true, false, (int)K, n, OC, 1.0f, weight, (int)K, g_band, (int)P, 0.0f, col, n);  // dcol
        col2im(ctx, c, col, oh0, rows, dx);
      }
    }
  }
  return DUSA_OK;
}

}  // extern "C"
