// splitmix64: a tiny, fast, well-mixed generator. The benches derive keys, fields and
// choices from it so that two runs write and send the same bytes.
#pragma once

#include <cstdint>

namespace pilot::bench {

inline uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace pilot::bench
