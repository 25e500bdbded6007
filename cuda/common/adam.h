// adam.h — one Adam/AdamW step's hyper-parameters folded into per-element float constants, checked and computed
// the same way on every backend (so their updates agree to the last bit where the arithmetic does). The constants
// are formed on the host from a step given by value, or on the device from a step count kept there.
#pragma once
#include <cmath>

#include "core.h"
#include "host_device.h"

namespace dusa {

struct AdamScalars {
  float step_size, bias2_sqrt, decay, l2, b1, b2, one_minus_b1, one_minus_b2, epsilon;
};

struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  int decoupled;
};

// torch.optim semantics: decoupled = AdamW (param *= 1 - lr wd), else L2 (grad += wd param); step counts from 1.
DUSA_HOST_DEVICE AdamScalars adam_scalars_at(const AdamHyper& h, int step) {
  double bias1 = 1.0 - pow(h.beta1, (double)step), bias2 = 1.0 - pow(h.beta2, (double)step);
  AdamScalars s;
  s.step_size = (float)(h.lr / bias1);
  s.bias2_sqrt = (float)sqrt(bias2);
  s.decay = h.decoupled ? (float)(1.0 - h.lr * h.weight_decay) : 1.0f;
  s.l2 = h.decoupled ? 0.0f : (float)h.weight_decay;
  s.b1 = (float)h.beta1;
  s.b2 = (float)h.beta2;
  s.one_minus_b1 = (float)(1.0 - h.beta1);
  s.one_minus_b2 = (float)(1.0 - h.beta2);
  s.epsilon = (float)h.eps;
  return s;
}

inline int adam_check(const char* op, double beta1, double beta2) {
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
    return fail(DUSA_ERR_INVALID, "%s: betas must be in [0, 1), got %g, %g", op, beta1, beta2);
  return DUSA_OK;
}

inline int adam_scalars(const char* op, AdamScalars* s, double lr, double beta1, double beta2, double eps,
                        double weight_decay, int decoupled, int step) {
  if (step <= 0) return fail(DUSA_ERR_INVALID, "%s: step must be > 0, got %d", op, step);
  if (int status = adam_check(op, beta1, beta2)) return status;
  *s = adam_scalars_at(AdamHyper{lr, beta1, beta2, eps, weight_decay, decoupled}, step);
  return DUSA_OK;
}

}  // namespace dusa
