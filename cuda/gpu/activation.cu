// activation.cu — GELU (erf and tanh forms), SiLU, and the gated residual of adaLN-Zero blocks.
// Elementwise grid-stride kernels with the CPU backend's formulas; exp and erfc are device copies of
// cuda/cpu/vecmath.h (the same polynomials), so results agree with the CPU to a few ulp.
// The gated residual's dgate = sum_t dout*y goes through a deterministic two-pass column sum (no atomics).
#include "block_reduce.cuh"
#include "gpu.cuh"

namespace {

constexpr float SQRT_HALF = 0.70710678118654752440f;
constexpr float INV_SQRT_2PI = 0.39894228040143267794f;
constexpr float SQRT_2_OVER_PI = 0.79788456080286535588f;
constexpr float GELU_C = 0.044715f;
constexpr int THREADS = 256;

// dusa::exp_vec of vecmath.h
__device__ inline float exp_vec(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  float n = floorf(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return p * __int_as_float(((int)n + 127) << 23);
}

// dusa::erfc_nonneg of vecmath.h: erfc(z) for z >= 0
__device__ inline float erfc_nonneg(float z) {
  float t = 1.0f / (1.0f + 0.5f * z);
  float poly = -0.82215223f + t * 0.17087277f;
  poly = 1.48851587f + t * poly;
  poly = -1.13520398f + t * poly;
  poly = 0.27886807f + t * poly;
  poly = -0.18628806f + t * poly;
  poly = 0.09678418f + t * poly;
  poly = 0.37409196f + t * poly;
  poly = 1.00002368f + t * poly;
  poly = -1.26551223f + t * poly;
  return t * exp_vec(-z * z + poly);
}

// 0.5 (1 + tanh(u)) = sigmoid(2u)
__device__ inline float sigmoid(float z) { return 1.0f / (1.0f + exp_vec(-z)); }

// the standard normal CDF, from erfc so the tails keep their relative accuracy
__device__ inline float phi(float x) {
  float e = erfc_nonneg(fabsf(x) * SQRT_HALF);
  return x >= 0.0f ? 1.0f - 0.5f * e : 0.5f * e;
}

template <class T>
__global__ void gelu_forward_kernel(T* out, const T* in, uint64_t n, int approximate) {
  GRID_STRIDE(i, n) {
    float x = (float)in[i];
    out[i] = (T)(approximate ? x * sigmoid(2.0f * SQRT_2_OVER_PI * (x + GELU_C * x * x * x)) : x * phi(x));
  }
}

template <class T>
__global__ void gelu_backward_kernel(T* din, const T* dout, const T* in, uint64_t n, int approximate) {
  GRID_STRIDE(i, n) {
    float x = (float)in[i], d;
    if (approximate) {
      float s = sigmoid(2.0f * SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
      float dinner = SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_C * x * x);
      d = s + 2.0f * x * s * (1.0f - s) * dinner;
    } else {
      d = phi(x) + x * INV_SQRT_2PI * exp_vec(-0.5f * x * x);
    }
    din[i] = (T)((float)dout[i] * d);
  }
}

template <class T>
__global__ void silu_forward_kernel(T* out, const T* in, uint64_t n) {
  GRID_STRIDE(i, n) {
    float x = (float)in[i];
    out[i] = (T)(x * sigmoid(x));
  }
}

template <class T>
__global__ void silu_backward_kernel(T* din, const T* dout, const T* in, uint64_t n) {
  GRID_STRIDE(i, n) {
    float x = (float)in[i];
    float s = sigmoid(x);
    din[i] = (T)((float)dout[i] * s * (1.0f + x * (1.0f - s)));
  }
}

// out = x + gate[b] * y over (B, T, C); row = i / C, b = row / T
template <class T>
__global__ void gated_residual_forward_kernel(T* out, const T* x, const T* y, const T* gate, int64_t total, int C,
                                              int T_rows, int gate_stride) {
  GRID_STRIDE(i, total) {
    int64_t row = i / C;
    int c = (int)(i % C);
    float g = (float)gate[(row / T_rows) * gate_stride + c];
    out[i] = (T)((float)x[i] + g * (float)y[i]);
  }
}

// dy = gate[b] * dout
template <class T>
__global__ void gated_residual_dy_kernel(T* dy, const T* dout, const T* gate, int64_t total, int C, int T_rows,
                                         int gate_stride) {
  GRID_STRIDE(i, total) {
    int64_t row = i / C;
    int c = (int)(i % C);
    dy[i] = (T)((float)gate[(row / T_rows) * gate_stride + c] * (float)dout[i]);
  }
}

// column-sum term of dgate: dout * y (float product, as the CPU)
template <class T>
struct GateTerms {
  const T* dout;
  const T* y;
  int C;
  __device__ void operator()(int64_t row, int c, double* acc) const {
    acc[0] += (float)dout[row * C + c] * (float)y[row * C + c];
  }
};

template <class T>
struct WriteGate {
  T* dgate;
  int gate_stride;
  __device__ void operator()(int64_t b, int c, const double* sums) const { dgate[b * gate_stride + c] = (T)(float)sums[0]; }
};

}  // namespace

extern "C" {

int dusa_gelu_forward(dusa_ctx* ctx, float* out, const float* in, uint64_t n, int approximate) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  if (n == 0) return DUSA_OK;
  dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    gelu_forward_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(dusa::act<T>(out), dusa::act<T>(in), n, approximate);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_gelu_backward(dusa_ctx* ctx, float* din, const float* dout, const float* in, uint64_t n, int approximate) {
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout); CHECK_PTR(in);
  if (n == 0) return DUSA_OK;
  dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    gelu_backward_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(dusa::act<T>(din), dusa::act<T>(dout), dusa::act<T>(in), n, approximate);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_silu_forward(dusa_ctx* ctx, float* out, const float* in, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(in);
  if (n == 0) return DUSA_OK;
  dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    silu_forward_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(dusa::act<T>(out), dusa::act<T>(in), n);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_silu_backward(dusa_ctx* ctx, float* din, const float* dout, const float* in, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(din); CHECK_PTR(dout); CHECK_PTR(in);
  if (n == 0) return DUSA_OK;
  dusa::with_storage(ctx, [&](auto t) {
    using T = decltype(t);
    silu_backward_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(dusa::act<T>(din), dusa::act<T>(dout), dusa::act<T>(in), n);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_gated_residual_forward(dusa_ctx* ctx, float* out, const float* x, const float* y, const float* gate, int B,
                                int T, int C, int gate_stride) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(x); CHECK_PTR(y); CHECK_PTR(gate);
  CHECK_POS(B); CHECK_POS(T); CHECK_POS(C);
  CHECK_ARG(gate_stride >= C, "%s: gate_stride (%d) must be >= C (%d)", __func__, gate_stride, C);
  int64_t total = (int64_t)B * T * C;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    gated_residual_forward_kernel<<<dusa::capped_blocks(total, THREADS), THREADS, 0, ctx->stream>>>(
        dusa::act<S>(out), dusa::act<S>(x), dusa::act<S>(y), dusa::act<S>(gate), total, C, T, gate_stride);
  });
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_gated_residual_backward(dusa_ctx* ctx, float* dx, float* dy, float* dgate, const float* dout, const float* y,
                                 const float* gate, int B, int T, int C, int gate_stride) {
  DUSA_OP(ctx);
  CHECK_PTR(dout);
  CHECK_POS(B); CHECK_POS(T); CHECK_POS(C);
  CHECK_ARG(gate_stride >= C, "%s: gate_stride (%d) must be >= C (%d)", __func__, gate_stride, C);
  CHECK_ARG(!dy || gate, "%s: gate is null but dy is requested", __func__);
  CHECK_ARG(!dgate || y, "%s: y is null but dgate is requested", __func__);
  int64_t total = (int64_t)B * T * C;
  size_t element = ctx->storage == DUSA_DTYPE_BF16 ? 2 : 4;
  // the same order as the CPU (dx, dy, dgate), so aliased outputs behave alike
  if (dx && dx != dout) CHECK_CUDA(cudaMemcpyAsync(dx, dout, total * element, cudaMemcpyDeviceToDevice, ctx->stream));
  int status = DUSA_OK;
  dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    if (dy)
      gated_residual_dy_kernel<<<dusa::capped_blocks(total, THREADS), THREADS, 0, ctx->stream>>>(
          dusa::act<S>(dy), dusa::act<S>(dout), dusa::act<S>(gate), total, C, T, gate_stride);
    if (dgate && cudaPeekAtLastError() == cudaSuccess)
      status = dusa::column_sums<1>(ctx, "dusa_gated_residual_backward", GateTerms<S>{dusa::act<S>(dout), dusa::act<S>(y), C},
                                    WriteGate<S>{dusa::act<S>(dgate), gate_stride}, B, T, C);
  });
  if (status != DUSA_OK) return status;
  CHECK_LAUNCH();
  return DUSA_OK;
}

}  // extern "C"
