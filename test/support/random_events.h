// Random values for event fields, shared by the event, log and projection tests.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "core/events.h"

namespace pilot::testsupport {

inline void fill_random(bool& v, std::mt19937_64& rng) { v = rng() & 1; }
inline void fill_random(uint8_t& v, std::mt19937_64& rng) { v = static_cast<uint8_t>(rng()); }
inline void fill_random(uint16_t& v, std::mt19937_64& rng) { v = static_cast<uint16_t>(rng()); }
inline void fill_random(uint32_t& v, std::mt19937_64& rng) { v = static_cast<uint32_t>(rng()); }
inline void fill_random(uint64_t& v, std::mt19937_64& rng) { v = rng(); }
inline void fill_random(int64_t& v, std::mt19937_64& rng) { v = static_cast<int64_t>(rng()); }
inline void fill_random(Role& v, std::mt19937_64& rng) { v = static_cast<Role>(rng() % 4); }
inline void fill_random(LeaveReason& v, std::mt19937_64& rng) { v = static_cast<LeaveReason>(rng() % 3); }
inline void fill_random(PublicKey& v, std::mt19937_64& rng) {
  for (auto& b : v) b = static_cast<uint8_t>(rng());
}
inline void fill_random(std::string& v, std::mt19937_64& rng) {
  v.clear();
  size_t n = rng() % 40;
  for (size_t i = 0; i < n; ++i) v.push_back(static_cast<char>(rng()));  // any bytes, NULs included
}
template <class T>
void fill_random(std::vector<T>& v, std::mt19937_64& rng) {
  v.resize(rng() % 5);
  for (auto& e : v) fill_random(e, rng);
}

// An event (or any struct with fields()) with every field random.
template <class E>
E filled(std::mt19937_64& rng) {
  E e;
  E::fields(e, [&](std::string_view, auto& v) { fill_random(v, rng); });
  return e;
}

}  // namespace pilot::testsupport
