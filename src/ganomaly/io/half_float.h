#pragma once
// IEEE 754 binary16 ("half precision") for weights stored at half size in model files
// (checkpoint_io.h, format 2). Done by hand, bit by bit, rather than with the compilers'
// _Float16, which GCC has on x86-64 only since version 12 and clang later still.
#include <cstdint>

namespace gan {

// Rounds to the nearest binary16, ties to even, subnormals included; beyond the largest
// finite half (65504, rounding up from 65520) gives infinity; a NaN stays a NaN, its top
// payload bits kept and made quiet.
uint16_t float_to_half(float value);
// Exact: every binary16 is a float.
float half_to_float(uint16_t half);

// The largest finite binary16.
constexpr float kHalfMax = 65504.0f;

}  // namespace gan
