// adam.h — one Adam/AdamW step's hyper-parameters folded into per-element float constants, checked and computed
// the same way on every backend (so their updates agree to the last bit where the arithmetic does).
#pragma once
#include <cmath>

#include "core.h"

namespace dusa {

struct AdamScalars {
  float step_size, bias2_sqrt, decay, l2, b1, b2, one_minus_b1, one_minus_b2, epsilon;
};

// torch.optim semantics: decoupled = AdamW (param *= 1 - lr wd), else L2 (grad += wd param); step counts from 1.
inline int adam_scalars(const char* op, AdamScalars* s, double lr, double beta1, double beta2, double eps,
                        double weight_decay, int decoupled, int step) {
  if (step <= 0) return fail(DUSA_ERR_INVALID, "%s: step must be > 0, got %d", op, step);
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
    return fail(DUSA_ERR_INVALID, "%s: betas must be in [0, 1), got %g, %g", op, beta1, beta2);
  double bias1 = 1.0 - std::pow(beta1, step), bias2 = 1.0 - std::pow(beta2, step);
  s->step_size = (float)(lr / bias1);
  s->bias2_sqrt = (float)std::sqrt(bias2);
  s->decay = decoupled ? (float)(1.0 - lr * weight_decay) : 1.0f;
  s->l2 = decoupled ? 0.0f : (float)weight_decay;
  s->b1 = (float)beta1;
  s->b2 = (float)beta2;
  s->one_minus_b1 = (float)(1.0 - beta1);
  s->one_minus_b2 = (float)(1.0 - beta2);
  s->epsilon = (float)eps;
  return DUSA_OK;
}

}  // namespace dusa
