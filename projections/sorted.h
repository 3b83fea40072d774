// Deterministic iteration over unordered maps: snapshots and debug dumps must not
// depend on hash order.
#pragma once

#include <algorithm>
#include <vector>

namespace pilot {

template <class M>
std::vector<typename M::key_type> sorted_keys(const M& m) {
  std::vector<typename M::key_type> keys;
  keys.reserve(m.size());
  for (const auto& kv : m) keys.push_back(kv.first);
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace pilot
