#include "tensor/random.h"

#include <cmath>
#include <cstring>

#include "tensor/check.h"

namespace gan {
namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
  for (uint64_t& s : s_) s = splitmix64(seed);
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

float Rng::uniform() { return static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f); }

float Rng::uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }

float Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // 1 - u keeps the log argument in (0, 1].
  const double u1 = 1.0 - static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0);
  const double u2 = static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0);
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = static_cast<float>(r * std::sin(2.0 * M_PI * u2));
  has_spare_ = true;
  return static_cast<float>(r * std::cos(2.0 * M_PI * u2));
}

uint64_t Rng::below(uint64_t n) {
  GANOMALY_CHECK(n > 0, "Rng::below: n must be positive");
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // rejection keeps it unbiased
  uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return x % n;
}

std::vector<int> Rng::permutation(int n) {
  std::vector<int> p(n);
  for (int i = 0; i < n; ++i) p[i] = i;
  for (int i = n - 1; i > 0; --i) std::swap(p[i], p[below(i + 1)]);
  return p;
}

std::vector<uint64_t> Rng::state() const {
  uint64_t spare_bits = 0;
  std::memcpy(&spare_bits, &spare_, sizeof(spare_));
  return {s_[0], s_[1], s_[2], s_[3], has_spare_ ? 1ull : 0ull, spare_bits};
}

void Rng::set_state(const std::vector<uint64_t>& s) {
  GANOMALY_CHECK(s.size() == 6, "Rng::set_state: expected 6 words, got ", s.size());
  for (int i = 0; i < 4; ++i) s_[i] = s[i];
  has_spare_ = s[4] != 0;
  std::memcpy(&spare_, &s[5], sizeof(spare_));
}

}  // namespace gan
