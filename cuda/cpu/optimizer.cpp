// optimizer.cpp — fused Adam/AdamW and SGD over flat fp32 buffers (torch.optim semantics), global L2 norm
// and clipping. The norm is summed in fixed 64K-element chunks so it does not depend on the thread count.
#include <cmath>
#include <vector>

#include "adam.h"
#include "cpu.h"

namespace {
constexpr int64_t PARALLEL_MIN = 1 << 14;
constexpr int64_t CHUNK = 1 << 16;
}  // namespace

extern "C" {

int dusa_adam_step(dusa_ctx* ctx, float* param, const float* grad, float* m, float* v, uint64_t n, double lr,
                   double beta1, double beta2, double eps, double weight_decay, int decoupled, int step) {
  DUSA_OP(ctx);
  CHECK_PTR(param); CHECK_PTR(grad); CHECK_PTR(m); CHECK_PTR(v);
  dusa::AdamScalars s;
  if (int status = dusa::adam_scalars(__func__, &s, lr, beta1, beta2, eps, weight_decay, decoupled, step)) return status;
  int64_t count = (int64_t)n;
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) {
    float g = grad[i] + s.l2 * param[i];
    float p = param[i] * s.decay;
    m[i] = s.b1 * m[i] + s.one_minus_b1 * g;
    v[i] = s.b2 * v[i] + s.one_minus_b2 * g * g;
    param[i] = p - s.step_size * m[i] / (std::sqrt(v[i]) / s.bias2_sqrt + s.epsilon);
  }
  return DUSA_OK;
}

int dusa_sgd_step(dusa_ctx* ctx, float* param, const float* grad, float* momentum_buf, uint64_t n, double lr,
                  double momentum, double dampening, double weight_decay, int nesterov, int step) {
  DUSA_OP(ctx);
  CHECK_PTR(param); CHECK_PTR(grad);
  CHECK_POS(step);
  CHECK_ARG(momentum == 0.0 || momentum_buf, "%s: momentum %g needs a momentum buffer", __func__, momentum);
  CHECK_ARG(!nesterov || (momentum > 0 && dampening == 0), "%s: nesterov needs momentum > 0 and dampening 0", __func__);
  int64_t count = (int64_t)n;
  float rate = (float)lr, mu = (float)momentum, keep = (float)(1.0 - dampening), wd = (float)weight_decay;
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) {
    float d = grad[i] + wd * param[i];
    if (mu != 0.0f) {
      float buf = step == 1 ? d : mu * momentum_buf[i] + keep * d;
      momentum_buf[i] = buf;
      d = nesterov ? d + mu * buf : buf;
    }
    param[i] -= rate * d;
  }
  return DUSA_OK;
}

int dusa_l2_norm(dusa_ctx* ctx, float* out, const float* x, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(x);
  int64_t chunks = ((int64_t)n + CHUNK - 1) / CHUNK;
  std::vector<double> partial;
  try {
    partial.assign(chunks, 0.0);
  } catch (...) {
    return dusa::fail(DUSA_ERR_OOM, "%s: out of memory", __func__);
  }
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; c++) {
    int64_t end = (c + 1) * CHUNK < (int64_t)n ? (c + 1) * CHUNK : (int64_t)n;
    double s = 0.0;
    for (int64_t i = c * CHUNK; i < end; i++) s += (double)x[i] * x[i];
    partial[c] = s;
  }
  double total = 0.0;
  for (double s : partial) total += s;
  *out = (float)std::sqrt(total);
  return DUSA_OK;
}

int dusa_clip_by_norm(dusa_ctx* ctx, float* x, uint64_t n, float max_norm, float norm) {
  DUSA_OP(ctx);
  CHECK_PTR(x);
  CHECK_ARG(max_norm > 0, "%s: max_norm must be > 0, got %g", __func__, max_norm);
  float coef = max_norm / (norm + 1e-6f);
  if (!(coef < 1.0f)) return DUSA_OK;
  int64_t count = (int64_t)n;
#pragma omp parallel for simd num_threads(ctx->threads) schedule(static) if (count > PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) x[i] *= coef;
  return DUSA_OK;
}

}  // extern "C"
