#include "ganomaly/io/half_float.h"

#include <cstring>

namespace gan {

uint16_t float_to_half(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  const uint16_t sign = uint16_t((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u)  // infinity, or a NaN (made quiet, so that no payload turns it into infinity)
    return uint16_t(sign | 0x7C00u | (abs > 0x7F800000u ? 0x200u | ((abs >> 13) & 0x3FFu) : 0u));
  if (abs >= 0x477FF000u) return uint16_t(sign | 0x7C00u);  // 65520 and above round to infinity
  if (abs >= 0x38800000u) {  // a normal half (2^-14 and above): rebias the exponent, round the mantissa
    const uint32_t rebiased = abs - 0x38000000u;  // exponent bias 127 -> 15
    // A carry out of the mantissa moves into the exponent, which is the right result.
    return uint16_t(sign | ((rebiased + 0xFFFu + ((rebiased >> 13) & 1u)) >> 13));
  }
  if (abs < 0x33000000u) return sign;  // below 2^-25 (half the smallest subnormal): zero
  // A subnormal half: the value in units of 2^-24, rounded to the nearest even.
  const uint32_t mantissa = (abs & 0x7FFFFFu) | 0x800000u;
  const int shift = 126 - int(abs >> 23);  // 14 to 24
  uint32_t q = mantissa >> shift;
  const uint32_t rest = mantissa & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (q & 1u))) ++q;  // 0x400 is the smallest normal: still right
  return uint16_t(sign | q);
}

float half_to_float(uint16_t half) {
  const uint32_t sign = uint32_t(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1Fu, mantissa = half & 0x3FFu;
  uint32_t bits;
  if (exponent == 0x1Fu) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else {  // zero or a subnormal: mantissa x 2^-24, exact in float
    float v = float(mantissa) * (1.0f / 16777216.0f);
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  }
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

}  // namespace gan
