// dwconv2d.cpp — depthwise 2D convolution over NCHW: stride 1, square odd kernel K, "same" padding K/2
// (ConvNeXt's 7x7 token mixer). weight (C, 1, K, K), bias (C) or NULL.
//
//   out[b,c,h,w] = bias[c] + sum_{i,j} weight[c,i,j] * in[b,c, h+i-K/2, w+j-K/2]   (zero outside the image)
//
// din is the same correlation of dout with the kernel flipped; dweight/dbias are reduced per channel over the
// batch and pixels.
#include <omp.h>

#include <algorithm>

#include "cpu.h"
#include "storage.h"
#include "op_checks.h"

namespace {

// The fast path works on 16-channel chunks of one image at a time, transposed to (H*W, 16) so every tap of
// every pixel is one 16-wide multiply-add with no bounds checks inside; each output pixel visits only the taps
// that land inside the image (tiny ConvNeXt planes are 16x16 down to 2x2, where a 7x7 kernel mostly overhangs).
// Channels past C in the last chunk are zero. Work items are (image, chunk) for out and din, and chunks for
// dweight/dbias, which are summed over the batch in a fixed order: results do not depend on the thread count.
constexpr int kLanes = 16;
typedef float lanes __attribute__((vector_size(kLanes * 4), aligned(4)));

inline lanes load(const float* p) {
  lanes v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}
inline void store(float* p, lanes v) { __builtin_memcpy(p, &v, sizeof(v)); }

// dst (HW, 16) = channels [c0, c0 + n) of a (C, HW) image, zero past n
void gather_chunk(float* dst, const float* src, int64_t HW, int c0, int n) {
  for (int64_t q = 0; q < HW; q++)
    for (int l = 0; l < kLanes; l++) dst[q * kLanes + l] = l < n ? src[(int64_t)(c0 + l) * HW + q] : 0.0f;
}

// channels [c0, c0 + n) of a (C, HW) image = src (HW, 16)
void scatter_chunk(float* dst, const float* src, int64_t HW, int c0, int n) {
  for (int l = 0; l < n; l++)
    for (int64_t q = 0; q < HW; q++) dst[(int64_t)(c0 + l) * HW + q] = src[q * kLanes + l];
}

// taps (K*K, 16) of channels [c0, c0 + n), optionally flipped in both axes (din correlates with the flipped kernel)
void gather_taps(float* dst, const float* weight, int K, int c0, int n, bool flip) {
  for (int i = 0; i < K; i++)
    for (int j = 0; j < K; j++) {
      int src_tap = flip ? (K - 1 - i) * K + (K - 1 - j) : i * K + j;
      for (int l = 0; l < kLanes; l++) dst[(i * K + j) * kLanes + l] = l < n ? weight[(int64_t)(c0 + l) * K * K + src_tap] : 0.0f;
    }
}

// y (HW, 16) = init + sum over in-image taps of taps[i, j] * x[h + i - p, w + j - p]
void chunk_correlate(float* y, const float* x, const float* taps, lanes init, int H, int W, int K) {
  int p = K / 2;
  for (int h = 0; h < H; h++) {
    int i0 = p - h > 0 ? p - h : 0, i1 = H + p - h < K ? H + p - h : K;
    for (int w = 0; w < W; w++) {
      int j0 = p - w > 0 ? p - w : 0, j1 = W + p - w < K ? W + p - w : K;
      lanes acc = init;
      for (int i = i0; i < i1; i++) {
        const float* xr = x + (int64_t)(h + i - p) * W * kLanes;
        const float* tr = taps + (int64_t)i * K * kLanes;
        for (int j = j0; j < j1; j++) acc += load(tr + j * kLanes) * load(xr + (w + j - p) * kLanes);
      }
      store(y + ((int64_t)h * W + w) * kLanes, acc);
    }
  }
}

// acc (K*K, 16) += sum over pixels of g[h, w] * x[h + i - p, w + j - p], tap by tap with four independent
// register sums (float per image; the caller adds each image's sums into double)
void chunk_weight_grad(float* acc, const float* g, const float* x, int H, int W, int K) {
  int p = K / 2;
  for (int i = 0; i < K; i++) {
    int h0 = p - i > 0 ? p - i : 0, h1 = H + p - i < H ? H + p - i : H;
    for (int j = 0; j < K; j++) {
      int w0 = p - j > 0 ? p - j : 0, w1 = W + p - j < W ? W + p - j : W;
      lanes s0 = {}, s1 = {}, s2 = {}, s3 = {};
      for (int h = h0; h < h1; h++) {
        const float* gr = g + (int64_t)h * W * kLanes;
        const float* xr = x + ((int64_t)(h + i - p) * W + (j - p)) * kLanes;
        int w = w0;
        for (; w + 4 <= w1; w += 4) {
          s0 += load(gr + w * kLanes) * load(xr + w * kLanes);
          s1 += load(gr + (w + 1) * kLanes) * load(xr + (w + 1) * kLanes);
          s2 += load(gr + (w + 2) * kLanes) * load(xr + (w + 2) * kLanes);
          s3 += load(gr + (w + 3) * kLanes) * load(xr + (w + 3) * kLanes);
        }
        for (; w < w1; w++) s0 += load(gr + w * kLanes) * load(xr + w * kLanes);
      }
      float* a = acc + (int64_t)(i * K + j) * kLanes;
      store(a, load(a) + ((s0 + s1) + (s2 + s3)));
    }
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

namespace {

// Runs fn(scratch, image, first channel, channels) over every (image, 16-channel chunk), in parallel, each
// thread with its own scratch of taps (K*K, 16) and two (HW, 16) planes from the workspace.
template <typename Fn>
int chunked(dusa_ctx* ctx, int B, int C, int64_t HW, int K, Fn fn) {
  int chunks = (C + kLanes - 1) / kLanes;
  int64_t items = (int64_t)B * chunks;
  int threads = (int)std::min<int64_t>(ctx->threads, items);
  int64_t per_thread = (int64_t)K * K * kLanes + 2 * HW * kLanes;
  float* scratch = dusa::workspace(ctx, (uint64_t)threads * per_thread);
  if (!scratch) return DUSA_ERR_OOM;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && (int64_t)B * C * HW * K * K > (1 << 16))
  for (int64_t item = 0; item < items; item++) {
    int c0 = (int)(item % chunks) * kLanes;
    fn(scratch + (int64_t)omp_get_thread_num() * per_thread, item / chunks, c0, std::min(kLanes, C - c0));
  }
  return DUSA_OK;
}

}  // namespace

extern "C" {

int dusa_dwconv2d_forward(dusa_ctx* ctx, float* out, const float* in, const float* weight, const float* bias, int B,
                          int C, int H, int W, int K) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_dwconv2d_forward(ctx, s.out(out, dusa::count(B, C, H, W)), s.in(in, dusa::count(B, C, H, W)), s.in(weight, dusa::count(C, K, K)), bias, B, C, H, W, K));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in); CHECK_PTR(weight);
  CHECK_DWCONV_SIZES();
  if (ctx->reference) {
    forward_reference(out, in, weight, bias, B, C, H, W, K);
    return DUSA_OK;
  }
  int64_t HW = (int64_t)H * W;
  return chunked(ctx, B, C, HW, K, [&](float* scratch, int64_t b, int c0, int n) {
    float* taps = scratch;
    float* x = taps + (int64_t)K * K * kLanes;
    float* y = x + HW * kLanes;
    gather_taps(taps, weight, K, c0, n, false);
    lanes init = {};
    for (int l = 0; l < n; l++) init[l] = bias ? bias[c0 + l] : 0.0f;
    gather_chunk(x, in + b * C * HW, HW, c0, n);
    chunk_correlate(y, x, taps, init, H, W, K);
    scatter_chunk(out + b * C * HW, y, HW, c0, n);
  });
  return DUSA_OK;
}

int dusa_dwconv2d_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout, const float* in,
                           const float* weight, int B, int C, int H, int W, int K) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_dwconv2d_backward(ctx, s.out(din, dusa::count(B, C, H, W)), dweight, dbias, s.in(dout, dusa::count(B, C, H, W)), s.in(in, dusa::count(B, C, H, W)), s.in(weight, dusa::count(C, K, K)), B, C, H, W, K));
  }
  DUSA_OP(ctx);
  CHECK_PTR(dout);
  CHECK_WEIGHTED_BACKWARD(din, dweight, in, weight);
  CHECK_DWCONV_SIZES();
  if (ctx->reference) {
    backward_reference(din, dweight, dbias, dout, in, weight, B, C, H, W, K);
    return DUSA_OK;
  }
  int64_t HW = (int64_t)H * W;
  if (din) {
    int status = chunked(ctx, B, C, HW, K, [&](float* scratch, int64_t b, int c0, int n) {
      float* taps = scratch;
      float* g = taps + (int64_t)K * K * kLanes;
      float* dx = g + HW * kLanes;
      gather_taps(taps, weight, K, c0, n, true);
      gather_chunk(g, dout + b * C * HW, HW, c0, n);
      chunk_correlate(dx, g, taps, lanes{}, H, W, K);
      scatter_chunk(din + b * C * HW, dx, HW, c0, n);
    });
    if (status != DUSA_OK) return status;
  }
  if (dweight || dbias) {
    // per chunk: the image's float sums (K*K, 16), double totals (K*K + 1, 16) with dbias last, g and x chunks
    int chunks = (C + kLanes - 1) / kLanes, threads = std::min(ctx->threads, chunks);
    int64_t taps = (int64_t)K * K * kLanes, per_thread = taps + 2 * (taps + kLanes) + 2 * HW * kLanes;
    float* scratch = dusa::workspace(ctx, (uint64_t)threads * per_thread);
    if (!scratch) return DUSA_ERR_OOM;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && (int64_t)B * C * HW * K * K > (1 << 16))
    for (int chunk = 0; chunk < chunks; chunk++) {
      float* mine = scratch + (int64_t)omp_get_thread_num() * per_thread;
      float* image_sums = mine;
      double* total = reinterpret_cast<double*>(image_sums + taps);
      float* g = mine + taps + 2 * (taps + kLanes);
      float* x = g + HW * kLanes;
      int c0 = chunk * kLanes, n = std::min(kLanes, C - c0);
      std::fill(total, total + taps + kLanes, 0.0);
      for (int b = 0; b < B; b++) {
        gather_chunk(g, dout + (int64_t)b * C * HW, HW, c0, n);
        if (dbias) {
          lanes s = {};
          for (int64_t q = 0; q < HW; q++) s += load(g + q * kLanes);
          for (int l = 0; l < kLanes; l++) total[taps + l] += s[l];
        }
        if (dweight) {
          gather_chunk(x, in + (int64_t)b * C * HW, HW, c0, n);
          std::fill(image_sums, image_sums + taps, 0.0f);
          chunk_weight_grad(image_sums, g, x, H, W, K);
          for (int64_t q = 0; q < taps; q++) total[q] += image_sums[q];
        }
      }
      for (int l = 0; l < n; l++) {
        if (dbias) dbias[c0 + l] += (float)total[taps + l];
        if (dweight)
          for (int q = 0; q < K * K; q++) dweight[(int64_t)(c0 + l) * K * K + q] += (float)total[(int64_t)q * kLanes + l];
      }
    }
  }
  return DUSA_OK;
}

}  // extern "C"
