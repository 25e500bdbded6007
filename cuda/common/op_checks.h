// op_checks.h — argument rules the backends share: size macros several ops use, and the argument checks of ops
// whose rules are more than "not null, sizes > 0". Each backend's entry point runs them before any work.
#pragma once
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "core.h"

// NCHW images.
// Backward of a layer with a weight: din needs the weight, dweight needs the forward's input.
#define CHECK_WEIGHTED_BACKWARD(din, dweight, in, weight)                                      \
  CHECK_ARG(!(din) || (weight), "%s: weight is null but din is requested", __func__);          \
  CHECK_ARG(!(dweight) || (in), "%s: in is null but dweight is requested", __func__)

#define CHECK_BCHW() CHECK_POS(B); CHECK_POS(C); CHECK_POS(H); CHECK_POS(W)

// Patchify / unpatchify: images cut into P x P patches.
#define CHECK_PATCH()                                                                                        \
  CHECK_BCHW(); CHECK_POS(P);                                                                                \
  CHECK_ARG(H % P == 0 && W % P == 0, "%s: H (%d) and W (%d) must be divisible by the patch size P (%d)", \
            __func__, H, W, P)

// Depthwise K x K convolution, padding K/2.
#define CHECK_DWCONV_SIZES()                                                                                  \
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(H); CHECK_POS(W); CHECK_POS(K);                                       \
  CHECK_ARG(K % 2 == 1, "%s: K must be odd (padding K/2 keeps the size), got %d", __func__, K)

// GroupNorm over G groups of C / G channels.
#define CHECK_GROUPNORM_SIZES()                                                                   \
  CHECK_POS(B); CHECK_POS(C); CHECK_POS(HW); CHECK_POS(G);                                        \
  CHECK_ARG(C % G == 0, "%s: C (%d) must be divisible by G (%d)", __func__, C, G)

namespace dusa {

// "<op>: <name> must be > 0, got <value>", as CHECK_POS says it, for the first of the sizes that is not.
inline int positive_sizes(const char* op, std::initializer_list<std::pair<const char*, int>> sizes) {
  for (const auto& [name, value] : sizes)
    if (value <= 0) return fail(DUSA_ERR_INVALID, "%s: %s must be > 0, got %d", op, name, value);
  return DUSA_OK;
}

// dusa_select_classes: the sampling's arguments (the data checks — finite rows — are each backend's own).
inline int select_args(const char* op, const void* selected, const void* normed, const void* logits, int B, int C,
                       int topk, int rand_budget, float temperature) {
  if (!selected || !normed) return fail(DUSA_ERR_INVALID, "%s: %s is null", op, selected ? "normed" : "selected");
  if (int status = positive_sizes(op, {{"B", B}, {"C", C}})) return status;
  if (topk < 1) return fail(DUSA_ERR_INVALID, "%s: topk must be >= 1, got %d", op, topk);
  if (rand_budget < 0) return fail(DUSA_ERR_INVALID, "%s: rand_budget must be >= 0, got %d", op, rand_budget);
  if ((int64_t)topk + rand_budget > C)
    return fail(DUSA_ERR_INVALID, "%s: topk + rand_budget (%d + %d) exceeds the %d classes", op, topk, rand_budget, C);
  if (rand_budget > 0 && !logits) return fail(DUSA_ERR_INVALID, "%s: logits is null but rand_budget is %d", op, rand_budget);
  if (!(temperature > 0.0f && std::isfinite(temperature)))
    return fail(DUSA_ERR_INVALID, "%s: temperature must be finite and > 0, got %g", op, (double)temperature);
  return DUSA_OK;
}

// dusa_flow_loss: the buffers it always reads or writes, the sizes, and finite loss weights.
inline int flow_loss_args(const char* op, const void* terms, const void* w, const void* p, const void* target, int B,
                          int K, int D, float w_mse, float w_norm_l2, float w_cosine, float grad_scale) {
  if (!terms || !w || !p || !target)
    return fail(DUSA_ERR_INVALID, "%s: %s is null", op, !terms ? "terms" : !w ? "w" : !p ? "p" : "target");
  if (int status = positive_sizes(op, {{"B", B}, {"K", K}, {"D", D}})) return status;
  if (!(std::isfinite(w_mse) && std::isfinite(w_norm_l2) && std::isfinite(w_cosine) && std::isfinite(grad_scale)))
    return fail(DUSA_ERR_INVALID, "%s: loss weights and grad_scale must be finite, got w_mse=%g w_norm_l2=%g w_cosine=%g grad_scale=%g",
                op, (double)w_mse, (double)w_norm_l2, (double)w_cosine, (double)grad_scale);
  return DUSA_OK;
}

}  // namespace dusa
