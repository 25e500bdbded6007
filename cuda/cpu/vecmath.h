// vecmath.h — exp and erfc in plain float arithmetic, so loops using them vectorise (libm's versions do not
// without -ffast-math). expf: Cody–Waite reduction + the Cephes polynomial, about 1 ulp. erfc: the Chebyshev
// fit of Numerical Recipes (erfcc), relative error below 1.2e-7 everywhere.
#pragma once
#include <cmath>
#include <cstdint>

namespace dusa {

inline float exp_vec(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  float n = std::floor(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = ((int32_t)n + 127) << 23;
  return p * __builtin_bit_cast(float, bits);
}

// erfc(z) for z >= 0
inline float erfc_nonneg(float z) {
  float t = 1.0f / (1.0f + 0.5f * z);
  float poly = -0.82215223f + t * 0.17087277f;
  poly = 1.48851587f + t * poly;
  poly = -1.13520398f + t * poly;
  poly = 0.27886807f + t * poly;
  poly = -0.18628806f + t * poly;
  poly = 0.09678418f + t * poly;
  poly = 0.37409196f + t * poly;
  poly = 1.00002368f + t * poly;
  poly = -1.26551223f + t * poly;
  return t * exp_vec(-z * z + poly);
}

}  // namespace dusa
