// layout.cu — data-movement ops over NCHW images: NCHW <-> NHWC, patchify / unpatchify (ViT / DiT tokens),
// global average pool, nearest 2x upsample, bilinear resize (align_corners=True) and zero padding.
// NCHW <-> NHWC is a 32 x 32 shared-memory tiled transpose per image; the rest are grid-stride kernels with one
// thread per output element (coalesced writes). Every backward is the adjoint map and overwrites its input grad.
// Sums (avgpool, upsample backward) are in double as in cuda/cpu/layout.cpp; resize's source coordinates are the
// CPU's float arithmetic.
#include "block_reduce.cuh"
#include "gpu.cuh"
#include "op_checks.h"

namespace {

constexpr int THREADS = 256;
constexpr int TILE = 32, TILE_Y = 8;

inline unsigned grid_for(int64_t n) { return dusa::capped_blocks((uint64_t)n, THREADS); }

// per image: dst (cols, rows) = src (rows, cols)^T; block (TILE, TILE_Y) per tile, tiles flattened over (b, tr, tc)
template <class T>
__global__ void transpose_kernel(T* dst, const T* src, int64_t B, int rows, int cols) {
  __shared__ T tile[TILE][TILE + 1];
  int64_t tr = (rows + TILE - 1) / TILE, tc = (cols + TILE - 1) / TILE, total = B * tr * tc;
  int64_t plane = (int64_t)rows * cols;
  for (int64_t t = blockIdx.x; t < total; t += gridDim.x) {
    int64_t u = t % tc, rest = t / tc;
    int64_t v = rest % tr, b = rest / tr;
    int r0 = (int)(v * TILE), c0 = (int)(u * TILE);
    const T* s = src + b * plane;
    T* d = dst + b * plane;
    for (int j = threadIdx.y; j < TILE; j += TILE_Y) {
      int r = r0 + j, c = c0 + threadIdx.x;
      if (r < rows && c < cols) tile[j][threadIdx.x] = s[(int64_t)r * cols + c];
    }
    __syncthreads();
    for (int j = threadIdx.y; j < TILE; j += TILE_Y) {
      int c = c0 + j, r = r0 + threadIdx.x;
      if (c < cols && r < rows) d[(int64_t)c * rows + r] = tile[threadIdx.x][j];
    }
    __syncthreads();
  }
}

// launch only: the caller's CHECK_LAUNCH() reads the launch status
template <class T>
void transpose_images(dusa_ctx* ctx, T* dst, const T* src, int B, int rows, int cols) {
  uint64_t tiles = (uint64_t)B * ((rows + TILE - 1) / TILE) * ((cols + TILE - 1) / TILE);
  unsigned grid = (unsigned)(tiles < 65535 * 8 ? tiles : 65535 * 8);
  transpose_kernel<<<grid, dim3(TILE, TILE_Y), 0, ctx->stream>>>(dst, src, B, rows, cols);
}

// Image (B, C, H, W) <-> tokens (B, (H/P)(W/P), C*P*P), features in (c, ph, pw) order when c_first (patchify)
// else (ph, pw, c) (unpatchify).
struct PatchGeometry {
  int C, H, W, P;
  __device__ int64_t feature(int c, int ph, int pw, bool c_first) const {
    return c_first ? ((int64_t)c * P + ph) * P + pw : ((int64_t)ph * P + pw) * C + c;
  }
};

// one thread per token element: tokens[i] = image[pixel of i]
template <bool c_first, class T>
__global__ void image_to_tokens_kernel(T* tokens, const T* image, int64_t total, PatchGeometry g) {
  int Hp = g.H / g.P, Wp = g.W / g.P;
  int64_t F = (int64_t)g.C * g.P * g.P;
  GRID_STRIDE(i, total) {
    int64_t f = i % F, tok = i / F;
    int wp = (int)(tok % Wp);
    int64_t t2 = tok / Wp;
    int hp = (int)(t2 % Hp);
    int64_t b = t2 / Hp;
    int c, ph, pw;
    if (c_first) {
      c = (int)(f / (g.P * g.P));
      ph = (int)((f / g.P) % g.P);
      pw = (int)(f % g.P);
    } else {
      c = (int)(f % g.C);
      int64_t pp = f / g.C;
      ph = (int)(pp / g.P);
      pw = (int)(pp % g.P);
    }
    int64_t pix = ((b * g.C + c) * g.H + (int64_t)hp * g.P + ph) * g.W + (int64_t)wp * g.P + pw;
    tokens[i] = image[pix];
  }
}

// one thread per pixel: image[i] = tokens[element of i]
template <bool c_first, class T>
__global__ void tokens_to_image_kernel(T* image, const T* tokens, int64_t total, PatchGeometry g) {
  int Hp = g.H / g.P, Wp = g.W / g.P;
  int64_t F = (int64_t)g.C * g.P * g.P;
  GRID_STRIDE(i, total) {
    int w = (int)(i % g.W);
    int64_t t = i / g.W;
    int h = (int)(t % g.H);
    int64_t t2 = t / g.H;
    int c = (int)(t2 % g.C);
    int64_t b = t2 / g.C;
    int64_t tok = (b * Hp + h / g.P) * Wp + w / g.P;
    image[i] = tokens[tok * F + g.feature(c, h % g.P, w % g.P, c_first)];
  }
}

// one warp per (b, c) plane: out = sum / HW in double
template <class T>
__global__ void avgpool_forward_kernel(T* out, const T* in, int64_t planes, int HW) {
  int lane = threadIdx.x & 31;
  int64_t first = blockIdx.x * (int64_t)(blockDim.x / 32) + threadIdx.x / 32;
  int64_t step = (int64_t)gridDim.x * (blockDim.x / 32);
  for (int64_t bc = first; bc < planes; bc += step) {
    const T* x = in + bc * HW;
    double sum = 0.0;
    for (int p = lane; p < HW; p += 32) sum += (float)x[p];
    sum = dusa::warp_total(sum);
    if (lane == 0) out[bc] = (T)(float)(sum / HW);
  }
}

template <class T>
__global__ void avgpool_backward_kernel(T* din, const T* dout, int64_t total, int HW) {
  GRID_STRIDE(i, total) din[i] = (T)((float)dout[i / HW] / (float)HW);
}

// out (B, C, 2H, 2W)[oh, ow] = in[oh / 2, ow / 2]
template <class T>
__global__ void upsample2x_forward_kernel(T* out, const T* in, int64_t total, int H, int W) {
  int64_t OW = 2 * (int64_t)W, OH = 2 * (int64_t)H;
  GRID_STRIDE(i, total) {
    int64_t ow = i % OW, t = i / OW;
    int64_t oh = t % OH, bc = t / OH;
    out[i] = in[(bc * H + oh / 2) * W + ow / 2];
  }
}

// din[h, w] = sum of the 2x2 block of dout, in double in the CPU's order, rounded once
template <class T>
__global__ void upsample2x_backward_kernel(T* din, const T* dout, int64_t total, int W) {
  GRID_STRIDE(i, total) {
    int64_t w = i % W, r = i / W;  // r = bc*H + h
    const T* g0 = dout + 2 * r * (2 * (int64_t)W);
    const T* g1 = g0 + 2 * (int64_t)W;
    din[i] = (T)(float)(((double)(float)g0[2 * w] + (float)g0[2 * w + 1]) +
                        ((double)(float)g1[2 * w] + (float)g1[2 * w + 1]));
  }
}

// torch's align_corners=True source coordinate and its neighbours, in float exactly as the CPU's lerp_at
struct Lerp {
  int i0, i1;
  float l0, l1;
};
__device__ inline Lerp lerp_at(int out_index, int in_size, int out_size) {
  float scale = out_size > 1 ? (float)(in_size - 1) / (float)(out_size - 1) : 0.0f;
  float real = scale * (float)out_index;
  int i0 = min((int)floorf(real), in_size - 1);
  float l1 = fminf(fmaxf(real - (float)i0, 0.0f), 1.0f);
  return {i0, i0 < in_size - 1 ? i0 + 1 : i0, 1.0f - l1, l1};
}

template <class T>
__global__ void resize_bilinear_kernel(T* out, const T* in, int64_t total, int H, int W, int OH, int OW) {
  GRID_STRIDE(i, total) {
    int ow = (int)(i % OW);
    int64_t t = i / OW;
    int oh = (int)(t % OH);
    int64_t bc = t / OH;
    Lerp lh = lerp_at(oh, H, OH), lw = lerp_at(ow, W, OW);
    const T* r0 = in + (bc * H + lh.i0) * W;
    const T* r1 = in + (bc * H + lh.i1) * W;
    out[i] = (T)(lh.l0 * (lw.l0 * (float)r0[lw.i0] + lw.l1 * (float)r0[lw.i1]) +
                 lh.l1 * (lw.l0 * (float)r1[lw.i0] + lw.l1 * (float)r1[lw.i1]));
  }
}

template <class T>
__global__ void pad2d_forward_kernel(T* out, const T* in, int64_t total, int H, int W, int64_t OH, int64_t OW, int top,
                                     int left) {
  GRID_STRIDE(i, total) {
    int64_t ow = i % OW, t = i / OW;
    int64_t oh = t % OH, bc = t / OH;
    int64_t h = oh - top, w = ow - left;
    out[i] = h >= 0 && h < H && w >= 0 && w < W ? in[(bc * H + h) * W + w] : (T)0.0f;
  }
}

template <class T>
__global__ void pad2d_backward_kernel(T* din, const T* dout, int64_t total, int H, int W, int64_t OH, int64_t OW,
                                      int top, int left) {
  GRID_STRIDE(i, total) {
    int64_t w = i % W, t = i / W;
    int64_t h = t % H, bc = t / H;
    din[i] = dout[(bc * OH + h + top) * OW + w + left];
  }
}

}  // namespace

extern "C" {

int dusa_nchw_to_nhwc(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_BCHW();
  transpose_images(ctx, out, in, B, C, H * W);  // (C, HW) -> (HW, C)
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_nhwc_to_nchw(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_BCHW();
  transpose_images(ctx, out, in, B, H * W, C);  // (HW, C) -> (C, HW)
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_patchify_forward(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W, int P) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_PATCH();
  int64_t total = (int64_t)B * C * H * W;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    image_to_tokens_kernel<true><<<grid_for(total), THREADS, 0, ctx->stream>>>(dusa::act<S>(out), dusa::act<S>(in), total, PatchGeometry{C, H, W, P});
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_patchify_backward(dusa_ctx* ctx, float* din, const float* dout, int B, int C, int H, int W, int P) {
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout);
  CHECK_PATCH();
  int64_t total = (int64_t)B * C * H * W;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    tokens_to_image_kernel<true><<<grid_for(total), THREADS, 0, ctx->stream>>>(dusa::act<S>(din), dusa::act<S>(dout), total, PatchGeometry{C, H, W, P});
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_unpatchify_forward(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W, int P) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_PATCH();
  int64_t total = (int64_t)B * C * H * W;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    tokens_to_image_kernel<false><<<grid_for(total), THREADS, 0, ctx->stream>>>(dusa::act<S>(out), dusa::act<S>(in), total, PatchGeometry{C, H, W, P});
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_unpatchify_backward(dusa_ctx* ctx, float* din, const float* dout, int B, int C, int H, int W, int P) {
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout);
  CHECK_PATCH();
  int64_t total = (int64_t)B * C * H * W;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    image_to_tokens_kernel<false><<<grid_for(total), THREADS, 0, ctx->stream>>>(dusa::act<S>(din), dusa::act<S>(dout), total, PatchGeometry{C, H, W, P});
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_avgpool_forward(dusa_ctx* ctx, float* out, const float* in, int B, int C, int HW) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(HW);
  int64_t planes = (int64_t)B * C;
  uint64_t blocks = (planes + THREADS / 32 - 1) / (THREADS / 32);
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    avgpool_forward_kernel<<<(unsigned)(blocks < 65535 * 8 ? blocks : 65535 * 8), THREADS, 0, ctx->stream>>>(dusa::act<S>(out), dusa::act<S>(in), planes, HW);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_avgpool_backward(dusa_ctx* ctx, float* din, const float* dout, int B, int C, int HW) {
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout);
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(HW);
  int64_t total = (int64_t)B * C * HW;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    avgpool_backward_kernel<<<grid_for(total), THREADS, 0, ctx->stream>>>(dusa::act<S>(din), dusa::act<S>(dout), total, HW);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_upsample2x_forward(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_BCHW();
  int64_t total = (int64_t)B * C * 4 * H * W;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    upsample2x_forward_kernel<<<grid_for(total), THREADS, 0, ctx->stream>>>(dusa::act<S>(out), dusa::act<S>(in), total, H, W);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_upsample2x_backward(dusa_ctx* ctx, float* din, const float* dout, int B, int C, int H, int W) {
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout);
  CHECK_BCHW();
  int64_t total = (int64_t)B * C * H * W;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    upsample2x_backward_kernel<<<grid_for(total), THREADS, 0, ctx->stream>>>(dusa::act<S>(din), dusa::act<S>(dout), total, W);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_resize_bilinear(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W, int OH, int OW) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_BCHW(); CHECK_POS(OH); CHECK_POS(OW);
  int64_t total = (int64_t)B * C * OH * OW;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    resize_bilinear_kernel<<<grid_for(total), THREADS, 0, ctx->stream>>>(dusa::act<S>(out), dusa::act<S>(in), total, H, W, OH, OW);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_pad2d_forward(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W, int top, int bottom,
                       int left, int right) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_BCHW(); CHECK_NONNEG(top); CHECK_NONNEG(bottom); CHECK_NONNEG(left); CHECK_NONNEG(right);
  int64_t OH = (int64_t)H + top + bottom, OW = (int64_t)W + left + right;
  int64_t total = (int64_t)B * C * OH * OW;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    pad2d_forward_kernel<<<grid_for(total), THREADS, 0, ctx->stream>>>(dusa::act<S>(out), dusa::act<S>(in), total, H, W, OH, OW, top, left);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_pad2d_backward(dusa_ctx* ctx, float* din, const float* dout, int B, int C, int H, int W, int top, int bottom,
                        int left, int right) {
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout);
  CHECK_BCHW(); CHECK_NONNEG(top); CHECK_NONNEG(bottom); CHECK_NONNEG(left); CHECK_NONNEG(right);
  int64_t OH = (int64_t)H + top + bottom, OW = (int64_t)W + left + right;
  int64_t total = (int64_t)B * C * H * W;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    pad2d_backward_kernel<<<grid_for(total), THREADS, 0, ctx->stream>>>(dusa::act<S>(din), dusa::act<S>(dout), total, H, W, OH, OW, top, left);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

}  // extern "C"
