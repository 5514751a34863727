#pragma once
// A seeded generator the caller owns (xoshiro256** seeded by splitmix64). Own code, not
// std distributions, so the same seed gives the same numbers with every compiler.
#include <cstdint>
#include <vector>

namespace gan {

class Rng {
 public:
  explicit Rng(uint64_t seed = 42);
  uint64_t next_u64();
  float uniform();                  // [0, 1)
  float uniform(float lo, float hi);
  float normal();                   // N(0, 1), Box-Muller
  uint64_t below(uint64_t n);       // uniform integer in [0, n)
  std::vector<int> permutation(int n);  // Fisher-Yates
  // The whole state, for resumable checkpoints.
  std::vector<uint64_t> state() const;
  void set_state(const std::vector<uint64_t>& s);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  float spare_ = 0.0f;
};

}  // namespace gan
