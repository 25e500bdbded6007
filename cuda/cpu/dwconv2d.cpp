// dwconv2d.cpp — depthwise 2D convolution over NCHW: stride 1, square odd kernel K, "same" padding K/2
// (ConvNeXt's 7x7 token mixer). weight (C, 1, K, K), bias (C) or NULL.
//
//   out[b,c,h,w] = bias[c] + sum_{i,j} weight[c,i,j] * in[b,c, h+i-K/2, w+j-K/2]   (zero outside the image)
//
// The fast path works a plane (b, c) at a time: each output row is K*K contiguous axpys over the range of
// columns whose input is inside the image, so the inner loops carry no bounds checks and vectorise.
// din is the same correlation of dout with the kernel flipped; dweight/dbias are reduced per channel (over
// batch and pixels, in a fixed order, so the sums do not depend on the thread count).
#include <omp.h>

#include <algorithm>

#include "cpu.h"

namespace {

// y (H, W) = init + sum_{i,j} k'[i,j] x[h+i-p, w+j-p], k' = k, or k flipped in both axes when flip
void plane_correlate(float* y, const float* x, const float* k, bool flip, float init, int H, int W, int K) {
  int p = K / 2;
  for (int h = 0; h < H; h++) {
    float* row = y + (int64_t)h * W;
    for (int w = 0; w < W; w++) row[w] = init;
    for (int i = 0; i < K; i++) {
      int ih = h + i - p;
      if (ih < 0 || ih >= H) continue;
      const float* xr = x + (int64_t)ih * W;
      for (int j = 0; j < K; j++) {
        float wgt = flip ? k[(K - 1 - i) * K + (K - 1 - j)] : k[i * K + j];
        int off = j - p;
        int lo = std::max(0, -off), hi = std::min(W, W - off);
        for (int w = lo; w < hi; w++) row[w] += wgt * xr[w + off];
      }
    }
  }
}

// acc[i*K + j] += sum_{h,w} g[h,w] x[h+i-p, w+j-p] over one plane. The products are first summed down the rows
// into part (K*K, W) with elementwise (vectorisable) updates, then each tap's row is reduced once, in double.
void plane_weight_grad(double* acc, float* part, const float* g, const float* x, int H, int W, int K) {
  int p = K / 2;
  std::fill(part, part + (int64_t)K * K * W, 0.0f);
  for (int h = 0; h < H; h++) {
    const float* gr = g + (int64_t)h * W;
    for (int i = 0; i < K; i++) {
      int ih = h + i - p;
      if (ih < 0 || ih >= H) continue;
      const float* xr = x + (int64_t)ih * W;
      for (int j = 0; j < K; j++) {
        int off = j - p;
        int lo = std::max(0, -off), hi = std::min(W, W - off);
        float* a = part + (int64_t)(i * K + j) * W;
        for (int w = lo; w < hi; w++) a[w] += gr[w] * xr[w + off];
      }
    }
  }
  for (int q = 0; q < K * K; q++) {
    const float* a = part + (int64_t)q * W;
    double s = 0.0;
    for (int w = 0; w < W; w++) s += a[w];
    acc[q] += s;
  }
}

// ---------------------------------------------------------------------------------------------
// reference: direct loops with bounds checks, double accumulators

inline float at(const float* x, int H, int W, int h, int w) {
  return (h < 0 || h >= H || w < 0 || w >= W) ? 0.0f : x[(int64_t)h * W + w];
}

void forward_reference(float* out, const float* in, const float* weight, const float* bias, int B, int C, int H, int W,
                       int K) {
  int p = K / 2;
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++) {
      const float* x = in + ((int64_t)b * C + c) * H * W;
      const float* k = weight + (int64_t)c * K * K;
      for (int h = 0; h < H; h++)
        for (int w = 0; w < W; w++) {
          double acc = bias ? bias[c] : 0.0;
          for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) acc += (double)k[i * K + j] * at(x, H, W, h + i - p, w + j - p);
          out[((int64_t)b * C + c) * H * W + (int64_t)h * W + w] = (float)acc;
        }
    }
}

void backward_reference(float* din, float* dweight, float* dbias, const float* dout, const float* in,
                        const float* weight, int B, int C, int H, int W, int K) {
  int p = K / 2;
  for (int c = 0; c < C; c++) {
    const float* k = weight ? weight + (int64_t)c * K * K : nullptr;
    double db = 0.0;
    for (int b = 0; b < B; b++) {
      const float* g = dout + ((int64_t)b * C + c) * H * W;
      for (int64_t q = 0; q < (int64_t)H * W; q++) db += g[q];
      if (din) {
        float* dx = din + ((int64_t)b * C + c) * H * W;
        for (int h = 0; h < H; h++)
          for (int w = 0; w < W; w++) {
            double acc = 0.0;  // out[h', w'] reads in[h, w] through weight[h - h' + p, w - w' + p]
            for (int i = 0; i < K; i++)
              for (int j = 0; j < K; j++) acc += (double)k[i * K + j] * at(g, H, W, h - i + p, w - j + p);
            dx[(int64_t)h * W + w] = (float)acc;
          }
      }
    }
    if (dbias) dbias[c] += (float)db;
    if (dweight)
      for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
          double acc = 0.0;
          for (int b = 0; b < B; b++) {
            const float* g = dout + ((int64_t)b * C + c) * H * W;
            const float* x = in + ((int64_t)b * C + c) * H * W;
            for (int h = 0; h < H; h++)
              for (int w = 0; w < W; w++) acc += (double)g[(int64_t)h * W + w] * at(x, H, W, h + i - p, w + j - p);
          }
          dweight[((int64_t)c * K + i) * K + j] += (float)acc;
        }
  }
}

}  // namespace

#define CHECK_DWCONV_SIZES()                                                                                  \
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(H); CHECK_POS(W); CHECK_POS(K);                                       \
  CHECK_ARG(K % 2 == 1, "%s: K must be odd (padding K/2 keeps the size), got %d", __func__, K)

extern "C" {

int dusa_dwconv2d_forward(dusa_ctx* ctx, float* out, const float* in, const float* weight, const float* bias, int B,
                          int C, int H, int W, int K) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in); CHECK_PTR(weight);
  CHECK_DWCONV_SIZES();
  if (ctx->reference) {
    forward_reference(out, in, weight, bias, B, C, H, W, K);
    return DUSA_OK;
  }
  int64_t HW = (int64_t)H * W;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)B * C * HW * K * K > (1 << 16))
  for (int64_t plane = 0; plane < (int64_t)B * C; plane++) {
    int c = (int)(plane % C);
    plane_correlate(out + plane * HW, in + plane * HW, weight + (int64_t)c * K * K, false, bias ? bias[c] : 0.0f, H, W,
                    K);
  }
  return DUSA_OK;
}

int dusa_dwconv2d_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout, const float* in,
                           const float* weight, int B, int C, int H, int W, int K) {
  DUSA_OP(ctx);
  CHECK_PTR(dout);
  CHECK_ARG(!din || weight, "%s: weight is null but din is requested", __func__);
  CHECK_ARG(!dweight || in, "%s: in is null but dweight is requested", __func__);
  CHECK_DWCONV_SIZES();
  if (ctx->reference) {
    backward_reference(din, dweight, dbias, dout, in, weight, B, C, H, W, K);
    return DUSA_OK;
  }
  int64_t HW = (int64_t)H * W;
  bool big = (int64_t)B * C * HW * K * K > (1 << 16);
  if (din) {
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (big)
    for (int64_t plane = 0; plane < (int64_t)B * C; plane++) {
      int c = (int)(plane % C);
      plane_correlate(din + plane * HW, dout + plane * HW, weight + (int64_t)c * K * K, true, 0.0f, H, W, K);
    }
  }
  if (dweight || dbias) {
    // per thread: K*K double accumulators (2 floats each) and the (K*K, W) row partials, from the workspace
    int threads = ctx->threads;
    int64_t per_thread = ((int64_t)K * K * (2 + W) + 15) / 16 * 16;  // 64-byte multiples: aligned doubles
    float* scratch = dusa::workspace(ctx, (uint64_t)threads * per_thread);
    if (!scratch) return DUSA_ERR_OOM;
#pragma omp parallel num_threads(threads) if (big)
    {
      float* mine = scratch + (int64_t)omp_get_thread_num() * per_thread;
      double* acc = reinterpret_cast<double*>(mine);
      float* part = mine + 2 * K * K;
#pragma omp for schedule(static)
      for (int c = 0; c < C; c++) {
        double db = 0.0;
        if (dweight) std::fill(acc, acc + K * K, 0.0);
        for (int b = 0; b < B; b++) {
          const float* g = dout + ((int64_t)b * C + c) * HW;
          if (dbias)
            for (int64_t q = 0; q < HW; q++) db += g[q];
          if (dweight) plane_weight_grad(acc, part, g, in + ((int64_t)b * C + c) * HW, H, W, K);
        }
        if (dbias) dbias[c] += (float)db;
        if (dweight)
          for (int q = 0; q < K * K; q++) dweight[(int64_t)c * K * K + q] += (float)acc[q];
      }
    }
  }
  return DUSA_OK;
}

}  // extern "C"
