// Small helpers shared by the projection tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/events.h"
#include "projections/state.h"

namespace pilot::projtest {

inline PublicKey key(uint8_t n) {
  PublicKey k{};
  k.fill(n);
  return k;
}

// Hands out EventMeta with increasing seq and time (1 s apart).
struct Clock {
  uint64_t seq = 0;
  uint64_t term = 1;
  int64_t time_ns = 1'700'000'000'000'000'000;
  EventMeta next() {
    ++seq;
    time_ns += 1'000'000'000;
    return {seq, term, time_ns};
  }
  // The time the next event will carry.
  int64_t peek() const { return time_ns + 1'000'000'000; }
};

inline NodeRegistered reg(uint32_t id, uint8_t k, std::string owner = "", std::string addr = "1.2.3.4:4000") {
  NodeRegistered e;
  e.node_id = id;
  e.public_key = key(k);
  e.owner = std::move(owner);
  e.real_addr = std::move(addr);
  return e;
}

// Applies events to a State with a Clock; the last_hash stands in for the log's chain
// hash (a function of seq, so two states fed the same records agree).
struct Feeder {
  State state;
  Clock clock;
  void operator()(const Event& e) {
    EventMeta m = clock.next();
    state.apply(m, e);
    state.last_hash = fake_hash(m.seq);
  }
  static std::array<uint8_t, 32> fake_hash(uint64_t seq) {
    std::array<uint8_t, 32> h{};
    for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>((seq * 131 + i * 7) & 0xff);
    return h;
  }
};

}  // namespace pilot::projtest
