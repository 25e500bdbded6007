// storage.h — bf16 storage on the CPU backend, the reference of that mode. An op called on a bf16 context stages
// its dusa_act arguments: inputs are widened to fp32 copies, outputs get fp32 buffers holding their current values,
// the op runs once more on those in fp32, and finish() rounds the outputs back to bf16 (round to nearest even).
// So bf16 storage means exactly: fp32 math on the stored values, each output rounded once. An element the op does
// not write keeps its bits: only changed elements are stored back.
//
// Use, before DUSA_OP (the inner fp32 call is the one profiled):
//   if (dusa::stores_bf16(ctx)) {
//     dusa::Bf16Staging s(ctx);
//     return s.finish(dusa_op(ctx, s.out(out, n), s.in(in, n), ...));
//   }
// Sizes come from the op's own int arguments through count(), which gives 0 for a negative one, so a bad size
// reaches the inner call's checks unchanged instead of a huge copy.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "cpu.h"

namespace dusa {

inline bool stores_bf16(const dusa_ctx* ctx) { return ctx && ctx->storage == DUSA_DTYPE_BF16; }

// The product of sizes in 64 bits; 0 when any is negative.
template <class... Ints>
uint64_t count(Ints... sizes) {
  uint64_t n = 1;
  for (int64_t s : {(int64_t)sizes...}) {
    if (s < 0) return 0;
    n *= (uint64_t)s;
  }
  return n;
}

// The extent of `rows` rows of `width` elements at `stride` elements apart (a strided view's span).
inline uint64_t span(int64_t rows, int64_t stride, int64_t width) {
  if (rows <= 0 || width <= 0 || stride < 0) return 0;
  return (uint64_t)(rows - 1) * (uint64_t)stride + (uint64_t)width;
}

class Bf16Staging {
 public:
  explicit Bf16Staging(dusa_ctx* ctx);  // switches ctx to fp32 storage for the inner call
  ~Bf16Staging();                       // and back to bf16
  Bf16Staging(const Bf16Staging&) = delete;
  Bf16Staging& operator=(const Bf16Staging&) = delete;

  // An fp32 copy of the n bf16 values at p (null and n == 0 pass through).
  const float* in(const float* p, uint64_t n);
  // An fp32 buffer holding the n bf16 values at p, rounded back into p by finish().
  float* out(float* p, uint64_t n);
  // Rounds the outputs back when status is DUSA_OK; returns status (DUSA_ERR_OOM if staging ran out of memory).
  int finish(int status);

 private:
  struct Output {
    uint16_t* dst;
    float* data;
    const uint16_t* original;  // dst's bits before the op
    uint64_t n;
  };
  float* widen(const float* p, uint64_t n);

  dusa_ctx* ctx_;
  bool oom_ = false;
  std::vector<std::unique_ptr<float[]>> buffers_;
  std::vector<std::unique_ptr<uint16_t[]>> originals_;
  std::vector<Output> outputs_;
};

}  // namespace dusa
