// A beacon Engine with a recording sink and a hand-driven clock, for tests that drive
// the protocol without sockets.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/beacon/beacon.h"

namespace pilot::beacon::testing {

struct Sent {
  Endpoint to;
  Via via;
  uint8_t gossip_socket;
  OutKind kind;
  std::string bytes;
};

class RecordingSink : public Sink {
 public:
  void send(const Datagram& d) override {
    std::string b(d.head);
    b.append(d.body);
    sent.push_back({d.to, d.via, d.gossip_socket, d.kind, std::move(b)});
  }
  std::vector<Sent> take() { return std::exchange(sent, {}); }
  std::vector<Sent> sent;
};

inline std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

class EngineTest : public ::testing::Test {
 protected:
  static constexpr int64_t S = kSecond;

  void make(Config cfg = {}, Policy* policy = nullptr) { engine_ = std::make_unique<Engine>(std::move(cfg), policy); }
  Engine& engine() {
    if (!engine_) make();
    return *engine_;
  }

  // Feeds one datagram and returns what the engine sent because of it.
  std::vector<Sent> feed(const std::string& d, const Endpoint& from, Via via = kAnyVia) {
    engine().handle(d, Source{from, via}, now_, sink_);
    return sink_.take();
  }
  std::vector<Sent> discover(uint32_t id, const Endpoint& from, Via via = kAnyVia) {
    return feed(encode(Discover{id, false, {}}), from, via);
  }
  std::vector<Sent> punch(uint32_t requester, uint32_t target, const Endpoint& from) {
    return feed(encode(PunchRequest{requester, target, {}}), from);
  }
  std::vector<Sent> relay(uint32_t sender, uint32_t dest, std::string_view payload, const Endpoint& from) {
    return feed(encode(Relay{sender, dest, payload}), from);
  }
  void advance(int64_t ns) {
    now_.mono_ns += ns;
    now_.unix_s += ns / S;
  }
  Counters counters() { return engine().counters(); }

  Time now_{1000 * S, 1'700'000'000};
  RecordingSink sink_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace pilot::beacon::testing
