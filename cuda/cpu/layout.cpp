// layout.cpp — data-movement ops over NCHW images: NCHW <-> NHWC, patchify / unpatchify (ViT / DiT tokens),
// global average pool, nearest 2x upsample, bilinear resize (align_corners=True) and zero padding.
// Each is a plain loop (already the simplest form, so reference mode takes the same path); every backward is
// the adjoint map and overwrites its input gradient.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu.h"
#include "storage.h"
#include "op_checks.h"

namespace {

constexpr int64_t PARALLEL_MIN = 1 << 15;
constexpr int TILE = 32;

// per image: dst (cols, rows) = src (rows, cols)^T, in TILE x TILE blocks
void transpose_images(dusa_ctx* ctx, float* dst, const float* src, int B, int rows, int cols) {
  int tr = (rows + TILE - 1) / TILE, tc = (cols + TILE - 1) / TILE;
  int64_t plane = (int64_t)rows * cols;
#pragma omp parallel for collapse(2) num_threads(ctx->threads) schedule(static) if (B * plane > PARALLEL_MIN)
  for (int b = 0; b < B; b++)
    for (int t = 0; t < tr; t++) {
      const float* s = src + b * plane;
      float* d = dst + b * plane;
      int r0 = t * TILE, r1 = std::min(rows, r0 + TILE);
      for (int u = 0; u < tc; u++) {
        int c0 = u * TILE, c1 = std::min(cols, c0 + TILE);
        for (int r = r0; r < r1; r++)
          for (int c = c0; c < c1; c++) d[(int64_t)c * rows + r] = s[(int64_t)r * cols + c];
      }
    }
}

// Copies between an image (B, C, H, W) and its tokens (B, (H/P)(W/P), C*P*P), features in (c, ph, pw) order when
// c_first (patchify) else (ph, pw, c) order (unpatchify). to_tokens: dst is the tokens, src the image.
void patch_copy(dusa_ctx* ctx, float* dst, const float* src, int B, int C, int H, int W, int P, bool c_first,
                bool to_tokens) {
  int Hp = H / P, Wp = W / P;
  int64_t F = (int64_t)C * P * P;
#pragma omp parallel for collapse(2) num_threads(ctx->threads) schedule(static) if ((int64_t)B * C * H * W > PARALLEL_MIN)
  for (int b = 0; b < B; b++)
    for (int hp = 0; hp < Hp; hp++)
      for (int wp = 0; wp < Wp; wp++) {
        int64_t tok = (((int64_t)b * Hp + hp) * Wp + wp) * F;
        for (int c = 0; c < C; c++)
          for (int ph = 0; ph < P; ph++)
            for (int pw = 0; pw < P; pw++) {
              int64_t f = c_first ? ((int64_t)c * P + ph) * P + pw : ((int64_t)ph * P + pw) * C + c;
              int64_t pix = (((int64_t)b * C + c) * H + (int64_t)hp * P + ph) * W + (int64_t)wp * P + pw;
              if (to_tokens) dst[tok + f] = src[pix];
              else dst[pix] = src[tok + f];
            }
      }
}

// torch's align_corners=True source coordinate and its neighbours (UpSampleKernel's linear indices, in float)
struct Lerp {
  int i0, i1;
  float l0, l1;
};
inline Lerp lerp_at(int out_index, int in_size, int out_size) {
  float scale = out_size > 1 ? (float)(in_size - 1) / (float)(out_size - 1) : 0.0f;
  float real = scale * (float)out_index;
  int i0 = std::min((int)std::floor(real), in_size - 1);
  float l1 = std::min(std::max(real - (float)i0, 0.0f), 1.0f);
  return {i0, i0 < in_size - 1 ? i0 + 1 : i0, 1.0f - l1, l1};
}

}  // namespace

extern "C" {

int dusa_nchw_to_nhwc(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_nchw_to_nhwc(ctx, s.out(out, dusa::count(B, C, H, W)), s.in(in, dusa::count(B, C, H, W)), B, C, H, W));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_BCHW();
  transpose_images(ctx, out, in, B, C, H * W);  // (C, HW) -> (HW, C)
  return DUSA_OK;
}

int dusa_nhwc_to_nchw(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_nhwc_to_nchw(ctx, s.out(out, dusa::count(B, C, H, W)), s.in(in, dusa::count(B, C, H, W)), B, C, H, W));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_BCHW();
  transpose_images(ctx, out, in, B, H * W, C);  // (HW, C) -> (C, HW)
  return DUSA_OK;
}

int dusa_patchify_forward(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W, int P) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_patchify_forward(ctx, s.out(out, P > 0 ? dusa::count(B, C, H / P * P, W / P * P) : 0), s.in(in, P > 0 ? dusa::count(B, C, H / P * P, W / P * P) : 0), B, C, H, W, P));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_PATCH();
  patch_copy(ctx, out, in, B, C, H, W, P, true, true);
  return DUSA_OK;
}

int dusa_patchify_backward(dusa_ctx* ctx, float* din, const float* dout, int B, int C, int H, int W, int P) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_patchify_backward(ctx, s.out(din, P > 0 ? dusa::count(B, C, H / P * P, W / P * P) : 0), s.in(dout, P > 0 ? dusa::count(B, C, H / P * P, W / P * P) : 0), B, C, H, W, P));
  }
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout);
  CHECK_PATCH();
  patch_copy(ctx, din, dout, B, C, H, W, P, true, false);
  return DUSA_OK;
}

int dusa_unpatchify_forward(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W, int P) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_unpatchify_forward(ctx, s.out(out, P > 0 ? dusa::count(B, C, H / P * P, W / P * P) : 0), s.in(in, P > 0 ? dusa::count(B, C, H / P * P, W / P * P) : 0), B, C, H, W, P));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_PATCH();
  patch_copy(ctx, out, in, B, C, H, W, P, false, false);
  return DUSA_OK;
}

int dusa_unpatchify_backward(dusa_ctx* ctx, float* din, const float* dout, int B, int C, int H, int W, int P) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_unpatchify_backward(ctx, s.out(din, P > 0 ? dusa::count(B, C, H / P * P, W / P * P) : 0), s.in(dout, P > 0 ? dusa::count(B, C, H / P * P, W / P * P) : 0), B, C, H, W, P));
  }
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout);
  CHECK_PATCH();
  patch_copy(ctx, din, dout, B, C, H, W, P, false, true);
  return DUSA_OK;
}

// (B, C, HW) -> (B, C)
int dusa_avgpool_forward(dusa_ctx* ctx, float* out, const float* in, int B, int C, int HW) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_avgpool_forward(ctx, s.out(out, dusa::count(B, C)), s.in(in, dusa::count(B, C, HW)), B, C, HW));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(HW);
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)B * C * HW > PARALLEL_MIN)
  for (int64_t bc = 0; bc < (int64_t)B * C; bc++) {
    const float* x = in + bc * HW;
    double sum = 0.0;
    for (int p = 0; p < HW; p++) sum += x[p];
    out[bc] = (float)(sum / HW);
  }
  return DUSA_OK;
}

int dusa_avgpool_backward(dusa_ctx* ctx, float* din, const float* dout, int B, int C, int HW) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_avgpool_backward(ctx, s.out(din, dusa::count(B, C, HW)), s.in(dout, dusa::count(B, C)), B, C, HW));
  }
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout);
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(HW);
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if ((int64_t)B * C * HW > PARALLEL_MIN)
  for (int64_t bc = 0; bc < (int64_t)B * C; bc++) {
    float v = dout[bc] / (float)HW;
    float* dx = din + bc * HW;
    for (int p = 0; p < HW; p++) dx[p] = v;
  }
  return DUSA_OK;
}

// (B, C, H, W) -> (B, C, 2H, 2W), out[2h + i, 2w + j] = in[h, w]
int dusa_upsample2x_forward(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_upsample2x_forward(ctx, s.out(out, 4 * dusa::count(B, C, H, W)), s.in(in, dusa::count(B, C, H, W)), B, C, H, W));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_BCHW();
  int64_t rows = (int64_t)B * C * H;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (rows * W > PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const float* x = in + r * W;
    float* y0 = out + 2 * r * (2 * (int64_t)W);  // output rows 2h and 2h + 1 of the same plane
    float* y1 = y0 + 2 * (int64_t)W;
    for (int w = 0; w < W; w++) y0[2 * w] = y0[2 * w + 1] = x[w];
    std::memcpy(y1, y0, sizeof(float) * 2 * W);
  }
  return DUSA_OK;
}

int dusa_upsample2x_backward(dusa_ctx* ctx, float* din, const float* dout, int B, int C, int H, int W) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_upsample2x_backward(ctx, s.out(din, dusa::count(B, C, H, W)), s.in(dout, 4 * dusa::count(B, C, H, W)), B, C, H, W));
  }
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout);
  CHECK_BCHW();
  int64_t rows = (int64_t)B * C * H;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (rows * W > PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const float* g0 = dout + 2 * r * (2 * (int64_t)W);
    const float* g1 = g0 + 2 * (int64_t)W;
    float* dx = din + r * W;
    // summed in double and rounded once, so the result is within an ulp of the exact sum even when it cancels
    for (int w = 0; w < W; w++) dx[w] = (float)(((double)g0[2 * w] + g0[2 * w + 1]) + ((double)g1[2 * w] + g1[2 * w + 1]));
  }
  return DUSA_OK;
}

// (B, C, H, W) -> (B, C, OH, OW), like torch F.interpolate(mode="bilinear", align_corners=True)
int dusa_resize_bilinear(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W, int OH, int OW) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_resize_bilinear(ctx, s.out(out, dusa::count(B, C, OH, OW)), s.in(in, dusa::count(B, C, H, W)), B, C, H, W, OH, OW));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_BCHW(); CHECK_POS(OH); CHECK_POS(OW);
  int64_t planes = (int64_t)B * C;
#pragma omp parallel for collapse(2) num_threads(ctx->threads) schedule(static) if (planes * OH * OW > PARALLEL_MIN)
  for (int64_t bc = 0; bc < planes; bc++)
    for (int oh = 0; oh < OH; oh++) {
      const float* x = in + bc * H * W;
      float* y = out + (bc * OH + oh) * OW;
      Lerp lh = lerp_at(oh, H, OH);
      const float* r0 = x + (int64_t)lh.i0 * W;
      const float* r1 = x + (int64_t)lh.i1 * W;
      for (int ow = 0; ow < OW; ow++) {
        Lerp lw = lerp_at(ow, W, OW);
        y[ow] = lh.l0 * (lw.l0 * r0[lw.i0] + lw.l1 * r0[lw.i1]) + lh.l1 * (lw.l0 * r1[lw.i0] + lw.l1 * r1[lw.i1]);
      }
    }
  return DUSA_OK;
}

// (B, C, H, W) -> (B, C, H + top + bottom, W + left + right), zeros around
int dusa_pad2d_forward(dusa_ctx* ctx, float* out, const float* in, int B, int C, int H, int W, int top, int bottom,
                       int left, int right) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_pad2d_forward(ctx, s.out(out, dusa::count(B, C, H + top + bottom, W + left + right)), s.in(in, dusa::count(B, C, H, W)), B, C, H, W, top, bottom, left, right));
  }
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  CHECK_BCHW(); CHECK_NONNEG(top); CHECK_NONNEG(bottom); CHECK_NONNEG(left); CHECK_NONNEG(right);
  int OH = H + top + bottom, OW = W + left + right;
  int64_t rows = (int64_t)B * C * OH;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (rows * OW > PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    int64_t bc = r / OH;
    int h = (int)(r % OH) - top;
    float* y = out + r * OW;
    if (h < 0 || h >= H) {
      std::memset(y, 0, sizeof(float) * OW);
      continue;
    }
    std::memset(y, 0, sizeof(float) * left);
    std::memcpy(y + left, in + (bc * H + h) * W, sizeof(float) * W);
    std::memset(y + left + W, 0, sizeof(float) * right);
  }
  return DUSA_OK;
}

int dusa_pad2d_backward(dusa_ctx* ctx, float* din, const float* dout, int B, int C, int H, int W, int top, int bottom,
                        int left, int right) {
  if (dusa::stores_bf16(ctx)) {
    dusa::Bf16Staging s(ctx);
    return s.finish(dusa_pad2d_backward(ctx, s.out(din, dusa::count(B, C, H, W)), s.in(dout, dusa::count(B, C, H + top + bottom, W + left + right)), B, C, H, W, top, bottom, left, right));
  }
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout);
  CHECK_BCHW(); CHECK_NONNEG(top); CHECK_NONNEG(bottom); CHECK_NONNEG(left); CHECK_NONNEG(right);
  int OH = H + top + bottom, OW = W + left + right;
  int64_t rows = (int64_t)B * C * H;
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (rows * W > PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    int64_t bc = r / H;
    int h = (int)(r % H);
    std::memcpy(din + r * W, dout + (bc * OH + h + top) * OW + left, sizeof(float) * W);
  }
  return DUSA_OK;
}

}  // extern "C"
