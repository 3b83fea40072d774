// The engine from several threads at once, as the UDP server drives it (one reader
// thread per socket, plus the timer thread for gossip, reaping and notify). Meant to
// be run under ThreadSanitizer (-DPILOT_TSAN=ON); in a plain build it checks that the
// counters add up.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "net/beacon/beacon.h"
#include "test/beacon/engine_fixture.h"

namespace pilot::beacon {
namespace {

class CountingSink : public Sink {
 public:
  void send(const Datagram& d) override {
    ++by_kind[static_cast<size_t>(d.kind)];
    bytes += d.size();
  }
  std::array<uint64_t, 6> by_kind{};
  uint64_t bytes = 0;
};

TEST(BeaconConcurrency, ReadersAndTimerShareOneEngine) {
  Config cfg;
  cfg.strict_gossip = false;
  cfg.punch_whitelist = {"*"};
  cfg.shard_capacity = 50;
  Engine engine(cfg);
  engine.set_peers({Endpoint::v4(192, 0, 2, 1, 9001)});
  std::atomic<int64_t> clock{1000 * kSecond};
  std::atomic<bool> stop{false};
  constexpr int kReaders = 4;
  std::array<CountingSink, kReaders> sinks;
  std::vector<std::thread> threads;
  for (int t = 0; t < kReaders; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 40000; ++i) {
        uint32_t a = rng() % 4000, b = rng() % 4000;
        Endpoint from = Endpoint::v4(198, 51, static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a), 4000);
        Time now{clock.load(), 1'700'000'000};
        std::string d;
        switch (rng() % 5) {
          case 0: d = encode(Discover{a, (rng() & 1) == 1, {}}); break;
          case 1: d = encode(PunchRequest{a, b, {}}); break;
          case 2: {
            std::vector<uint32_t> ids{b, b + 1, b + 2};
            d = encode_sync(1, ids);
            from = Endpoint::v4(192, 0, 2, static_cast<uint8_t>(rng() % 4), 9001);
            break;
          }
          default: d = encode(Relay{a, b, "payload"});
        }
        engine.handle(d, Source{from}, now, sinks[t]);
      }
    });
  }
  CountingSink timer_sink;
  std::thread timer([&] {
    for (int i = 0; !stop.load(); ++i) {
      Time now{clock.fetch_add(kSecond) + kSecond, 1'700'000'000};
      engine.gossip_tick(now, timer_sink);
      engine.notify(static_cast<uint32_t>(i % 4000), now, timer_sink);
      engine.reap(now);
      if (i % 10 == 0) engine.set_peers({Endpoint::v4(192, 0, 2, 1, 9001), Endpoint::v4(192, 0, 2, 2, 9001)});
      (void)engine.counters();
      std::this_thread::yield();
    }
  });
  for (auto& t : threads) t.join();
  stop = true;
  timer.join();

  Counters c = engine.counters();
  uint64_t replies = 0, relays = 0, punches = 0;
  for (const auto& s : sinks) {
    replies += s.by_kind[static_cast<size_t>(OutKind::kDiscoverReply)];
    punches += s.by_kind[static_cast<size_t>(OutKind::kPunchCommand)];
    relays +=
        s.by_kind[static_cast<size_t>(OutKind::kRelayDeliver)] + s.by_kind[static_cast<size_t>(OutKind::kRelayForward)];
  }
  EXPECT_EQ(c.discover_replies, replies);
  EXPECT_EQ(c.punch_commands, punches);
  EXPECT_EQ(c.relay_forwarded, relays);
  EXPECT_GT(replies, 0u);
  EXPECT_GT(relays, 0u);
  EXPECT_EQ(c.recovered, 0u);
  EXPECT_LE(engine.nodes().size(), cfg.shard_capacity * kNodeShards);
}

}  // namespace
}  // namespace pilot::beacon
