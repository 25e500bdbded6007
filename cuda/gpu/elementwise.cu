// elementwise.cu — add, axpy, scale, per-channel scale (ConvNeXt layer scale), and the finiteness check.
// Grid-stride kernels; dscale of the channel scale is a deterministic two-pass column sum in double (as the CPU).
#include "block_reduce.cuh"
#include "gpu.cuh"

namespace {

constexpr int THREADS = 256;

template <class T>
__global__ void add_kernel(T* out, const T* a, const T* b, uint64_t n) {
  GRID_STRIDE(i, n) out[i] = (T)((float)a[i] + (float)b[i]);
}

template <class T>
__global__ void axpy_kernel(T* y, const T* x, float alpha, uint64_t n) {
  GRID_STRIDE(i, n) y[i] = (T)((float)y[i] + alpha * (float)x[i]);
}

template <class T>
__global__ void scale_kernel(T* x, float alpha, uint64_t n) {
  GRID_STRIDE(i, n) x[i] = (T)((float)x[i] * alpha);
}

template <class T>
__global__ void scale_copy_kernel(T* out, const T* in, float alpha, uint64_t n) {
  GRID_STRIDE(i, n) out[i] = (T)(alpha * (float)in[i]);
}

// out[r, c] = in[r, c] * scale[c] over (rows, C), flattened
template <class T>
__global__ void channel_scale_kernel(T* out, const T* in, const float* scale, int64_t total, int C) {
  GRID_STRIDE(i, total) out[i] = (T)((float)in[i] * scale[i % C]);
}

// column-sum term of dscale: dout * in in double (as the CPU)
template <class T>
struct ScaleTerms {
  const T* dout;
  const T* in;
  int C;
  __device__ void operator()(int64_t row, int c, double* acc) const {
    acc[0] += (double)(float)dout[row * C + c] * (float)in[row * C + c];
  }
};

struct AccumulateScale {
  float* dscale;
  __device__ void operator()(int64_t, int c, const double* sums) const { dscale[c] += (float)sums[0]; }
};

__global__ void set_int_kernel(int* out, int value) { *out = value; }

// clears *flag when any x is Inf or NaN (exponent bits all ones); every writer writes the same 0
template <class T>
__global__ void all_finite_kernel(int* flag, const T* x, uint64_t n) {
  bool bad = false;
  GRID_STRIDE(i, n) bad |= (__float_as_uint((float)x[i]) & 0x7f800000u) == 0x7f800000u;
  if (__any_sync(0xffffffffu, bad) && (threadIdx.x & 31) == 0) *flag = 0;
}

}  // namespace

extern "C" {

int dusa_add(dusa_ctx* ctx, float* out, const float* a, const float* b, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(a); CHECK_PTR(b);
  if (n == 0) return DUSA_OK;
  dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    add_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(dusa::act<T>(out), dusa::act<T>(a),
                                                                              dusa::act<T>(b), n);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_scale_copy(dusa_ctx* ctx, float* out, const float* in, float alpha, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  if (n == 0) return DUSA_OK;
  dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    scale_copy_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(dusa::act<T>(out), dusa::act<T>(in),
                                                                                    alpha, n);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_axpy(dusa_ctx* ctx, float* y, const float* x, float alpha, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(y); CHECK_PTR(x);
  if (n == 0) return DUSA_OK;
  axpy_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(y, x, alpha, n);
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_scale(dusa_ctx* ctx, float* x, float alpha, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(x);
  if (n == 0) return DUSA_OK;
  scale_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(x, alpha, n);
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_channel_scale_forward(dusa_ctx* ctx, float* out, const float* in, const float* scale, int rows, int C) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in); CHECK_PTR(scale);
  CHECK_POS(rows); CHECK_POS(C);
  int64_t total = (int64_t)rows * C;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    channel_scale_kernel<<<dusa::capped_blocks(total, THREADS), THREADS, 0, ctx->stream>>>(dusa::act<S>(out), dusa::act<S>(in), scale, total, C);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_channel_scale_backward(dusa_ctx* ctx, float* din, float* dscale, const float* dout, const float* in,
                                const float* scale, int rows, int C) {
  DUSA_OP(ctx);
  CHECK_PTR(dout);
  CHECK_POS(rows); CHECK_POS(C);
  CHECK_ARG(!din || scale, "%s: scale is null but din is requested", __func__);
  CHECK_ARG(!dscale || in, "%s: in is null but dscale is requested", __func__);
  if (din) {
    int64_t total = (int64_t)rows * C;
    dusa::with_storage(ctx, [&](auto t) {
      using S = decltype(t);
      channel_scale_kernel<<<dusa::capped_blocks(total, THREADS), THREADS, 0, ctx->stream>>>(dusa::act<S>(din), dusa::act<S>(dout), scale, total, C);
    });
    CHECK_LAUNCH();
  }
  if (dscale)
    return ctx->storage == DUSA_DTYPE_BF16
               ? dusa::column_sums<1>(ctx, __func__,
                                      ScaleTerms<__nv_bfloat16>{dusa::act<__nv_bfloat16>(dout), dusa::act<__nv_bfloat16>(in), C},
                                      AccumulateScale{dscale}, 1, rows, C)
               : dusa::column_sums<1>(ctx, __func__, ScaleTerms<float>{dout, in, C}, AccumulateScale{dscale}, 1, rows, C);
  return DUSA_OK;
}

// out may be a host pointer (a small Int32Array): written through the context's device scalars.
int dusa_all_finite(dusa_ctx* ctx, int* out, const float* x, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(x);
  int* flag = static_cast<int*>(dusa::scalar_target(ctx, out));
  set_int_kernel<<<1, 1, 0, ctx->stream>>>(flag, 1);
  CHECK_LAUNCH();
  if (n > 0) {
    all_finite_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(flag, x, n);
    CHECK_LAUNCH();
  }
  return dusa::scalar_finish(ctx, out, sizeof(int), __func__);
}

}  // extern "C"
