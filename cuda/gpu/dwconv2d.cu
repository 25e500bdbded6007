// dwconv2d.cu — depthwise 2D convolution over NCHW: stride 1, square odd kernel K, "same" padding K/2
// (ConvNeXt's 7x7 token mixer). weight (C, 1, K, K), bias (C) or NULL.
//
//   out[b,c,h,w] = bias[c] + sum_{i,j} weight[c,i,j] * in[b,c, h+i-K/2, w+j-K/2]   (zero outside the image)
//
// Fast path: a block stages an output tile of 1..32 planes (b, c) with its halo in shared memory (small planes share
// a block, so 7x7 maps still fill it) and each thread computes one output. din is the same correlation of dout with
// the kernel flipped. dweight/dbias (K = 3, 5, 7): a block per (channel, slice of the batch) walks the same tiles,
// each thread accumulating the K*K taps in registers; the block reduces them and the slices are summed in order,
// so the result does not depend on scheduling (no atomics). Reference mode: direct loops, double accumulators.
#include <algorithm>

#include "gemm.cuh"
#include "op_checks.h"

namespace {

constexpr int kThreads = 256;
constexpr size_t kMaxSmem = 48 << 10;

// Output tile tw x th of each of pb planes, one thread per output: tw * th * pb == kThreads.
struct Tile {
  int tw, th, pb;
};
Tile tile_for(int H, int W) {
  int tw = W > 16 ? 32 : W > 8 ? 16 : 8;
  int th = kThreads / tw;
  while (th > 1 && th / 2 >= H) th /= 2;
  return {tw, th, kThreads / (tw * th)};
}
size_t halo_floats(Tile t, int K) { return (size_t)t.pb * (t.th + K - 1) * (t.tw + K - 1); }

// ---------------------------------------------------------------------------------------------
// reference: direct loops with bounds checks, double accumulators, written as the CPU reference writes them

// forward: out = bias + sum k[i,j] x[h+i-p, w+j-p]; backward: out = sum k[i,j] x[h-i+p, w-j+p] (x = dout, out = din)
template <typename T>
__global__ void correlate_ref_kernel(T* out, const T* x, const T* weight, const float* bias, bool backward,
                                     int B, int C, int H, int W, int K) {
  const int p = K / 2;
  const int64_t HW = (int64_t)H * W;
  GRID_STRIDE(e, (uint64_t)B * C * HW) {
    int w = (int)(e % W), h = (int)(e / W % H);
    int64_t plane = (int64_t)(e / HW);
    int c = (int)(plane % C);
    const T* xp = x + plane * HW;
    const T* k = weight + (int64_t)c * K * K;
    double acc = backward || !bias ? 0.0 : (double)bias[c];
    for (int i = 0; i < K; i++)
      for (int j = 0; j < K; j++) {
        int hh = backward ? h - i + p : h + i - p, ww = backward ? w - j + p : w + j - p;
        if (hh >= 0 && hh < H && ww >= 0 && ww < W) acc += (double)(float)k[i * K + j] * (float)xp[(int64_t)hh * W + ww];
      }
    out[e] = (T)(float)acc;
  }
}

// one thread per (channel, tap q < K*K) and per channel's bias (q == K*K), summing over the batch and the image
template <typename T>
__global__ void param_ref_kernel(float* dweight, float* dbias, const T* dout, const T* x, int B, int C, int H,
                                 int W, int K) {
  const int p = K / 2, KK = K * K;
  const int64_t HW = (int64_t)H * W;
  GRID_STRIDE(e, (uint64_t)C * (KK + 1)) {
    int c = (int)(e / (KK + 1)), q = (int)(e % (KK + 1)), i = q / K, j = q % K;
    if (q < KK ? !dweight : !dbias) continue;
    double acc = 0.0;
    for (int64_t b = 0; b < B; b++) {
      const T* g = dout + (b * C + c) * HW;
      const T* xp = x ? x + (b * C + c) * HW : nullptr;
      for (int h = 0; h < H; h++)
        for (int w = 0; w < W; w++) {
          if (q == KK) {
            acc += (float)g[(int64_t)h * W + w];
            continue;
          }
          int hh = h + i - p, ww = w + j - p;
          if (hh >= 0 && hh < H && ww >= 0 && ww < W)
            acc += (double)(float)g[(int64_t)h * W + w] * (float)xp[(int64_t)hh * W + ww];
        }
    }
    if (q < KK) dweight[(int64_t)c * KK + q] += (float)acc;
    else dbias[c] += (float)acc;
  }
}

// ---------------------------------------------------------------------------------------------
// fast path

// out = init + sum k'[i,j] x[h+i-p, w+j-p] over planes (b, c); k' = k, or k flipped in both axes when flip (din).
// Block (x, y): spatial tile x of the planes y*pb .. y*pb+pb-1 (then every gridDim.y*pb further). KT: K when fixed.
template <int KT, typename T>
__global__ void __launch_bounds__(kThreads)
    correlate_kernel(T* out, const T* x, const T* weight, const float* bias, bool flip, int64_t planes,
                     int C, int H, int W, int k_runtime, Tile t) {
  const int K = KT > 0 ? KT : k_runtime, KK = K * K, p = K / 2;
  const int sw = t.tw + K - 1, tile = (t.th + K - 1) * sw;
  extern __shared__ float smem[];
  float* xs = smem;                // pb halo tiles (th+K-1, tw+K-1)
  float* ks = smem + t.pb * tile;  // pb kernels (K, K)
  const int tiles_w = (W + t.tw - 1) / t.tw;
  const int h0 = blockIdx.x / tiles_w * t.th, w0 = blockIdx.x % tiles_w * t.tw;
  const int tid = threadIdx.x, pl = tid / (t.tw * t.th), ty = tid / t.tw % t.th, tx = tid % t.tw;
  const int64_t HW = (int64_t)H * W;
  for (int64_t plane0 = (int64_t)blockIdx.y * t.pb; plane0 < planes; plane0 += (int64_t)gridDim.y * t.pb) {
    for (int i = tid; i < t.pb * tile; i += kThreads) {
      int64_t plane = plane0 + i / tile;
      int r = i % tile, gh = h0 + r / sw - p, gw = w0 + r % sw - p;
      xs[i] = plane < planes && gh >= 0 && gh < H && gw >= 0 && gw < W ? (float)x[plane * HW + (int64_t)gh * W + gw] : 0.0f;
    }
    for (int i = tid; i < t.pb * KK; i += kThreads) {
      int64_t plane = plane0 + i / KK;
      int q = i % KK;
      ks[i] = plane < planes ? (float)weight[plane % C * KK + (flip ? KK - 1 - q : q)] : 0.0f;
    }
    __syncthreads();
    const int64_t plane = plane0 + pl;
    const int h = h0 + ty, w = w0 + tx;
    if (plane < planes && h < H && w < W) {
      const float* xt = xs + pl * tile + ty * sw + tx;
      const float* kt = ks + pl * KK;
      float acc = bias ? bias[plane % C] : 0.0f;
#pragma unroll
      for (int i = 0; i < K; i++)
#pragma unroll
        for (int j = 0; j < K; j++) acc = fmaf(kt[i * K + j], xt[i * sw + j], acc);
      out[plane * HW + (int64_t)h * W + w] = (T)acc;
    }
    __syncthreads();  // the tiles are refilled for the next planes
  }
}

// Block (c, s): channel c over the images [B*s/splits, B*(s+1)/splits), every spatial tile, pb images at a time.
// Writes partial[(c*splits + s)*(K*K + 1) + q]: q < K*K the taps sum_{b,h,w} dout[h,w] x[h+i-p, w+j-p], q = K*K the
// bias sum_{b,h,w} dout.
template <int K, typename T>
__global__ void __launch_bounds__(kThreads)
    param_grad_kernel(double* partial, const T* dout, const T* x, int B, int C, int H, int W, Tile t,
                      int splits) {
  constexpr int KK = K * K, p = K / 2;
  extern __shared__ float xs[];  // pb halo tiles of the input
  __shared__ float warp_part[kThreads / 32][KK + 1];
  const int sw = t.tw + K - 1, tile = (t.th + K - 1) * sw;
  const int c = blockIdx.x, s = blockIdx.y;
  const int b_lo = (int)((int64_t)B * s / splits), b_hi = (int)((int64_t)B * (s + 1) / splits);
  const int tid = threadIdx.x, pl = tid / (t.tw * t.th), ty = tid / t.tw % t.th, tx = tid % t.tw;
  const int tiles_w = (W + t.tw - 1) / t.tw, tiles = tiles_w * ((H + t.th - 1) / t.th);
  const int64_t HW = (int64_t)H * W;
  float acc[KK + 1];
#pragma unroll
  for (int q = 0; q <= KK; q++) acc[q] = 0.0f;
  for (int b0 = b_lo; b0 < b_hi; b0 += t.pb)
    for (int tt = 0; tt < tiles; tt++) {
      const int h0 = tt / tiles_w * t.th, w0 = tt % tiles_w * t.tw;
      for (int i = tid; i < t.pb * tile; i += kThreads) {
        int b = b0 + i / tile, r = i % tile, gh = h0 + r / sw - p, gw = w0 + r % sw - p;
        xs[i] = b < b_hi && gh >= 0 && gh < H && gw >= 0 && gw < W
                    ? (float)x[((int64_t)b * C + c) * HW + (int64_t)gh * W + gw]
                    : 0.0f;
      }
      __syncthreads();
      const int b = b0 + pl, h = h0 + ty, w = w0 + tx;
      const float g = b < b_hi && h < H && w < W ? (float)dout[((int64_t)b * C + c) * HW + (int64_t)h * W + w] : 0.0f;
      const float* xt = xs + pl * tile + ty * sw + tx;
#pragma unroll
      for (int i = 0; i < K; i++)
#pragma unroll
        for (int j = 0; j < K; j++) acc[i * K + j] = fmaf(g, xt[i * sw + j], acc[i * K + j]);
      acc[KK] += g;
      __syncthreads();
    }
  // reduce over the block: each warp by shuffles, then the warps in order
  const int lane = tid % 32, warp = tid / 32;
#pragma unroll
  for (int q = 0; q <= KK; q++) {
    float v = acc[q];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (lane == 0) warp_part[warp][q] = v;
  }
  __syncthreads();
  for (int q = tid; q <= KK; q += kThreads) {
    double sum = 0.0;
    for (int w = 0; w < kThreads / 32; w++) sum += warp_part[w][q];
    partial[((int64_t)c * splits + s) * (KK + 1) + q] = sum;
  }
}

// dweight[c, q] += sum over the slices (in order) of partial; dbias[c] likewise from q = K*K; either may be null
__global__ void param_finish_kernel(float* dweight, float* dbias, const double* partial, int C, int KK, int splits) {
  GRID_STRIDE(e, (uint64_t)C * (KK + 1)) {
    int64_t c = (int64_t)(e / (KK + 1));
    int q = (int)(e % (KK + 1));
    if (q < KK ? !dweight : !dbias) continue;
    double s = 0.0;
    for (int sp = 0; sp < splits; sp++) s += partial[(c * splits + sp) * (KK + 1) + q];
    if (q < KK) dweight[c * KK + q] += (float)s;
    else dbias[c] += (float)s;
  }
}

// out = correlation of x with each channel's kernel (flipped when flip) plus bias, through the tiled kernel
template <typename T>
int correlate(dusa_ctx* ctx, T* out, const T* x, const T* weight, const float* bias, bool flip, int B, int C,
              int H, int W, int K, const char* op) {
  const Tile t = tile_for(H, W);
  const size_t smem = (halo_floats(t, K) + (size_t)t.pb * K * K) * sizeof(float);
  const int64_t planes = (int64_t)B * C;
  if (smem > kMaxSmem) {  // a kernel too large to stage: the direct loops
    correlate_ref_kernel<<<dusa::capped_blocks((uint64_t)planes * H * W, kThreads), kThreads, 0, ctx->stream>>>(
        out, x, weight, bias, flip, B, C, H, W, K);
    CHECK_LAUNCH_OP(op);
    return DUSA_OK;
  }
  const int tiles = ((H + t.th - 1) / t.th) * ((W + t.tw - 1) / t.tw);
  const dim3 grid((unsigned)tiles, (unsigned)std::min<int64_t>((planes + t.pb - 1) / t.pb, 65535));
#define CORRELATE(KT)                                                         \
  correlate_kernel<KT><<<grid, kThreads, smem, ctx->stream>>>(out, x, weight, bias, flip, planes, C, H, W, K, t)
  switch (K) {
    case 3: CORRELATE(3); break;
    case 5: CORRELATE(5); break;
    case 7: CORRELATE(7); break;
    default: CORRELATE(0); break;
  }
#undef CORRELATE
  CHECK_LAUNCH_OP(op);
  return DUSA_OK;
}

// dweight (and dbias, when not null) for K = 3, 5, 7 through the tiled reduction
template <typename T>
int param_grad(dusa_ctx* ctx, float* dweight, float* dbias, const T* dout, const T* x, int B, int C, int H,
               int W, int K, const char* op) {
  const Tile t = tile_for(H, W);
  const int KK = K * K;
  // slices of the batch per channel: about 1024 blocks in all; depends only on the sizes (same sums everywhere)
  const int splits = (int)std::min<int64_t>(B, std::max<int64_t>(1, (1024 + C - 1) / C));
  float* ws = dusa::workspace(ctx, (uint64_t)C * splits * (KK + 1) * 2);
  if (!ws) return DUSA_ERR_OOM;
  double* partial = reinterpret_cast<double*>(ws);  // a cudaMalloc block: 256-byte aligned
  const size_t smem = halo_floats(t, K) * sizeof(float);
  const dim3 grid((unsigned)C, (unsigned)splits);
  switch (K) {
    case 3: param_grad_kernel<3><<<grid, kThreads, smem, ctx->stream>>>(partial, dout, x, B, C, H, W, t, splits); break;
    case 5: param_grad_kernel<5><<<grid, kThreads, smem, ctx->stream>>>(partial, dout, x, B, C, H, W, t, splits); break;
    default: param_grad_kernel<7><<<grid, kThreads, smem, ctx->stream>>>(partial, dout, x, B, C, H, W, t, splits); break;
  }
  CHECK_LAUNCH_OP(op);
  param_finish_kernel<<<dusa::capped_blocks((uint64_t)C * (KK + 1), kThreads), kThreads, 0, ctx->stream>>>(
      dweight, dbias, partial, C, KK, splits);
  CHECK_LAUNCH_OP(op);
  return DUSA_OK;
}

template <typename T>
int dwconv_forward(dusa_ctx* ctx, T* out, const T* in, const T* weight, const float* bias, int B, int C, int H, int W,
                   int K, const char* fn) {
  if (ctx->reference) {
    correlate_ref_kernel<<<dusa::capped_blocks((uint64_t)B * C * H * W, kThreads), kThreads, 0, ctx->stream>>>(
        out, in, weight, bias, false, B, C, H, W, K);
    CHECK_LAUNCH_OP(fn);
    return DUSA_OK;
  }
  return correlate(ctx, out, in, weight, bias, false, B, C, H, W, K, fn);
}

template <typename T>
int dwconv_backward(dusa_ctx* ctx, T* din, float* dweight, float* dbias, const T* dout, const T* in, const T* weight,
                    int B, int C, int H, int W, int K, const char* fn) {
  const bool fixed_k = K == 3 || K == 5 || K == 7;
  if (ctx->reference || (dweight && !fixed_k)) {
    if (ctx->reference && din) {
      correlate_ref_kernel<<<dusa::capped_blocks((uint64_t)B * C * H * W, kThreads), kThreads, 0, ctx->stream>>>(
          din, dout, weight, nullptr, true, B, C, H, W, K);
      CHECK_LAUNCH_OP(fn);
    }
    if (dweight || dbias) {
      param_ref_kernel<<<dusa::capped_blocks((uint64_t)C * (K * K + 1), kThreads), kThreads, 0, ctx->stream>>>(
          dweight, dbias, dout, in, B, C, H, W, K);
      CHECK_LAUNCH_OP(fn);
    }
    if (ctx->reference) return DUSA_OK;
    dbias = nullptr;  // done above, with dweight
  }
  if (din)
    if (int s = correlate(ctx, din, dout, weight, (const float*)nullptr, true, B, C, H, W, K, fn)) return s;
  if (dweight && fixed_k) return param_grad(ctx, dweight, dbias, dout, in, B, C, H, W, K, fn);
  if (dbias && !dweight)
    return dusa::channel_sum_add(ctx, dbias, reinterpret_cast<const float*>(dout), B, C, (int64_t)H * W, fn,
                                 ctx->storage);
  return DUSA_OK;
}

}  // namespace

extern "C" {

int dusa_dwconv2d_forward(dusa_ctx* ctx, float* out, const float* in, const float* weight, const float* bias, int B,
                          int C, int H, int W, int K) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in); CHECK_PTR(weight);
  CHECK_DWCONV_SIZES();
  return dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    return dwconv_forward<T>(ctx, dusa::act<T>(out), dusa::act<T>(in), dusa::act<T>(weight), bias, B, C, H, W, K,
                             "dusa_dwconv2d_forward");
  });
}

int dusa_dwconv2d_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout, const float* in,
                           const float* weight, int B, int C, int H, int W, int K) {
  DUSA_OP(ctx);
  CHECK_PTR(dout);
  CHECK_WEIGHTED_BACKWARD(din, dweight, in, weight);
  CHECK_DWCONV_SIZES();
  return dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    return dwconv_backward<T>(ctx, dusa::act<T>(din), dweight, dbias, dusa::act<T>(dout), dusa::act<T>(in),
                              dusa::act<T>(weight), B, C, H, W, K, "dusa_dwconv2d_backward");
  });
}

}  // extern "C"
