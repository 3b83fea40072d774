// Throughput measurements, disabled by default (timings on a shared machine are not
// pass/fail material). Run with:
//   projections_tests --gtest_also_run_disabled_tests --gtest_filter='*Bench*'
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "projections/snapshot.h"
#include "test/projections/helpers.h"
#include "test/support/temp_dir.h"

namespace pilot {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

PublicKey key_of(uint32_t i) {
  PublicKey k{};
  for (size_t b = 0; b < k.size(); ++b) k[b] = static_cast<uint8_t>((i * 2654435761u) >> ((b % 4) * 8)) ^ uint8_t(b);
  return k;
}

NodeRegistered registration(uint32_t id) {
  NodeRegistered e;
  e.node_id = id;
  e.public_key = key_of(id);
  e.owner = id % 3 == 0 ? "owner-" + std::to_string(id) + "@example.com" : "";
  e.real_addr = "203.0.113." + std::to_string(id % 250) + ":" + std::to_string(4000 + id % 1000);
  e.lan_addrs = {"192.168.1." + std::to_string(id % 250) + ":4000"};
  e.version = "v1.4.2";
  return e;
}

constexpr uint32_t kNodes = 1'000'000;

// CPU time of this thread (the machine may be shared).
double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

TEST(ProjectionsBench, DISABLED_ApplyNodeRegistered) {
  std::vector<Event> events;
  events.reserve(kNodes);
  for (uint32_t i = 1; i <= kNodes; ++i) events.emplace_back(registration(i));
  State s;
  EventMeta m{0, 1, 1'700'000'000'000'000'000};
  auto run = [&](const char* what) {
    auto t0 = std::chrono::steady_clock::now();
    double c0 = cpu_seconds();
    for (const Event& e : events) {
      ++m.seq;
      m.time_ns += 1000;
      s.apply(m, e);
    }
    double cpu = cpu_seconds() - c0;
    std::printf("%-32s %zu events: wall %.3f s, cpu %.3f s = %.2f M events/s (cpu)\n", what, events.size(),
                seconds_since(t0), cpu, events.size() / cpu / 1e6);
    return cpu;
  };
  double c_new = run("new nodes (no reserve)");
  double c_refresh = run("endpoint refreshes");
  run("endpoint refreshes again");
  std::printf("mixed 1:1 new/refresh: %.2f M events/s (cpu)\n", 2 * kNodes / (c_new + c_refresh) / 1e6);
  EXPECT_EQ(s.directory.size(), kNodes);

  s = State();
  s.directory.reserve(kNodes);
  run("new nodes (reserved)");
}

TEST(ProjectionsBench, DISABLED_SnapshotMillionNodes) {
  State s;
  s.directory.reserve(kNodes);
  EventMeta m{0, 1, 1'700'000'000'000'000'000};
  auto next = [&] {
    ++m.seq;
    m.time_ns += 1000;
    return m;
  };
  for (uint32_t i = 1; i <= kNodes; ++i) {
    s.apply(next(), registration(i));
    if (i % 2 == 0) s.apply(next(), HostnameChanged{i, "host-" + std::to_string(i)});
    if (i % 4 == 0) s.apply(next(), TagsChanged{i, {"gpu", "eu-west"}});
    if (i % 10 == 0) s.apply(next(), NodeExpired{i});
  }
  for (uint16_t n = 1; n <= 100; ++n) {
    s.apply(next(), NetworkCreated{n, "net-" + std::to_string(n), "open", "", "", n % 2 == 0, n, "", ""});
    for (uint32_t j = 0; j < 1000; ++j)
      s.apply(next(), MemberJoined{n, 1 + (n * 7919u + j * 104729u) % kNodes, Role::kMember});
  }
  for (uint32_t i = 1; i < 100000; ++i) s.apply(next(), TrustAdded{i, i + 1});

  testsupport::TempDir dir;
  std::string path = dir.path() + "/snapshot.db";
  auto t0 = std::chrono::steady_clock::now();
  save_snapshot(s, path);
  double save_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  std::string err;
  auto back = load_snapshot(path, &err);
  double load_s = seconds_since(t0);
  ASSERT_TRUE(back.has_value()) << err;
  std::printf(
      "%zu live nodes, %zu key bindings, 100x1000 members, %zu trust pairs: save %.2f s, load %.2f s, file %.1f MB\n",
      s.directory.size(), s.directory.key_index().size(), s.trust.pair_count(), save_s, load_s,
      std::filesystem::file_size(path) / 1e6);
  EXPECT_TRUE(*back == s);
}

}  // namespace
}  // namespace pilot
