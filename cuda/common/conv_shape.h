// conv_shape.h — a 2-D convolution's sizes (NCHW, any kernel, stride and asymmetric padding), checked the same
// way on every backend.
#pragma once
#include <cstdint>

#include "core.h"
#include "host_device.h"

namespace dusa {

struct ConvShape {
  int B, IC, H, W, OC, KH, KW, sh, sw, pt, pb, pl, pr, OH, OW;
  DUSA_HOST_DEVICE int64_t K() const { return (int64_t)IC * KH * KW; }  // im2col rows
  DUSA_HOST_DEVICE int64_t P() const { return (int64_t)OH * OW; }       // output pixels per image
  bool pointwise() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pb == 0 && pl == 0 && pr == 0; }
};

// Checks the sizes, strides and pads (the error names op) and fills OH and OW.
int conv_shape(const char* op, ConvShape* c);

}  // namespace dusa
