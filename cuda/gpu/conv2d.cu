// conv2d.cu — dense 2D convolution over NCHW, forward and backward, as im2col + GEMM on the paths of gemm.cu.
//
// Per image b, with K = IC*KH*KW and P = OH*OW output pixels:
//   out_b (OC, P) = weight (OC, K) @ col_b (K, P) + bias
// Images go nb at a time through one strided-batched GEMM (weight shared at stride 0) with their columns side by side
// in the workspace; an image whose columns exceed the budget goes alone, a band of output rows at a time. A 1x1
// stride-1 unpadded conv is a batched GEMM on the input itself (col_b == in_b). Backward, per chunk of images/rows:
//   dweight (OC, K) += sum_b dout_b (OC, n) @ col_b^T (n, K): per-image products into the workspace, then summed in
//                      image order (deterministic); a lone image accumulates straight into dweight
//   dcol_b (K, n) = weight^T (K, OC) @ dout_b (OC, n), then col2im: each input pixel gathers its taps (no atomics)
//   dbias += per-channel sums of dout (channel_sum_add)
// Reference mode: direct loops, one thread per output value, double accumulators (the CPU backend's reference).
#include <algorithm>

#include "conv_shape.h"
#include "gemm.cuh"
#include "op_checks.h"

namespace {

// Columns plus dweight partials, in floats (60 MiB): with cuBLASLt's 4 MiB the workspace tag stays within 64 MiB.
constexpr int64_t kBudgetFloats = 15 << 20;

using Conv = dusa::ConvShape;

// ---------------------------------------------------------------------------------------------
// reference: direct loops, double accumulators

template <typename T>
__global__ void forward_ref_kernel(Conv c, T* out, const T* in, const T* w, const float* bias) {
  GRID_STRIDE(e, (uint64_t)c.B * c.OC * c.P()) {
    int ow = (int)(e % c.OW), oh = (int)(e / c.OW % c.OH), oc = (int)(e / c.P() % c.OC);
    int64_t b = (int64_t)(e / c.P() / c.OC);
    double acc = bias ? bias[oc] : 0.0;
    for (int ic = 0; ic < c.IC; ic++)
      for (int kh = 0; kh < c.KH; kh++)
        for (int kw = 0; kw < c.KW; kw++) {
          int ih = oh * c.sh - c.pt + kh, iw = ow * c.sw - c.pl + kw;
          if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
          acc += (double)(float)in[((b * c.IC + ic) * c.H + ih) * c.W + iw] *
                 (float)w[(((int64_t)oc * c.IC + ic) * c.KH + kh) * c.KW + kw];
        }
    out[e] = (T)(float)acc;
  }
}

template <typename T>
__global__ void din_ref_kernel(Conv c, T* din, const T* dout, const T* w) {
  GRID_STRIDE(e, (uint64_t)c.B * c.IC * c.H * c.W) {
    int iw = (int)(e % c.W), ih = (int)(e / c.W % c.H), ic = (int)(e / c.W / c.H % c.IC);
    int64_t b = (int64_t)(e / c.W / c.H / c.IC);
    double acc = 0.0;
    for (int oc = 0; oc < c.OC; oc++)
      for (int kh = 0; kh < c.KH; kh++)
        for (int kw = 0; kw < c.KW; kw++) {
          int th = ih + c.pt - kh, tw = iw + c.pl - kw;  // = oh*sh, ow*sw
          if (th < 0 || tw < 0 || th % c.sh || tw % c.sw) continue;
          int oh = th / c.sh, ow = tw / c.sw;
          if (oh >= c.OH || ow >= c.OW) continue;
          acc += (double)(float)dout[((b * c.OC + oc) * c.OH + oh) * c.OW + ow] *
                 (float)w[(((int64_t)oc * c.IC + ic) * c.KH + kh) * c.KW + kw];
        }
    din[e] = (T)(float)acc;
  }
}

template <typename T>
__global__ void dweight_ref_kernel(Conv c, float* dw, const T* dout, const T* in) {
  GRID_STRIDE(e, (uint64_t)c.OC * c.K()) {
    int kw = (int)(e % c.KW), kh = (int)(e / c.KW % c.KH), ic = (int)(e / c.KW / c.KH % c.IC);
    int oc = (int)(e / c.K());
    double acc = 0.0;
    for (int64_t b = 0; b < c.B; b++)
      for (int oh = 0; oh < c.OH; oh++)
        for (int ow = 0; ow < c.OW; ow++) {
          int ih = oh * c.sh - c.pt + kh, iw = ow * c.sw - c.pl + kw;
          if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
          acc += (double)(float)dout[((b * c.OC + oc) * c.OH + oh) * c.OW + ow] *
                 (float)in[((b * c.IC + ic) * c.H + ih) * c.W + iw];
        }
    dw[e] += (float)acc;
  }
}

template <typename T>
__global__ void dbias_ref_kernel(Conv c, float* db, const T* dout) {
  GRID_STRIDE(oc, (uint64_t)c.OC) {
    double acc = 0.0;
    for (int64_t b = 0; b < c.B; b++) {
      const T* g = dout + (b * c.OC + (int64_t)oc) * c.P();
      for (int64_t p = 0; p < c.P(); p++) acc += (float)g[p];
    }
    db[oc] += (float)acc;
  }
}

// ---------------------------------------------------------------------------------------------
// fast path

template <typename T>
__global__ void bias_fill_kernel(T* out, const float* bias, int OC, int64_t P, uint64_t total) {
  GRID_STRIDE(e, total) out[e] = (T)bias[e / P % OC];
}

// col (nb, K, rows*OW) for output rows [oh0, oh0 + rows) of the images x (nb, IC, H, W), zero where the taps read
// the padding
template <typename T>
__global__ void im2col_kernel(Conv c, const T* x, int oh0, int rows, int nb, T* col) {
  const int64_t n = (int64_t)rows * c.OW, K = c.K();
  GRID_STRIDE(e, (uint64_t)nb * K * n) {
    int64_t p = (int64_t)(e % n), r = (int64_t)(e / n % K), bi = (int64_t)(e / n / K);
    int oh = oh0 + (int)(p / c.OW), ow = (int)(p % c.OW);
    int ic = (int)(r / (c.KH * c.KW)), kh = (int)(r / c.KW % c.KH), kw = (int)(r % c.KW);
    int ih = oh * c.sh - c.pt + kh, iw = ow * c.sw - c.pl + kw;
    col[e] = (ih >= 0 && ih < c.H && iw >= 0 && iw < c.W) ? x[((bi * c.IC + ic) * c.H + ih) * c.W + iw] : (T)0.0f;
  }
}

// dx (nb, IC, H, W) from dcol (nb, K, rows*OW) of output rows [oh0, oh0 + rows): every input pixel of rows [ih0, ih1)
// sums the column entries of the taps that read it. Overwrites, or adds when the band is part of a larger image.
template <typename T>
__global__ void col2im_kernel(Conv c, const float* dcol, int oh0, int rows, int nb, int ih0, int ih1, bool accumulate,
                              T* dx) {
  const int64_t n = (int64_t)rows * c.OW, K = c.K();
  const int span = ih1 - ih0;
  GRID_STRIDE(e, (uint64_t)nb * c.IC * span * c.W) {
    int iw = (int)(e % c.W), ih = ih0 + (int)(e / c.W % span), ic = (int)(e / c.W / span % c.IC);
    int64_t bi = (int64_t)(e / c.W / span / c.IC);
    const float* d = dcol + bi * K * n;
    float acc = 0.0f;
    for (int kh = 0; kh < c.KH; kh++) {
      int th = ih + c.pt - kh;  // = oh*sh
      if (th < 0 || th % c.sh) continue;
      int oh = th / c.sh;
      if (oh < oh0 || oh >= oh0 + rows) continue;
      for (int kw = 0; kw < c.KW; kw++) {
        int tw = iw + c.pl - kw;  // = ow*sw
        if (tw < 0 || tw % c.sw) continue;
        int ow = tw / c.sw;
        if (ow >= c.OW) continue;
        acc += d[(((int64_t)ic * c.KH + kh) * c.KW + kw) * n + (int64_t)(oh - oh0) * c.OW + ow];
      }
    }
    T* dst = dx + ((bi * c.IC + ic) * c.H + ih) * c.W + iw;
    *dst = (T)(accumulate ? (float)*dst + acc : acc);
  }
}

// dst[e] += sum_i part[i*len + e], the images i in order
__global__ void sum_images_kernel(float* dst, const float* part, int nb, int64_t len) {
  GRID_STRIDE(e, (uint64_t)len) {
    float s = 0.0f;
    for (int i = 0; i < nb; i++) s += part[i * len + (int64_t)e];
    dst[e] += s;
  }
}

// nb images per GEMM, or one image (nb = 1) in bands of `band` output rows, so that the columns of a chunk plus
// `extra` floats per image (the dweight partials, needed only when nb > 1) fit the budget. A band is at least a row.
struct Plan {
  int nb, band;
};
Plan plan(const Conv& c, int64_t extra) {
  int64_t per_image = c.K() * c.P() + extra;
  if (per_image <= kBudgetFloats) return {(int)std::min<int64_t>(c.B, kBudgetFloats / per_image), c.OH};
  int64_t rows = kBudgetFloats / std::max<int64_t>(1, c.K() * c.OW);
  return {1, (int)std::max<int64_t>(1, std::min<int64_t>(rows, c.OH))};
}

// dweight (OC, K) += sum_{i < nb} g_i (OC, n; row stride P, image stride OC*P) @ col_i^T (n, K; image stride cs).
// More than one image: the products go to part (nb, OC, K) and are then summed in image order.
// g and col hold the storage type (st); dweight and part are fp32.
int weight_grad(dusa_ctx* ctx, const Conv& c, float* dweight, const float* g, const float* col, int64_t cs, int nb,
                int n, float* part, const char* op, int st) {
  const int K = (int)c.K(), P = (int)c.P(), OC = c.OC;
  if (nb == 1)
    return dusa::gemm(ctx, false, true, OC, K, n, 1.0f, g, P, col, n, 1.0f, dweight, K, 1, 0, 0, 0, op, nullptr, st,
                      DUSA_DTYPE_F32);
  if (int s = dusa::gemm(ctx, false, true, OC, K, n, 1.0f, g, P, col, n, 0.0f, part, K, nb, (int64_t)OC * P, cs,
                         (int64_t)OC * K, op, nullptr, st, DUSA_DTYPE_F32))
    return s;
  sum_images_kernel<<<dusa::capped_blocks((uint64_t)OC * K, 256), 256, 0, ctx->stream>>>(dweight, part, nb,
                                                                                          (int64_t)OC * K);
  CHECK_LAUNCH_OP(op);
  return DUSA_OK;
}

// channel sums: block (c, s) sums split s of the B*HW values of channel c
constexpr int kSumThreads = 256;
constexpr int64_t kValuesPerSplit = 16384;
constexpr int kMaxSplits = 64;

__device__ double block_sum(double v) {  // the block's total, in thread 0 (blockDim.x == kSumThreads)
  __shared__ double warp_sum[kSumThreads / 32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  if (threadIdx.x % 32 == 0) warp_sum[threadIdx.x / 32] = v;
  __syncthreads();
  double s = 0.0;
  if (threadIdx.x == 0)
    for (int w = 0; w < kSumThreads / 32; w++) s += warp_sum[w];
  return s;
}

template <typename T>
__global__ void channel_sum_kernel(float* dst, double* partial, const T* src, int C, int64_t HW, int64_t total,
                                   int64_t chunk) {
  const int c = blockIdx.x, s = blockIdx.y;
  const int64_t e1 = (s + 1) * chunk < total ? (s + 1) * chunk : total;
  double acc = 0.0;
  for (int64_t e = s * chunk + threadIdx.x; e < e1; e += kSumThreads) acc += (float)src[(e / HW * C + c) * HW + e % HW];
  acc = block_sum(acc);
  if (threadIdx.x != 0) return;
  if (partial) partial[(int64_t)c * gridDim.y + s] = acc;
  else dst[c] += (float)acc;
}

__global__ void channel_finish_kernel(float* dst, const double* partial, int C, int splits) {
  GRID_STRIDE(c, (uint64_t)C) {
    double s = 0.0;
    for (int p = 0; p < splits; p++) s += partial[(int64_t)c * splits + p];
    dst[c] += (float)s;
  }
}

}  // namespace

namespace dusa {

int channel_sum_add(dusa_ctx* ctx, float* dst, const float* src, int B, int C, int64_t HW, const char* op, int src_dtype) {
  if (B <= 0 || C <= 0 || HW <= 0) return DUSA_OK;
  // the split depends only on the sizes: the same sums, rounded the same, on every device and run
  const int64_t total = (int64_t)B * HW;
  const int splits = (int)std::min<int64_t>(kMaxSplits, (total + kValuesPerSplit - 1) / kValuesPerSplit);
  const int64_t chunk = (total + splits - 1) / splits;
  double* partial = nullptr;
  if (splits > 1) {
    float* ws = workspace(ctx, (uint64_t)C * splits * 2);
    if (!ws) return DUSA_ERR_OOM;
    partial = reinterpret_cast<double*>(ws);  // a cudaMalloc block: 256-byte aligned
  }
  const dim3 grid((unsigned)C, (unsigned)splits);
  if (src_dtype == DUSA_DTYPE_BF16)
    channel_sum_kernel<<<grid, kSumThreads, 0, ctx->stream>>>(dst, partial, reinterpret_cast<const __nv_bfloat16*>(src),
                                                               C, HW, total, chunk);
  else
    channel_sum_kernel<<<grid, kSumThreads, 0, ctx->stream>>>(dst, partial, src, C, HW, total, chunk);
  CHECK_LAUNCH_OP(op);
  if (partial) {
    channel_finish_kernel<<<capped_blocks(C, 256), 256, 0, ctx->stream>>>(dst, partial, C, splits);
    CHECK_LAUNCH_OP(op);
  }
  return DUSA_OK;
}

}  // namespace dusa

namespace {

// The element type T of the activations and weights (float, or bf16 in bf16 storage); the columns of the forward and
// of the weight gradient hold T, the input-gradient columns fp32 (one rounding, in col2im). In bf16 the forward
// rounds twice: the bias into out, then the GEMM's sum onto it.
template <typename T>
int conv_forward(dusa_ctx* ctx, const Conv& c, T* out, const T* in, const T* weight, const float* bias, const char* fn) {
  const int B = c.B, IC = c.IC, H = c.H, W = c.W, OC = c.OC;
  const int64_t K = c.K(), P = c.P();
  const int st = ctx->storage;
  auto f = [](const T* p) { return reinterpret_cast<const float*>(p); };
  if (ctx->reference) {
    forward_ref_kernel<<<dusa::capped_blocks((uint64_t)B * OC * P, 256), 256, 0, ctx->stream>>>(c, out, in, weight, bias);
    CHECK_LAUNCH_OP(fn);
    return DUSA_OK;
  }
  float beta = 0.0f;
  if (bias) {  // the GEMMs add onto the bias (beta = 1)
    bias_fill_kernel<<<dusa::capped_blocks((uint64_t)B * OC * P, 256), 256, 0, ctx->stream>>>(out, bias, OC, P,
                                                                                                 (uint64_t)B * OC * P);
    CHECK_LAUNCH_OP(fn);
    beta = 1.0f;
  }
  if (c.pointwise())  // out_b (OC, P) = weight (OC, IC) @ in_b (IC, P), every image in one batched GEMM
    return dusa::gemm(ctx, false, false, OC, (int)P, IC, 1.0f, f(weight), IC, f(in), (int)P, beta, (float*)out, (int)P,
                      B, 0, (int64_t)IC * P, (int64_t)OC * P, fn, nullptr, st, st);
  const Plan plan_ = plan(c, 0);
  const uint64_t col_elems = (uint64_t)plan_.nb * K * plan_.band * c.OW;
  T* col = reinterpret_cast<T*>(dusa::workspace(ctx, (col_elems * sizeof(T) + 3) / 4));
  if (!col) return DUSA_ERR_OOM;
  for (int b0 = 0; b0 < B; b0 += plan_.nb) {
    const int nb = std::min(plan_.nb, B - b0);
    for (int oh0 = 0; oh0 < c.OH; oh0 += plan_.band) {
      const int rows = std::min(plan_.band, c.OH - oh0), n = rows * c.OW;
      im2col_kernel<<<dusa::capped_blocks((uint64_t)nb * K * n, 256), 256, 0, ctx->stream>>>(
          c, in + (int64_t)b0 * IC * H * W, oh0, rows, nb, col);
      CHECK_LAUNCH_OP(fn);
      // out_b (OC, n) at row stride P = weight (OC, K) @ col_b (K, n)
      if (int s = dusa::gemm(ctx, false, false, OC, n, (int)K, 1.0f, f(weight), (int)K, f(col), n, beta,
                             (float*)(out + (int64_t)b0 * OC * P + (int64_t)oh0 * c.OW), (int)P, nb, 0, K * n,
                             (int64_t)OC * P, fn, nullptr, st, st))
        return s;
    }
  }
  return DUSA_OK;
}

template <typename T>
int conv_backward(dusa_ctx* ctx, const Conv& c, T* din, float* dweight, float* dbias, const T* dout, const T* in,
                  const T* weight, const char* fn) {
  const int B = c.B, IC = c.IC, H = c.H, W = c.W, OC = c.OC, KH = c.KH;
  const int64_t K = c.K(), P = c.P();
  const int st = ctx->storage;
  auto f = [](const T* p) { return reinterpret_cast<const float*>(p); };
  if (ctx->reference) {
    if (din) {
      din_ref_kernel<<<dusa::capped_blocks((uint64_t)B * IC * H * W, 256), 256, 0, ctx->stream>>>(c, din, dout, weight);
      CHECK_LAUNCH_OP(fn);
    }
    if (dweight) {
      dweight_ref_kernel<<<dusa::capped_blocks((uint64_t)OC * K, 256), 256, 0, ctx->stream>>>(c, dweight, dout, in);
      CHECK_LAUNCH_OP(fn);
    }
    if (dbias) {
      dbias_ref_kernel<<<dusa::capped_blocks(OC, 256), 256, 0, ctx->stream>>>(c, dbias, dout);
      CHECK_LAUNCH_OP(fn);
    }
    return DUSA_OK;
  }
  if (dbias)  // first: it may grow the workspace, which the columns below then hold
    if (int s = dusa::channel_sum_add(ctx, dbias, f(dout), B, OC, P, fn, st)) return s;
  if (!din && !dweight) return DUSA_OK;

  if (c.pointwise()) {
    // dx_b (IC, P) = weight^T (IC, OC) @ g_b (OC, P), every image in one batched GEMM
    if (din)
      if (int s = dusa::gemm(ctx, true, false, IC, (int)P, OC, 1.0f, f(weight), IC, f(dout), (int)P, 0.0f, (float*)din,
                             (int)P, B, 0, (int64_t)OC * P, (int64_t)IC * P, fn, nullptr, st, st))
        return s;
    if (!dweight) return DUSA_OK;
    // dweight (OC, IC) += sum_b g_b (OC, P) @ x_b^T (P, IC), nb images at a time
    const int nb_max = (int)std::min<int64_t>(B, std::max<int64_t>(1, kBudgetFloats / (OC * K)));
    float* part = nullptr;
    if (nb_max > 1 && !(part = dusa::workspace(ctx, (uint64_t)nb_max * OC * K))) return DUSA_ERR_OOM;
    for (int b0 = 0; b0 < B; b0 += nb_max)
      if (int s = weight_grad(ctx, c, dweight, f(dout + (int64_t)b0 * OC * P), f(in + (int64_t)b0 * IC * P),
                              (int64_t)IC * P, std::min(nb_max, B - b0), (int)P, part, fn, st))
        return s;
    return DUSA_OK;
  }

  // workspace: the columns (T) for the weight gradient, the input-gradient columns (fp32) in the same place, then
  // the per-image dweight partials
  const Plan plan_ = plan(c, dweight ? OC * K : 0);
  const bool partials = dweight && plan_.nb > 1, banded = plan_.band < c.OH;
  const uint64_t col_floats = (uint64_t)plan_.nb * K * plan_.band * c.OW;
  float* ws = dusa::workspace(ctx, col_floats + (partials ? (uint64_t)plan_.nb * OC * K : 0));
  if (!ws) return DUSA_ERR_OOM;
  T* col = reinterpret_cast<T*>(ws);
  float* dcol = ws;
  float* part = partials ? ws + col_floats : nullptr;
  for (int b0 = 0; b0 < B; b0 += plan_.nb) {
    const int nb = std::min(plan_.nb, B - b0);
    T* dx = din ? din + (int64_t)b0 * IC * H * W : nullptr;
    if (dx && banded) {
      cudaError_t err = cudaMemsetAsync(dx, 0, sizeof(T) * nb * IC * H * W, ctx->stream);
      if (err != cudaSuccess) return dusa::cuda_fail(err, fn, "cudaMemsetAsync (din)");
    }
    for (int oh0 = 0; oh0 < c.OH; oh0 += plan_.band) {
      const int rows = std::min(plan_.band, c.OH - oh0), n = rows * c.OW;
      const T* g = dout + (int64_t)b0 * OC * P + (int64_t)oh0 * c.OW;  // (OC, n) at row stride P per image
      if (dweight) {
        im2col_kernel<<<dusa::capped_blocks((uint64_t)nb * K * n, 256), 256, 0, ctx->stream>>>(
            c, in + (int64_t)b0 * IC * H * W, oh0, rows, nb, col);
        CHECK_LAUNCH_OP(fn);
        if (int s = weight_grad(ctx, c, dweight, f(g), f(col), K * n, nb, n, part, fn, st)) return s;
      }
      if (dx) {
        // dcol_b (K, n) = weight^T (K, OC) @ g_b (OC, n) in fp32, into the columns' place (the stream orders the reuse)
        if (int s = dusa::gemm(ctx, true, false, (int)K, n, OC, 1.0f, f(weight), (int)K, f(g), (int)P, 0.0f, dcol, n,
                               nb, 0, (int64_t)OC * P, K * n, fn, nullptr, st, DUSA_DTYPE_F32))
          return s;
        // the input rows this band's taps read (all of them, and overwritten, when the image is one band)
        int ih0 = banded ? std::max(0, oh0 * c.sh - c.pt) : 0;
        int ih1 = banded ? std::min(H, (oh0 + rows - 1) * c.sh - c.pt + KH) : H;
        if (ih1 > ih0) {
          col2im_kernel<<<dusa::capped_blocks((uint64_t)nb * IC * (ih1 - ih0) * W, 256), 256, 0, ctx->stream>>>(
              c, dcol, oh0, rows, nb, ih0, ih1, banded, dx);
          CHECK_LAUNCH_OP(fn);
        }
      }
    }
  }
  return DUSA_OK;
}

}  // namespace

extern "C" {

int dusa_conv2d_forward(dusa_ctx* ctx, float* out, const float* in, const float* weight, const float* bias, int B,
                        int IC, int H, int W, int OC, int KH, int KW, int stride_h, int stride_w, int pad_top,
                        int pad_bottom, int pad_left, int pad_right) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in); CHECK_PTR(weight);
  Conv c{B, IC, H, W, OC, KH, KW, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, 0, 0};
  if (int s = dusa::conv_shape(__func__, &c)) return s;
  return dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    return conv_forward<T>(ctx, c, dusa::act<T>(out), dusa::act<T>(in), dusa::act<T>(weight), bias, "dusa_conv2d_forward");
  });
}

int dusa_conv2d_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout, const float* in,
                         const float* weight, int B, int IC, int H, int W, int OC, int KH, int KW, int stride_h,
                         int stride_w, int pad_top, int pad_bottom, int pad_left, int pad_right) {
  DUSA_OP(ctx);
  CHECK_PTR(dout);
  CHECK_WEIGHTED_BACKWARD(din, dweight, in, weight);
  Conv c{B, IC, H, W, OC, KH, KW, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, 0, 0};
  if (int s = dusa::conv_shape(__func__, &c)) return s;
  return dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    return conv_backward<T>(ctx, c, dusa::act<T>(din), dweight, dbias, dusa::act<T>(dout), dusa::act<T>(in),
                            dusa::act<T>(weight), "dusa_conv2d_backward");
  });
}

}  // extern "C"
