#include "tensor/profile.h"

#include <ctime>

namespace gan::profile {
namespace detail {
bool enabled = false;
}

namespace {

int64_t now_ns(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// Only the thread that turned the profile on records (the caller: OpenMP thread 0 of
// every kernel's parallel region), so the state needs no lock: the open scopes' ops,
// innermost last. Not omp_get_thread_num() == 0: inside a region nested in another
// (a convolution's batch shards, tensor/cpu/conv.cpp) every thread is thread 0 of its
// own one-thread team.
constexpr int kMaxDepth = 16;
struct State {
  Op stack[kMaxDepth];
  int depth = 0;
  int64_t last_cpu = 0, last_wall = 0;
  int64_t cpu_ns[kOps] = {}, wall_ns[kOps] = {}, calls[kOps] = {};
};
State state;
thread_local bool recorder = false;

bool recording_thread() { return recorder; }

// Charges the time since the last event to the innermost open scope.
void charge() {
  const int64_t cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID), wall = now_ns(CLOCK_MONOTONIC);
  if (state.depth > 0) {
    const int op = static_cast<int>(state.stack[(state.depth < kMaxDepth ? state.depth : kMaxDepth) - 1]);
    state.cpu_ns[op] += cpu - state.last_cpu;
    state.wall_ns[op] += wall - state.last_wall;
  }
  state.last_cpu = cpu;
  state.last_wall = wall;
}

}  // namespace

namespace detail {

// Deeper than kMaxDepth (never in the engine) is charged to the scope at that depth.
// A scope nested in one of its own op (im2col_group calling im2col_rows) reads no clock:
// the time goes to the same op either way.
void enter(Op op) {
  if (!recording_thread()) return;
  ++state.calls[static_cast<int>(op)];
  if (!(state.depth > 0 && state.depth <= kMaxDepth && state.stack[state.depth - 1] == op)) charge();
  if (state.depth < kMaxDepth) state.stack[state.depth] = op;
  ++state.depth;
}

void leave() {
  if (!recording_thread()) return;
  const bool same = state.depth >= 2 && state.depth <= kMaxDepth &&
                    state.stack[state.depth - 1] == state.stack[state.depth - 2];
  if (!same) charge();
  --state.depth;
}

}  // namespace detail

const char* name(Op op) {
  switch (op) {
    case Op::gemm: return "GEMM";
    case Op::im2col: return "im2col / col2im";
    case Op::conv_layout: return "conv gathers, scatters, bias";
    case Op::conv_other: return "conv other (fills, gradient sums)";
    case Op::batch_norm: return "batch norm";
    case Op::activation: return "activations";
    case Op::elementwise: return "elementwise";
    case Op::reduce_loss: return "sums and losses";
    case Op::copy_fill: return "copies, fills, padding";
    case Op::optimizer: return "Adam, weight average";
    case Op::allocation: return "allocation";
    case Op::count: break;
  }
  return "?";
}

void set_enabled(bool on) {
  state.depth = 0;
  recorder = on;
  detail::enabled = on;
}

void reset() {
  const int depth = state.depth;
  state = State{};
  state.depth = depth;
  state.last_cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  state.last_wall = now_ns(CLOCK_MONOTONIC);
}

Totals totals() {
  Totals t;
  for (int i = 0; i < kOps; ++i) {
    t.cpu_seconds[i] = 1e-9 * static_cast<double>(state.cpu_ns[i]);
    t.wall_seconds[i] = 1e-9 * static_cast<double>(state.wall_ns[i]);
    t.calls[i] = state.calls[i];
  }
  return t;
}

}  // namespace gan::profile
