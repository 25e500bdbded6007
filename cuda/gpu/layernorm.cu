// layernorm.cu — LayerNorm over the last dim, LayerNorm fused with adaLN modulate, and LayerNorm2d over the
// channels of NCHW. The same numerics as cuda/cpu/layernorm.cpp: statistics two-pass in double, the normalised
// value and the output in float; parameter grads through deterministic two-pass column / plane sums (no atomics).
//
// Rows (LayerNorm, modulate): one warp per row when C <= 1024, else one 256-thread block per row.
// LayerNorm2d: a 32 x 8 block owns 32 consecutive pixels (coalesced over HW); its 8 thread rows split the C
// channels and their sums are combined in shared memory in a fixed order.
#include "block_reduce.cuh"
#include "gpu.cuh"

namespace {

constexpr int ROW_BLOCK = 256;      // threads per block of the row kernels
constexpr int WARP_ROW_MAX_C = 1024;  // largest C normalised by one warp
constexpr int LN2D_Y = 8;           // channel lanes of the LayerNorm2d kernels

// The rows a thread works on: a warp per row (ROW_THREADS == 32) or a block per row.
template <int ROW_THREADS>
struct RowIter {
  int64_t first, step;
  int lane;
  __device__ RowIter() {
    if (ROW_THREADS == 32) {
      first = blockIdx.x * (int64_t)(blockDim.x / 32) + threadIdx.x / 32;
      step = (int64_t)gridDim.x * (blockDim.x / 32);
      lane = threadIdx.x & 31;
    } else {
      first = blockIdx.x;
      step = gridDim.x;
      lane = threadIdx.x;
    }
  }
};

inline unsigned row_grid(int64_t rows, int C) {
  uint64_t blocks = C <= WARP_ROW_MAX_C ? (rows + ROW_BLOCK / 32 - 1) / (ROW_BLOCK / 32) : rows;
  return (unsigned)(blocks < 65535 * 8 ? blocks : 65535 * 8);
}

// Forward over rows of C. Affine (weight/bias, either may be null) when scale is null; else adaLN modulate with
// shift/scale rows of batch row / T at stride mod_stride.
template <int ROW_THREADS, class T>
__global__ void layernorm_forward_kernel(T* out, float* mean, float* rstd, const T* in, const float* weight,
                                         const float* bias, const T* shift, const T* scale, int64_t rows,
                                         int C, int64_t T_rows, int mod_stride, float eps) {
  __shared__ double shared[32];
  RowIter<ROW_THREADS> it;
  for (int64_t row = it.first; row < rows; row += it.step) {
    const T* x = in + row * C;
    T* y = out + row * C;
    double sum = 0.0;
    for (int c = it.lane; c < C; c += ROW_THREADS) sum += (float)x[c];
    double m = dusa::row_total<ROW_THREADS>(sum, shared) / C;
    double var = 0.0;
    for (int c = it.lane; c < C; c += ROW_THREADS) {
      double d = (double)(float)x[c] - m;
      var += d * d;
    }
    var = dusa::row_total<ROW_THREADS>(var, shared);
    float mf = (float)m, rf = (float)(1.0 / sqrt(var / C + (double)eps));
    if (it.lane == 0) {
      mean[row] = mf;
      rstd[row] = rf;
    }
    if (scale) {
      int64_t b = row / T_rows;
      const T* sh = shift + b * mod_stride;
      const T* sc = scale + b * mod_stride;
      for (int c = it.lane; c < C; c += ROW_THREADS)
        y[c] = (T)(((float)x[c] - mf) * rf * (1.0f + (float)sc[c]) + (float)sh[c]);
    } else {
      for (int c = it.lane; c < C; c += ROW_THREADS) {
        float v = ((float)x[c] - mf) * rf;
        if (weight) v *= weight[c];
        if (bias) v += bias[c];
        y[c] = (T)v;
      }
    }
  }
}

// din of rows (overwrite). dxhat = dout * weight (or dout when weight is null), or dout * (1 + scale[b]) when
// scale is given (modulate).
template <int ROW_THREADS, class T>
__global__ void layernorm_backward_kernel(T* din, const T* dout, const T* in, const float* weight, const T* scale,
                                          const float* mean, const float* rstd, int64_t rows, int C, int64_t T_rows,
                                          int mod_stride) {
  __shared__ double shared[32];
  RowIter<ROW_THREADS> it;
  for (int64_t row = it.first; row < rows; row += it.step) {
    const T* g = dout + row * C;
    const T* x = in + row * C;
    const T* sc = scale ? scale + (row / T_rows) * mod_stride : nullptr;
    auto grad_xhat = [&](int c) {
      float d = (float)g[c];
      return sc ? d * (1.0f + (float)sc[c]) : weight ? d * weight[c] : d;
    };
    float m = mean[row], r = rstd[row];
    double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
    for (int c = it.lane; c < C; c += ROW_THREADS) {
      float dxhat = grad_xhat(c);
      float xhat = ((float)x[c] - m) * r;
      sum_dxhat += dxhat;
      sum_dxhat_xhat += (double)dxhat * xhat;
    }
    sum_dxhat = dusa::row_total<ROW_THREADS>(sum_dxhat, shared);
    sum_dxhat_xhat = dusa::row_total<ROW_THREADS>(sum_dxhat_xhat, shared);
    float a = (float)(sum_dxhat / C), b = (float)(sum_dxhat_xhat / C);
    for (int c = it.lane; c < C; c += ROW_THREADS) {
      float dxhat = grad_xhat(c);
      float xhat = ((float)x[c] - m) * r;
      din[row * C + c] = (T)((dxhat - a - xhat * b) * r);
    }
  }
}

template <class T>
void launch_rows_forward(dusa_ctx* ctx, T* out, float* mean, float* rstd, const T* in, const float* weight,
                         const float* bias, const T* shift, const T* scale, int64_t rows, int C, int64_t T_rows,
                         int mod_stride, float eps) {
  unsigned grid = row_grid(rows, C);
  if (C <= WARP_ROW_MAX_C)
    layernorm_forward_kernel<32, T><<<grid, ROW_BLOCK, 0, ctx->stream>>>(out, mean, rstd, in, weight, bias, shift, scale,
                                                                       rows, C, T_rows, mod_stride, eps);
  else
    layernorm_forward_kernel<ROW_BLOCK, T><<<grid, ROW_BLOCK, 0, ctx->stream>>>(out, mean, rstd, in, weight, bias, shift,
                                                                              scale, rows, C, T_rows, mod_stride, eps);
}

template <class T>
void launch_rows_backward(dusa_ctx* ctx, T* din, const T* dout, const T* in, const float* weight, const T* scale,
                          const float* mean, const float* rstd, int64_t rows, int C, int64_t T_rows, int mod_stride) {
  unsigned grid = row_grid(rows, C);
  if (C <= WARP_ROW_MAX_C)
    layernorm_backward_kernel<32, T><<<grid, ROW_BLOCK, 0, ctx->stream>>>(din, dout, in, weight, scale, mean, rstd, rows,
                                                                        C, T_rows, mod_stride);
  else
    layernorm_backward_kernel<ROW_BLOCK, T><<<grid, ROW_BLOCK, 0, ctx->stream>>>(din, dout, in, weight, scale, mean, rstd,
                                                                               rows, C, T_rows, mod_stride);
}

// Column-sum terms of the parameter grads: [0] dout * xhat (float product, as the CPU), [1] dout.
template <class T>
struct AffineGradTerms {
  const T* dout;
  const T* in;
  const float* mean;
  const float* rstd;
  int C;
  __device__ void operator()(int64_t row, int c, double* acc) const {
    float g = (float)dout[row * C + c];
    acc[0] += g * (((float)in[row * C + c] - mean[row]) * rstd[row]);
    acc[1] += g;
  }
};

// LayerNorm: dweight[c] += sum, dbias[c] += sum (either may be null).
struct AccumulateParams {
  float* dweight;
  float* dbias;
  __device__ void operator()(int64_t, int c, const double* sums) const {
    if (dweight) dweight[c] += (float)sums[0];
    if (dbias) dbias[c] += (float)sums[1];
  }
};

// Modulate: dscale[b, c] = sum, dshift[b, c] = sum at row stride mod_stride (overwrite; either may be null).
template <class T>
struct WriteModulationGrads {
  T* dshift;
  T* dscale;
  int mod_stride;
  __device__ void operator()(int64_t b, int c, const double* sums) const {
    if (dscale) dscale[b * mod_stride + c] = (T)(float)sums[0];
    if (dshift) dshift[b * mod_stride + c] = (T)(float)sums[1];
  }
};

// ---------------------------------------------------------------------------------------------
// LayerNorm2d over (B, C, HW): pixel = b*HW + p; thread (x, y) of a block works on pixel tile*32 + x, channels
// y, y + LN2D_Y, ...

// Sums s[y][x] over y in order into every thread's slot-x result; all threads of the block call it.
__device__ inline double ln2d_column_total(double v, double (*s)[33]) {
  s[threadIdx.y][threadIdx.x] = v;
  __syncthreads();
  double total = 0.0;
  for (int j = 0; j < LN2D_Y; j++) total += s[j][threadIdx.x];
  __syncthreads();
  return total;
}

template <class T>
__global__ void layernorm2d_forward_kernel(T* out, float* mean, float* rstd, const T* in, const float* weight,
                                           const float* bias, int64_t pixels, int C, int HW, float eps) {
  __shared__ double s[LN2D_Y][33];
  int64_t tiles = (pixels + 31) / 32;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    int64_t pix = tile * 32 + threadIdx.x;
    bool valid = pix < pixels;
    int64_t b = valid ? pix / HW : 0, p = valid ? pix % HW : 0;
    int64_t base = b * C * HW + p;
    double sum = 0.0;
    if (valid)
      for (int c = threadIdx.y; c < C; c += LN2D_Y) sum += (float)in[base + (int64_t)c * HW];
    double m = ln2d_column_total(sum, s) / C;
    double sq = 0.0;
    if (valid)
      for (int c = threadIdx.y; c < C; c += LN2D_Y) {
        double d = (double)(float)in[base + (int64_t)c * HW] - m;
        sq += d * d;
      }
    sq = ln2d_column_total(sq, s);
    float mf = (float)m, rf = (float)(1.0 / sqrt(sq / C + (double)eps));
    if (!valid) continue;
    if (threadIdx.y == 0) {
      mean[pix] = mf;
      rstd[pix] = rf;
    }
    for (int c = threadIdx.y; c < C; c += LN2D_Y) {
      float w = weight ? weight[c] : 1.0f, bb = bias ? bias[c] : 0.0f;
      int64_t i = base + (int64_t)c * HW;
      out[i] = (T)(((float)in[i] - mf) * rf * w + bb);
    }
  }
}

template <class T>
__global__ void layernorm2d_backward_kernel(T* din, const T* dout, const T* in, const float* weight, const float* mean,
                                            const float* rstd, int64_t pixels, int C, int HW) {
  __shared__ double s[LN2D_Y][33];
  int64_t tiles = (pixels + 31) / 32;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    int64_t pix = tile * 32 + threadIdx.x;
    bool valid = pix < pixels;
    int64_t b = valid ? pix / HW : 0, p = valid ? pix % HW : 0;
    int64_t base = b * C * HW + p;
    float m = valid ? mean[pix] : 0.0f, r = valid ? rstd[pix] : 0.0f;
    double a = 0.0, bsum = 0.0;
    if (valid)
      for (int c = threadIdx.y; c < C; c += LN2D_Y) {
        int64_t i = base + (int64_t)c * HW;
        float dxhat = (float)dout[i] * (weight ? weight[c] : 1.0f);
        a += dxhat;
        bsum += (double)dxhat * (((float)in[i] - m) * r);
      }
    a = ln2d_column_total(a, s) / C;
    bsum = ln2d_column_total(bsum, s) / C;
    if (!valid) continue;
    float af = (float)a, bf = (float)bsum;
    for (int c = threadIdx.y; c < C; c += LN2D_Y) {
      int64_t i = base + (int64_t)c * HW;
      float w = weight ? weight[c] : 1.0f;
      float xhat = ((float)in[i] - m) * r;
      din[i] = (T)(((float)dout[i] * w - af - xhat * bf) * r);
    }
  }
}

// Plane-sum terms of LayerNorm2d's parameter grads over plane = b*C + c: [0] dout * xhat (double product of the
// float xhat, as the CPU), [1] dout.
template <class T>
struct Ln2dGradTerms {
  const T* dout;
  const T* in;
  const float* mean;
  const float* rstd;
  int C, HW;
  __device__ void operator()(int64_t plane, int p, double* acc) const {
    int64_t i = plane * HW + p, pix = (plane / C) * HW + p;
    double g = (float)dout[i];
    acc[0] += g * (((float)in[i] - mean[pix]) * rstd[pix]);
    acc[1] += g;
  }
};

inline unsigned ln2d_grid(int64_t pixels) {
  uint64_t tiles = (pixels + 31) / 32;
  return (unsigned)(tiles < 65535 * 8 ? tiles : 65535 * 8);
}

}  // namespace

extern "C" {

int dusa_layernorm_forward(dusa_ctx* ctx, float* out, float* mean, float* rstd, const float* in, const float* weight,
                           const float* bias, int N, int C, float eps) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(mean); CHECK_PTR(rstd); CHECK_PTR(in);
  CHECK_POS(N); CHECK_POS(C);
  CHECK_ARG(eps >= 0, "%s: eps must be >= 0", __func__);
  dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    launch_rows_forward<T>(ctx, dusa::act<T>(out), mean, rstd, dusa::act<T>(in), weight, bias, nullptr, nullptr, N, C, 1,
                           0, eps);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_layernorm_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout, const float* in,
                            const float* weight, const float* mean, const float* rstd, int N, int C) {
  DUSA_OP(ctx);
  CHECK_PTR(dout); CHECK_PTR(in); CHECK_PTR(mean); CHECK_PTR(rstd);
  CHECK_POS(N); CHECK_POS(C);
  int status = DUSA_OK;
  dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    if (din) {
      launch_rows_backward<T>(ctx, dusa::act<T>(din), dusa::act<T>(dout), dusa::act<T>(in), weight, nullptr, mean, rstd,
                              N, C, 1, 0);
      if (cudaPeekAtLastError() != cudaSuccess) return;
    }
    if (dweight || dbias)
      status = dusa::column_sums<2>(ctx, "dusa_layernorm_backward",
                                    AffineGradTerms<T>{dusa::act<T>(dout), dusa::act<T>(in), mean, rstd, C},
                                    AccumulateParams{dweight, dbias}, 1, N, C);
  });
  CHECK_LAUNCH();
  return status;
}

int dusa_layernorm_modulate_forward(dusa_ctx* ctx, float* out, float* mean, float* rstd, const float* in,
                                    const float* shift, const float* scale, int B, int T, int C, int mod_stride,
                                    float eps) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(mean); CHECK_PTR(rstd); CHECK_PTR(in); CHECK_PTR(shift); CHECK_PTR(scale);
  CHECK_POS(B); CHECK_POS(T); CHECK_POS(C);
  CHECK_ARG(mod_stride >= C, "%s: mod_stride (%d) must be >= C (%d)", __func__, mod_stride, C);
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    launch_rows_forward<S>(ctx, dusa::act<S>(out), mean, rstd, dusa::act<S>(in), nullptr, nullptr, dusa::act<S>(shift),
                           dusa::act<S>(scale), (int64_t)B * T, C, T, mod_stride, eps);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_layernorm_modulate_backward(dusa_ctx* ctx, float* din, float* dshift, float* dscale, const float* dout,
                                     const float* in, const float* scale, const float* mean, const float* rstd, int B,
                                     int T, int C, int mod_stride) {
  DUSA_OP(ctx);
  CHECK_PTR(dout); CHECK_PTR(in); CHECK_PTR(scale); CHECK_PTR(mean); CHECK_PTR(rstd);
  CHECK_POS(B); CHECK_POS(T); CHECK_POS(C);
  CHECK_ARG(mod_stride >= C, "%s: mod_stride (%d) must be >= C (%d)", __func__, mod_stride, C);
  int status = DUSA_OK;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    if (din) {
      launch_rows_backward<S>(ctx, dusa::act<S>(din), dusa::act<S>(dout), dusa::act<S>(in), nullptr, dusa::act<S>(scale),
                              mean, rstd, (int64_t)B * T, C, T, mod_stride);
      if (cudaPeekAtLastError() != cudaSuccess) return;
    }
    if (dshift || dscale)
      status = dusa::column_sums<2>(ctx, "dusa_layernorm_modulate_backward",
                                    AffineGradTerms<S>{dusa::act<S>(dout), dusa::act<S>(in), mean, rstd, C},
                                    WriteModulationGrads<S>{dusa::act<S>(dshift), dusa::act<S>(dscale), mod_stride}, B, T, C);
  });
  CHECK_LAUNCH();
  return status;
}

int dusa_layernorm2d_forward(dusa_ctx* ctx, float* out, float* mean, float* rstd, const float* in, const float* weight,
                             const float* bias, int B, int C, int HW, float eps) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(mean); CHECK_PTR(rstd); CHECK_PTR(in);
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(HW);
  int64_t pixels = (int64_t)B * HW;
  dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    layernorm2d_forward_kernel<<<ln2d_grid(pixels), dim3(32, LN2D_Y), 0, ctx->stream>>>(
        dusa::act<T>(out), mean, rstd, dusa::act<T>(in), weight, bias, pixels, C, HW, eps);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_layernorm2d_backward(dusa_ctx* ctx, float* din, float* dweight, float* dbias, const float* dout,
                              const float* in, const float* weight, const float* mean, const float* rstd, int B, int C,
                              int HW) {
  DUSA_OP(ctx);
  CHECK_PTR(dout); CHECK_PTR(in); CHECK_PTR(mean); CHECK_PTR(rstd);
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(HW);
  int64_t pixels = (int64_t)B * HW;
  bool bf16 = ctx->storage == DUSA_DTYPE_BF16;
  if (din) {
    dusa::with_storage(ctx, [&](auto t) {
      using T = decltype(t);
      layernorm2d_backward_kernel<<<ln2d_grid(pixels), dim3(32, LN2D_Y), 0, ctx->stream>>>(
          dusa::act<T>(din), dusa::act<T>(dout), dusa::act<T>(in), weight, mean, rstd, pixels, C, HW);
    });
    CHECK_LAUNCH();
  }
  if (dweight || dbias) {
    int64_t planes = (int64_t)B * C;
    double* partial = reinterpret_cast<double*>(dusa::workspace(ctx, 4 * (uint64_t)planes));
    if (!partial) return DUSA_ERR_OOM;
    int status = bf16 ? dusa::plane_sums<2>(ctx, __func__, partial,
                                            Ln2dGradTerms<__nv_bfloat16>{dusa::act<__nv_bfloat16>(dout),
                                                                         dusa::act<__nv_bfloat16>(in), mean, rstd, C, HW},
                                            planes, HW)
                      : dusa::plane_sums<2>(ctx, __func__, partial, Ln2dGradTerms<float>{dout, in, mean, rstd, C, HW},
                                            planes, HW);
    if (status != DUSA_OK) return status;
    dusa::plane_finish_kernel<false><<<dusa::capped_blocks(C, 256), 256, 0, ctx->stream>>>(dweight, dbias, partial, B, C);
    CHECK_LAUNCH();
  }
  return DUSA_OK;
}

}  // extern "C"
