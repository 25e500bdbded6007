// storage.cpp — the CPU backend's bf16 staging (storage.h).
#include "storage.h"

#include <cstring>
#include <new>

#include "bf16.h"

namespace dusa {

Bf16Staging::Bf16Staging(dusa_ctx* ctx) : ctx_(ctx) { ctx_->storage = DUSA_DTYPE_F32; }

Bf16Staging::~Bf16Staging() { ctx_->storage = DUSA_DTYPE_BF16; }

float* Bf16Staging::widen(const float* p, uint64_t n) {
  if (!p || n == 0) return const_cast<float*>(p);
  float* data = new (std::nothrow) float[n];
  if (!data) {
    oom_ = true;
    return nullptr;
  }
  buffers_.emplace_back(data);
  const uint16_t* src = reinterpret_cast<const uint16_t*>(p);
  for (uint64_t i = 0; i < n; i++) {
    uint32_t bits = bf16_to_bits(src[i]);
    std::memcpy(data + i, &bits, 4);
  }
  return data;
}

const float* Bf16Staging::in(const float* p, uint64_t n) { return widen(p, n); }

float* Bf16Staging::out(float* p, uint64_t n) {
  float* data = widen(p, n);
  if (!data || data == p) return data;
  uint16_t* dst = reinterpret_cast<uint16_t*>(p);
  uint16_t* original = new (std::nothrow) uint16_t[n];
  if (!original) {
    oom_ = true;
    return nullptr;
  }
  std::memcpy(original, dst, n * sizeof(uint16_t));
  originals_.emplace_back(original);
  outputs_.push_back({dst, data, original, n});
  return data;
}

int Bf16Staging::finish(int status) {
  if (oom_) return fail(DUSA_ERR_OOM, "bf16 storage: no host memory for the fp32 copies of the arguments");
  if (status != DUSA_OK) return status;
  // Only the elements the op changed are stored: outputs may be overlapping strided views of one buffer
  // (attention's dq, dk, dv in a packed dqkv), each staged whole with the others' elements in it. "Changed" is
  // judged in fp32, against the widened original: a round trip is not the identity for a signalling NaN (it comes
  // back quiet), so judging by the rounded bits would store garbage over a neighbour's result.
  for (const Output& o : outputs_)
    for (uint64_t i = 0; i < o.n; i++) {
      uint32_t bits;
      std::memcpy(&bits, o.data + i, 4);
      if (bits != bf16_to_bits(o.original[i])) o.dst[i] = bf16_from_bits(bits);
    }
  return DUSA_OK;
}

}  // namespace dusa
