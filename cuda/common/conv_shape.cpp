// conv_shape.cpp — the convolution size checks both backends run before any work.
#include "conv_shape.h"

namespace dusa {

int conv_shape(const char* op, ConvShape* c) {
  if (c->B <= 0 || c->IC <= 0 || c->H <= 0 || c->W <= 0 || c->OC <= 0 || c->KH <= 0 || c->KW <= 0)
    return fail(DUSA_ERR_INVALID, "%s: sizes must be > 0 (B=%d IC=%d H=%d W=%d OC=%d KH=%d KW=%d)", op, c->B, c->IC,
                c->H, c->W, c->OC, c->KH, c->KW);
  if (c->sh < 1 || c->sw < 1) return fail(DUSA_ERR_INVALID, "%s: strides must be >= 1, got (%d, %d)", op, c->sh, c->sw);
  if (c->pt < 0 || c->pb < 0 || c->pl < 0 || c->pr < 0)
    return fail(DUSA_ERR_INVALID, "%s: pads must be >= 0, got (top %d, bottom %d, left %d, right %d)", op, c->pt,
                c->pb, c->pl, c->pr);
  if (c->H + c->pt + c->pb < c->KH)
    return fail(DUSA_ERR_INVALID, "%s: H + pads (%d) smaller than KH (%d)", op, c->H + c->pt + c->pb, c->KH);
  if (c->W + c->pl + c->pr < c->KW)
    return fail(DUSA_ERR_INVALID, "%s: W + pads (%d) smaller than KW (%d)", op, c->W + c->pl + c->pr, c->KW);
  c->OH = (c->H + c->pt + c->pb - c->KH) / c->sh + 1;
  c->OW = (c->W + c->pl + c->pr - c->KW) / c->sw + 1;
  return DUSA_OK;
}

}  // namespace dusa
