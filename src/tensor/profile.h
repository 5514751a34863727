#pragma once
// Where a step's CPU time goes, per op family: ganomaly_bench --profile turns it on. Off
// (the default) a Scope costs one load and one predictable branch per kernel call.
//
// The profile follows the thread that turned it on and runs the step (the caller: OpenMP
// thread 0 of each kernel's parallel region). Each op family is charged the process CPU
// time (every thread's) that passes while that thread is inside one of its Scopes and in
// no nested one, so a kernel's OpenMP workers, spinning or working, count for the op that
// started them. Inside a convolution that splits whole images or its batch over the
// threads (tensor/cpu/conv.cpp), the caller's own split between im2col and GEMM stands
// for every thread's. CPU time outside every Scope (the autograd tape, op glue) is reported as
// the step's remainder by the caller.
#include <array>
#include <cstdint>

namespace gan::profile {

enum class Op : int {
  gemm,         // the packed SGEMM (tensor/cpu/gemm.cpp)
  im2col,       // im2col and col2im (tensor/cpu/im2col.cpp)
  conv_layout,  // a convolution's channel gathers and scatters, bias and its gradient
  conv_other,   // the rest of a convolution (zero fills, per-thread gradient sums)
  batch_norm,
  activation,
  elementwise,  // binary ops, affine, add_scaled, add_product, add_broadcast
  reduce_loss,  // sums and losses
  copy_fill,    // copies between tensors, fills, padding
  optimizer,    // Adam and the weight average
  allocation,   // Storage: the pool and malloc
  count
};
constexpr int kOps = static_cast<int>(Op::count);
const char* name(Op op);

struct Totals {
  std::array<double, kOps> cpu_seconds{};  // process CPU time, exclusive of nested scopes
  std::array<double, kOps> wall_seconds{};
  std::array<int64_t, kOps> calls{};
};

namespace detail {
extern bool enabled;
void enter(Op op);
void leave();
}  // namespace detail

// Turns the profile on or off (not while a Scope is open) and clears or reads the totals.
void set_enabled(bool on);
inline bool enabled() { return detail::enabled; }
void reset();
Totals totals();

// Charges the time until its end (less nested scopes) to `op`.
class Scope {
 public:
  explicit Scope(Op op) : active_(detail::enabled) {
    if (active_) detail::enter(op);
  }
  ~Scope() {
    if (active_) detail::leave();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  bool active_;
};

}  // namespace gan::profile
