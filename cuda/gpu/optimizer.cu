// optimizer.cu — fused Adam/AdamW and SGD over flat fp32 buffers (torch.optim semantics), global L2 norm and
// clipping. The derived scalars (bias corrections, 1 - beta, the decoupled decay) are formed in double on the host
// exactly as cuda/cpu/optimizer.cpp does, then rounded to float; the per-element update is the CPU's float
// arithmetic in the same order. The L2 norm is summed in double: per-block partials over a grid that depends only
// on n, then one block adds them in order, so the result is reproducible.
#include <cmath>

#include "adam.h"
#include "block_reduce.cuh"
#include "gpu.cuh"
#include "step_values.h"

namespace {

constexpr int THREADS = 256;
constexpr int NORM_THREADS = 256;
constexpr unsigned NORM_MAX_BLOCKS = 1024;  // partials of the L2 norm
constexpr int FINISH_THREADS = 1024;

using dusa::AdamScalars;

// one element of an Adam update: the CPU's float arithmetic in the same order
__device__ __forceinline__ void adam_element(float* param, const float* grad, float* m, float* v, uint64_t i, const AdamScalars& s) {
  float p0 = param[i];
  float g = grad[i] + s.l2 * p0;
  float p = p0 * s.decay;
  float mi = s.b1 * m[i] + s.one_minus_b1 * g;
  float vi = s.b2 * v[i] + s.one_minus_b2 * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = p - s.step_size * mi / (sqrtf(vi) / s.bias2_sqrt + s.epsilon);
}

__global__ void adam_kernel(float* param, const float* grad, float* m, float* v, uint64_t n, AdamScalars s) {
  GRID_STRIDE(i, n) adam_element(param, grad, m, v, i, s);
}

// The same update with the constants formed on the device from a step count kept there; a closed gate skips it.
__global__ void adam_counted_kernel(float* param, const float* grad, float* m, float* v, uint64_t n, dusa::AdamHyper h,
                                    const int32_t* count, const int32_t* gate) {
  if (!dusa::gate_open(gate)) return;
  const AdamScalars s = dusa::adam_scalars_at(h, dusa::counted_step(count));
  GRID_STRIDE(i, n) adam_element(param, grad, m, v, i, s);
}

__global__ void counter_add_kernel(int32_t* counter, int32_t delta, const int32_t* gate) {
  if (dusa::gate_open(gate)) counter[0] = (int32_t)((uint32_t)counter[0] + (uint32_t)delta);
}

__global__ void sgd_kernel(float* param, const float* grad, float* momentum_buf, uint64_t n, float rate, float mu,
                           float keep, float wd, int nesterov, int first_step, const int32_t* count,
                           const int32_t* gate) {
  if (!dusa::gate_open(gate)) return;
  if (count) first_step = dusa::counted_step(count) == 1;
  GRID_STRIDE(i, n) {
    float d = grad[i] + wd * param[i];
    if (mu != 0.0f) {
      float buf = first_step ? d : mu * momentum_buf[i] + keep * d;
      momentum_buf[i] = buf;
      d = nesterov ? d + mu * buf : buf;
    }
    param[i] -= rate * d;
  }
}

// partial[block] = sum of x^2 (double products) over the block's grid-stride share
__global__ void sum_squares_kernel(double* partial, const float* x, uint64_t n) {
  __shared__ double shared[32];
  double s = 0.0;
  GRID_STRIDE(i, n) s += (double)x[i] * x[i];
  s = dusa::block_total(s, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// out[0] = sqrt(sum of the partials), rounded to float
__global__ void norm_finish_kernel(float* out, const double* partial, int count) {
  __shared__ double shared[32];
  double s = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) s += partial[i];
  s = dusa::block_total(s, shared);
  if (threadIdx.x == 0) *out = (float)sqrt(s);
}

__global__ void scale_kernel(float* x, float alpha, uint64_t n) {
  GRID_STRIDE(i, n) x[i] *= alpha;
}

}  // namespace

extern "C" {

int dusa_adam_step(dusa_ctx* ctx, float* param, const float* grad, float* m, float* v, uint64_t n, double lr,
                   double beta1, double beta2, double eps, double weight_decay, int decoupled, int step) {
  DUSA_OP(ctx);
  CHECK_PTR(param); CHECK_PTR(grad); CHECK_PTR(m); CHECK_PTR(v);
  AdamScalars s;
  if (int status = dusa::adam_scalars(__func__, &s, lr, beta1, beta2, eps, weight_decay, decoupled, step)) return status;
  if (n == 0) return DUSA_OK;
  adam_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(param, grad, m, v, n, s);
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_sgd_step(dusa_ctx* ctx, float* param, const float* grad, float* momentum_buf, uint64_t n, double lr,
                  double momentum, double dampening, double weight_decay, int nesterov, int step) {
  DUSA_OP(ctx);
  CHECK_PTR(param); CHECK_PTR(grad);
  CHECK_POS(step);
  CHECK_ARG(momentum == 0.0 || momentum_buf, "%s: momentum %g needs a momentum buffer", __func__, momentum);
  CHECK_ARG(!nesterov || (momentum > 0 && dampening == 0), "%s: nesterov needs momentum > 0 and dampening 0", __func__);
  float rate = (float)lr, mu = (float)momentum, keep = (float)(1.0 - dampening), wd = (float)weight_decay;
  if (n == 0) return DUSA_OK;
  sgd_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(param, grad, momentum_buf, n, rate, mu, keep,
                                                                           wd, nesterov, step == 1, nullptr, nullptr);
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_adam_step_counted(dusa_ctx* ctx, float* param, const float* grad, float* m, float* v, uint64_t n, double lr,
                           double beta1, double beta2, double eps, double weight_decay, int decoupled,
                           const int32_t* count, const int32_t* gate) {
  DUSA_OP(ctx);
  CHECK_PTR(param); CHECK_PTR(grad); CHECK_PTR(m); CHECK_PTR(v); CHECK_PTR(count);
  if (int status = dusa::adam_check(__func__, beta1, beta2)) return status;
  if (n == 0) return DUSA_OK;
  const dusa::AdamHyper h{lr, beta1, beta2, eps, weight_decay, decoupled};
  adam_counted_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(param, grad, m, v, n, h, count, gate);
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_sgd_step_counted(dusa_ctx* ctx, float* param, const float* grad, float* momentum_buf, uint64_t n, double lr,
                          double momentum, double dampening, double weight_decay, int nesterov, const int32_t* count,
                          const int32_t* gate) {
  DUSA_OP(ctx);
  CHECK_PTR(param); CHECK_PTR(grad); CHECK_PTR(count);
  CHECK_ARG(momentum == 0.0 || momentum_buf, "%s: momentum %g needs a momentum buffer", __func__, momentum);
  CHECK_ARG(!nesterov || (momentum > 0 && dampening == 0), "%s: nesterov needs momentum > 0 and dampening 0", __func__);
  float rate = (float)lr, mu = (float)momentum, keep = (float)(1.0 - dampening), wd = (float)weight_decay;
  if (n == 0) return DUSA_OK;
  sgd_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(param, grad, momentum_buf, n, rate, mu, keep,
                                                                           wd, nesterov, 0, count, gate);
  CHECK_LAUNCH();
  return DUSA_OK;
}

int dusa_counter_add(dusa_ctx* ctx, int32_t* counter, int32_t delta, const int32_t* gate) {
  DUSA_OP(ctx);
  CHECK_PTR(counter);
  counter_add_kernel<<<1, 1, 0, ctx->stream>>>(counter, delta, gate);
  CHECK_LAUNCH();
  return DUSA_OK;
}

// out may be a host pointer (a small Float32Array): written through the context's device scalars.
int dusa_l2_norm(dusa_ctx* ctx, float* out, const float* x, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(x);
  uint64_t want = (n + NORM_THREADS * 8 - 1) / (NORM_THREADS * 8);  // about 8 elements per thread at least
  unsigned blocks = (unsigned)(want < NORM_MAX_BLOCKS ? want : NORM_MAX_BLOCKS);
  double* partial = nullptr;
  if (blocks > 0) {
    partial = reinterpret_cast<double*>(dusa::workspace(ctx, 2 * (uint64_t)blocks));
    if (!partial) return DUSA_ERR_OOM;
    sum_squares_kernel<<<blocks, NORM_THREADS, 0, ctx->stream>>>(partial, x, n);
    CHECK_LAUNCH();
  }
  float* target = static_cast<float*>(dusa::scalar_target(ctx, out));
  norm_finish_kernel<<<1, FINISH_THREADS, 0, ctx->stream>>>(target, partial, (int)blocks);
  CHECK_LAUNCH();
  return dusa::scalar_finish(ctx, out, sizeof(float), __func__);
}

int dusa_clip_by_norm(dusa_ctx* ctx, float* x, uint64_t n, float max_norm, float norm) {
  DUSA_OP(ctx);
  CHECK_PTR(x);
  CHECK_ARG(max_norm > 0, "%s: max_norm must be > 0, got %g", __func__, max_norm);
  float coef = max_norm / (norm + 1e-6f);
  if (!(coef < 1.0f)) return DUSA_OK;
  if (n == 0) return DUSA_OK;
  scale_kernel<<<dusa::capped_blocks(n, THREADS), THREADS, 0, ctx->stream>>>(x, coef, n);
  CHECK_LAUNCH();
  return DUSA_OK;
}

}  // extern "C"
