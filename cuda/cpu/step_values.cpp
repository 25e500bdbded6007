// step_values.cpp — the ops whose per-step values are read from memory (a step index, an update count, a gate):
// each reads them and runs its by-value twin, so the numbers are the twin's (cuda/common/step_values.h).
#include "adam.h"
#include "cpu.h"
#include "step_values.h"

extern "C" {

int dusa_rng_uniform_indexed(dusa_ctx* ctx, float* out, uint64_t n, uint64_t seed, uint64_t offset,
                             const int32_t* index, uint64_t stride, float low, float high) {
  DUSA_CTX(ctx);
  CHECK_PTR(index);
  return dusa_rng_uniform(ctx, out, n, seed, dusa::indexed_offset(offset, index, stride), low, high);
}

int dusa_rng_normal_indexed(dusa_ctx* ctx, float* out, uint64_t n, uint64_t seed, uint64_t offset,
                            const int32_t* index, uint64_t stride, float mean, float std) {
  DUSA_CTX(ctx);
  CHECK_PTR(index);
  return dusa_rng_normal(ctx, out, n, seed, dusa::indexed_offset(offset, index, stride), mean, std);
}

int dusa_select_classes_indexed(dusa_ctx* ctx, int32_t* selected, const float* normed, const float* logits, int B,
                                int C, int topk, int rand_budget, float temperature, uint64_t seed, uint64_t offset,
                                const int32_t* index, uint64_t stride) {
  DUSA_CTX(ctx);
  CHECK_PTR(index);
  return dusa_select_classes(ctx, selected, normed, logits, B, C, topk, rand_budget, temperature, seed,
                             dusa::indexed_offset(offset, index, stride));
}

int dusa_counter_add(dusa_ctx* ctx, int32_t* counter, int32_t delta, const int32_t* gate) {
  DUSA_OP(ctx);
  CHECK_PTR(counter);
  if (dusa::gate_open(gate)) counter[0] = (int32_t)((uint32_t)counter[0] + (uint32_t)delta);
  return DUSA_OK;
}

int dusa_adam_step_counted(dusa_ctx* ctx, float* param, const float* grad, float* m, float* v, uint64_t n, double lr,
                           double beta1, double beta2, double eps, double weight_decay, int decoupled,
                           const int32_t* count, const int32_t* gate) {
  DUSA_CTX(ctx);
  CHECK_PTR(param); CHECK_PTR(grad); CHECK_PTR(m); CHECK_PTR(v); CHECK_PTR(count);
  if (int status = dusa::adam_check(__func__, beta1, beta2)) return status;
  if (!dusa::gate_open(gate)) return DUSA_OK;
  return dusa_adam_step(ctx, param, grad, m, v, n, lr, beta1, beta2, eps, weight_decay, decoupled, dusa::counted_step(count));
}

int dusa_sgd_step_counted(dusa_ctx* ctx, float* param, const float* grad, float* momentum_buf, uint64_t n, double lr,
                          double momentum, double dampening, double weight_decay, int nesterov, const int32_t* count,
                          const int32_t* gate) {
  DUSA_CTX(ctx);
  CHECK_PTR(param); CHECK_PTR(grad); CHECK_PTR(count);
  CHECK_ARG(momentum == 0.0 || momentum_buf, "%s: momentum %g needs a momentum buffer", __func__, momentum);
  CHECK_ARG(!nesterov || (momentum > 0 && dampening == 0), "%s: nesterov needs momentum > 0 and dampening 0", __func__);
  if (!dusa::gate_open(gate)) return DUSA_OK;
  return dusa_sgd_step(ctx, param, grad, momentum_buf, n, lr, momentum, dampening, weight_decay, nesterov, dusa::counted_step(count));
}

}  // extern "C"
