// Registry request rate limiting and the whitelist (spec §3.1, §21 items 21–25).
// Time is simulated: every admit() gets an explicit now_ns.
#include "net/rpc/rate_limit.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "net/rpc/whitelist.h"
#include "test/support/temp_dir.h"

namespace pilot::rpc {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

IpAddr ip(std::string_view text) {
  auto a = IpAddr::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddr{});
}

// The per-IP bucket alone: a global bucket too large to matter.
RateLimitConfig per_ip(double rate, double burst, size_t max_ips = 50000) {
  RateLimitConfig c;
  c.per_ip_rate = rate;
  c.per_ip_burst = burst;
  c.max_ips = max_ips;
  c.global_rate = 1e9;
  c.global_burst = 1e9;
  return c;
}

// How many of `tries` requests from `peer` at instant `now` are admitted.
int admitted_of(RateLimiter& rl, const IpAddr& peer, int64_t now, int tries) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += rl.admit(peer, now) == Deny::kNone;
  return n;
}

std::shared_ptr<const Whitelist> whitelist(std::string_view json) {
  std::string err;
  auto wl = Whitelist::parse(json, err);
  EXPECT_TRUE(wl.has_value()) << err;
  return std::make_shared<const Whitelist>(wl.value_or(Whitelist{}));
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  ASSERT_TRUE(f.good()) << path;
}

// ---- IpAddr -----------------------------------------------------------------------

TEST(IpAddr, ParsesAndPrintsBothFamilies) {
  IpAddr a = ip("192.0.2.7");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a, IpAddr::v4(192, 0, 2, 7));
  EXPECT_EQ(a.to_string(), "192.0.2.7");
  EXPECT_EQ(ip("::ffff:192.0.2.7"), a);  // what a dual-stack socket reports
  EXPECT_EQ(ip("::ffff:c000:207"), a);

  IpAddr b = ip("2001:DB8:0:0::1");
  EXPECT_FALSE(b.is_v4());
  EXPECT_EQ(b.to_string(), "2001:db8::1");
  EXPECT_EQ(ip("::").to_string(), "::");
  EXPECT_EQ(ip("::1").to_string(), "::1");
  EXPECT_FALSE(ip("::1").is_v4());
  EXPECT_EQ(ip("0.0.0.0").to_string(), "0.0.0.0");
  EXPECT_EQ(ip("255.255.255.255").to_string(), "255.255.255.255");
  EXPECT_LT(ip("10.0.0.1"), ip("10.0.0.2"));
}

TEST(IpAddr, RejectsMalformedText) {
  for (std::string_view bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "01.2.3.4", "1.2.3.04", "1..2.3",
                               " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/32", "[::1]", "fe80::1%eth0", "2001:db8:::1",
                               "2001:db8::1::2", "12345::", "example.com", "0x7f.0.0.1", "1.2.3.4:80"}) {
    EXPECT_FALSE(IpAddr::parse(bad).has_value()) << '"' << bad << '"';
  }
  EXPECT_FALSE(IpAddr::parse(std::string_view("::1\0:2", 6)).has_value()) << "embedded NUL";
  EXPECT_FALSE(IpAddr::parse(std::string(200, ':')).has_value());
}

TEST(IpAddr, FromSockaddr) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(9000);
  ASSERT_EQ(inet_pton(AF_INET, "203.0.113.9", &in.sin_addr), 1);
  EXPECT_EQ(IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&in)), ip("203.0.113.9"));

  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:203.0.113.9", &in6.sin6_addr), 1);
  EXPECT_EQ(IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&in6)), ip("203.0.113.9"));
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::42", &in6.sin6_addr), 1);
  EXPECT_EQ(IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&in6)).to_string(), "2001:db8::42");

  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_EQ(IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&un)), IpAddr{});
  EXPECT_EQ(IpAddr::from_sockaddr(nullptr), IpAddr{});
}

// ---- per-IP bucket ----------------------------------------------------------------

TEST(RateLimiter, BucketAdmitsBurstThenDeniesAndRefills) {
  RateLimiter rl(per_ip(100, 100));
  IpAddr a = ip("198.51.100.1");
  int64_t t = 5 * kSec;
  EXPECT_EQ(admitted_of(rl, a, t, 100), 100);
  EXPECT_EQ(rl.admit(a, t), Deny::kIp);
  EXPECT_EQ(rl.admit(a, t + 9 * kMs), Deny::kIp);
  // 100/s: one request's worth every 10 ms.
  EXPECT_EQ(admitted_of(rl, a, t + 10 * kMs, 5), 1);
  EXPECT_EQ(admitted_of(rl, a, t + 510 * kMs, 100), 50);
  // After a full second of quiet the whole burst is back, and no more.
  EXPECT_EQ(admitted_of(rl, a, t + 2 * kSec, 200), 100);
  EXPECT_EQ(rl.denied(Deny::kIp), 1 + 1 + 4 + 50 + 100u);
  EXPECT_EQ(rl.admitted(), 100 + 1 + 50 + 100u);
  EXPECT_EQ(rl.denied(Deny::kGlobal), 0u);
  EXPECT_EQ(rl.denied(Deny::kBucketTable), 0u);
}

TEST(RateLimiter, SustainedFloodGetsExactlyTheConfiguredRate) {
  RateLimiter rl(per_ip(100, 100));
  IpAddr a = ip("2001:db8::7");
  int64_t start = 1 * kSec;
  uint64_t admitted = 0;
  for (int64_t t = start; t <= start + 10 * kSec; t += kMs) {  // 1000 req/s for 10 s
    admitted += rl.admit(a, t) == Deny::kNone;
    int64_t elapsed = t - start;
    ASSERT_LE(admitted * kSec, uint64_t(100 * kSec + 100 * elapsed)) << "over-admission at +" << elapsed;
  }
  EXPECT_GE(admitted, 100u + 1000u - 1);
}

TEST(RateLimiter, BucketsArePerIp) {
  RateLimiter rl(per_ip(1, 3));
  int64_t t = kSec;
  EXPECT_EQ(admitted_of(rl, ip("192.0.2.1"), t, 10), 3);
  EXPECT_EQ(admitted_of(rl, ip("192.0.2.2"), t, 10), 3);
  EXPECT_EQ(admitted_of(rl, ip("2001:db8::1"), t, 10), 3);
  EXPECT_EQ(admitted_of(rl, ip("2001:db8::2"), t, 10), 3);
  // The IPv4-mapped spelling is the same peer, not a fresh bucket.
  EXPECT_EQ(admitted_of(rl, ip("::ffff:192.0.2.1"), t, 10), 0);
  EXPECT_EQ(rl.tracked_ips(), 4u);
}

TEST(RateLimiter, TimeGoingBackwardsMintsNothing) {
  RateLimiter rl(per_ip(100, 10));
  IpAddr a = ip("192.0.2.1");
  EXPECT_EQ(admitted_of(rl, a, 10 * kSec, 10), 10);
  EXPECT_EQ(admitted_of(rl, a, 3 * kSec, 10), 0);
  EXPECT_EQ(admitted_of(rl, a, 10 * kSec, 10), 0);
  EXPECT_EQ(admitted_of(rl, a, 10 * kSec + 10 * kMs, 10), 1);
}

// ---- global bucket ----------------------------------------------------------------

TEST(RateLimiter, GlobalBucketCapsAllIpsTogether) {
  RateLimitConfig cfg;  // defaults: 100/s per IP, 1000/s global
  RateLimiter rl(cfg);
  std::vector<IpAddr> ips;
  for (int i = 0; i < 200; ++i) ips.push_back(IpAddr::v4(10, 0, uint8_t(i / 100), uint8_t(i % 100)));
  // 10,000 req/s spread over 200 IPs (50/s each, under the per-IP limit) for 2 s.
  int64_t start = 7 * kSec;
  uint64_t admitted = 0;
  size_t k = 0;
  for (int64_t t = start; t <= start + 2 * kSec; t += 100'000, ++k) {
    admitted += rl.admit(ips[k % ips.size()], t) == Deny::kNone;
    int64_t elapsed = t - start;
    ASSERT_LE(admitted * kSec, uint64_t(1000 * kSec + 1000 * elapsed)) << "over-admission at +" << elapsed;
  }
  EXPECT_GE(admitted, 1000u + 2000u - 1);
  EXPECT_EQ(rl.denied(Deny::kIp), 0u);
  EXPECT_EQ(rl.denied(Deny::kGlobal), k - admitted);
}

TEST(RateLimiter, GlobalDenialDoesNotChargeTheIpBucket) {
  RateLimitConfig cfg;
  cfg.per_ip_rate = 0.001;  // per-IP buckets effectively never refill in this test
  cfg.per_ip_burst = 10;
  cfg.global_rate = 1000;
  cfg.global_burst = 10;
  RateLimiter rl(cfg);
  int64_t t = kSec;
  EXPECT_EQ(admitted_of(rl, ip("192.0.2.2"), t, 10), 10);  // empties the global bucket
  IpAddr a = ip("192.0.2.1");
  for (int i = 0; i < 50; ++i) ASSERT_EQ(rl.admit(a, t), Deny::kGlobal);
  // 10 ms later the global bucket holds 10 again; a's own bucket was never charged.
  EXPECT_EQ(admitted_of(rl, a, t + 10 * kMs, 10), 10);
  EXPECT_EQ(rl.admit(a, t + 20 * kMs), Deny::kIp);
}

TEST(RateLimiter, IpDenialDoesNotChargeTheGlobalBucket) {
  RateLimitConfig cfg;
  cfg.per_ip_rate = 0.001;
  cfg.per_ip_burst = 5;
  cfg.global_rate = 0.001;
  cfg.global_burst = 10;
  RateLimiter rl(cfg);
  int64_t t = kSec;
  EXPECT_EQ(admitted_of(rl, ip("192.0.2.1"), t, 100), 5);  // 95 kIp, global keeps 5
  EXPECT_EQ(admitted_of(rl, ip("192.0.2.2"), t, 100), 5);
  EXPECT_EQ(rl.admit(ip("192.0.2.3"), t), Deny::kGlobal);
  EXPECT_EQ(rl.denied(Deny::kIp), 95u + 95u);
  EXPECT_EQ(rl.denied(Deny::kGlobal), 1u);
}

// ---- whitelist bypass -------------------------------------------------------------

TEST(RateLimiter, WhitelistBypassesEveryLimiter) {
  RateLimitConfig cfg;
  cfg.per_ip_rate = cfg.global_rate = 0.001;
  cfg.per_ip_burst = 1;
  cfg.global_burst = 2;
  cfg.max_ips = 1;
  RateLimiter rl(cfg);
  rl.set_whitelist(whitelist(R"([{"cidr": "10.0.0.0/8", "rate": 1000},
                                 {"cidr": "2001:db8::/32", "rate": 5},
                                 {"cidr": "192.0.2.7", "rate": 1},
                                 {"cidr": "2a00:1450::1", "rate": 1}])"));
  int64_t t = kSec;
  EXPECT_EQ(admitted_of(rl, ip("10.1.2.3"), t, 1000), 1000);
  EXPECT_EQ(admitted_of(rl, ip("::ffff:10.200.0.1"), t, 1000), 1000);
  EXPECT_EQ(admitted_of(rl, ip("2001:db8:1234::99"), t, 1000), 1000);
  EXPECT_EQ(admitted_of(rl, ip("192.0.2.7"), t, 1000), 1000);
  EXPECT_EQ(admitted_of(rl, ip("2a00:1450::1"), t, 1000), 1000);
  // Whitelisted peers took no table slot and no global tokens.
  EXPECT_EQ(rl.tracked_ips(), 0u);
  EXPECT_EQ(admitted_of(rl, ip("192.0.2.8"), t, 10), 1);           // a bare IP is /32: the neighbour is limited
  EXPECT_EQ(rl.admit(ip("2a00:1450::2"), t), Deny::kBucketTable);  // ...and /128
  EXPECT_EQ(rl.admit(ip("2001:db9::1"), t), Deny::kBucketTable);
  EXPECT_EQ(rl.admitted(), 5000u + 1);

  rl.set_whitelist(nullptr);
  EXPECT_EQ(rl.admit(ip("10.1.2.3"), t), Deny::kBucketTable);
  rl.set_whitelist(whitelist("[]"));
  EXPECT_EQ(rl.admit(ip("10.1.2.3"), t), Deny::kBucketTable);
}

// ---- bucket table cap -------------------------------------------------------------

TEST(RateLimiter, FullTableDeniesNewIpsWithBucketTable) {
  RateLimiter rl(per_ip(100, 100, /*max_ips=*/4));
  int64_t t = kSec;
  for (int i = 1; i <= 4; ++i) ASSERT_EQ(rl.admit(IpAddr::v4(192, 0, 2, uint8_t(i)), t), Deny::kNone);
  EXPECT_EQ(rl.admit(IpAddr::v4(192, 0, 2, 5), t), Deny::kBucketTable);
  EXPECT_EQ(rl.admit(ip("2001:db8::5"), t + 5 * kMs), Deny::kBucketTable);
  EXPECT_EQ(rl.denied(Deny::kBucketTable), 2u);
  EXPECT_EQ(rl.tracked_ips(), 4u);
  // Known IPs keep working while the table is full.
  EXPECT_EQ(rl.admit(IpAddr::v4(192, 0, 2, 1), t), Deny::kNone);
}

TEST(RateLimiter, FullTableEvictsOnlyRefilledBuckets) {
  RateLimiter rl(per_ip(100, 100, /*max_ips=*/4));
  int64_t t = kSec;
  IpAddr busy = IpAddr::v4(192, 0, 2, 1);
  EXPECT_EQ(admitted_of(rl, busy, t, 100), 100);  // refilled only at t + 1 s
  for (int i = 2; i <= 4; ++i) ASSERT_EQ(rl.admit(IpAddr::v4(192, 0, 2, uint8_t(i)), t), Deny::kNone);
  // At t + 500 ms the three light users are full again (evictable); `busy` is not.
  EXPECT_EQ(rl.admit(IpAddr::v4(192, 0, 2, 5), t + 500 * kMs), Deny::kNone);
  EXPECT_EQ(rl.tracked_ips(), 2u);
  // busy kept its state: half a second of refill, not a fresh burst of 100.
  EXPECT_EQ(admitted_of(rl, busy, t + 500 * kMs, 100), 50);
}

TEST(RateLimiter, FullTableSweepsAtMostEveryGap) {
  RateLimiter rl(per_ip(100, 100, /*max_ips=*/2));
  int64_t t = kSec;
  ASSERT_EQ(rl.admit(ip("192.0.2.1"), t), Deny::kNone);  // full again at t + 10 ms
  ASSERT_EQ(rl.admit(ip("192.0.2.2"), t), Deny::kNone);
  EXPECT_EQ(rl.admit(ip("192.0.2.3"), t), Deny::kBucketTable);  // swept, nothing evictable
  // Both buckets are evictable from t + 10 ms, but the next sweep waits for the gap.
  EXPECT_EQ(rl.admit(ip("192.0.2.3"), t + 10 * kMs), Deny::kBucketTable);
  EXPECT_EQ(rl.admit(ip("192.0.2.3"), t + RateLimiter::kMinSweepGapNs), Deny::kNone);
  EXPECT_EQ(rl.tracked_ips(), 1u);
}

// The open-addressing table (growth, probing, backward-shift deletion) checked
// against a std::map holding the same GCRA buckets under the same documented rules.
TEST(RateLimiter, TableAgreesWithANaiveModel) {
  const size_t kMaxIps = 64;
  const int64_t interval = 10 * kMs, tolerance = 4 * interval;  // 100/s, burst 5
  RateLimiter rl(per_ip(100, 5, kMaxIps));
  std::map<IpAddr, int64_t> tat;
  int64_t earliest_full = INT64_MIN, last_sweep = INT64_MIN;
  auto model = [&](const IpAddr& a, int64_t now) {
    auto it = tat.find(a);
    if (it == tat.end()) {
      if (tat.size() >= kMaxIps) {
        if (now < earliest_full || now < last_sweep + RateLimiter::kMinSweepGapNs) return Deny::kBucketTable;
        last_sweep = now;
        earliest_full = INT64_MAX;
        std::erase_if(tat, [&](const auto& kv) { return kv.second <= now; });
        for (const auto& kv : tat) earliest_full = std::min(earliest_full, kv.second);
        if (tat.size() >= kMaxIps) return Deny::kBucketTable;
      }
      it = tat.emplace(a, now).first;
      earliest_full = std::min(earliest_full, now);
    }
    int64_t x = std::max(it->second, now);
    if (x - now > tolerance) return Deny::kIp;
    it->second = x + interval;
    return Deny::kNone;
  };

  std::mt19937_64 rng(12345);
  std::vector<IpAddr> universe;
  for (int i = 0; i < 1000; ++i) {
    IpAddr a;
    for (auto& byte : a.b) byte = uint8_t(rng());
    if (i % 2) a = IpAddr::v4(10, uint8_t(i >> 8), uint8_t(i), 1);
    universe.push_back(a);
  }
  int64_t now = kSec;
  size_t counts[4] = {};
  for (int step = 0; step < 200000; ++step) {
    now += int64_t(rng() % (200 * 1000));  // ~10k req/s
    // Five hot addresses (over their limit) and a long tail that keeps the table full.
    const IpAddr& a = universe[rng() % 4 ? rng() % 5 : rng() % universe.size()];
    Deny want = model(a, now);
    ASSERT_EQ(rl.admit(a, now), want) << "step " << step;
    ASSERT_EQ(rl.tracked_ips(), tat.size()) << "step " << step;
    ++counts[size_t(want)];
  }
  // The run exercised every path.
  EXPECT_GT(counts[size_t(Deny::kNone)], 1000u);
  EXPECT_GT(counts[size_t(Deny::kIp)], 1000u);
  EXPECT_GT(counts[size_t(Deny::kBucketTable)], 100u);
}

TEST(RateLimiter, DisabledAlwaysAdmits) {
  RateLimitConfig cfg;
  cfg.enabled = false;
  cfg.per_ip_burst = cfg.global_burst = 1;
  cfg.per_ip_rate = cfg.global_rate = 0.001;
  cfg.max_ips = 0;
  RateLimiter rl(cfg);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(rl.admit(IpAddr::v4(192, 0, 2, uint8_t(i)), kSec), Deny::kNone);
  EXPECT_EQ(rl.tracked_ips(), 0u);
  EXPECT_EQ(rl.admitted(), 10000u);
  EXPECT_EQ(rl.denied(Deny::kIp) + rl.denied(Deny::kGlobal) + rl.denied(Deny::kBucketTable), 0u);
}

TEST(RateLimiter, DenyLabelsAreTheMetricKinds) {
  EXPECT_EQ(deny_label(Deny::kIp), "ip");
  EXPECT_EQ(deny_label(Deny::kBucketTable), "bucket_table");
  EXPECT_EQ(deny_label(Deny::kGlobal), "global");
  EXPECT_EQ(deny_label(Deny::kNone), "");
}

// ---- whitelist parsing ------------------------------------------------------------

TEST(Whitelist, ParsesCidrsAndWidensBareIps) {
  std::string err;
  auto wl = Whitelist::parse(R"([
      {"cidr": "10.0.0.0/8", "rate": 1000},
      {"cidr": "172.16.5.4/12", "rate": 2.5, "comment": "host bits are cleared"},
      {"cidr": "192.0.2.7", "rate": 1},
      {"cidr": "2001:db8::/32", "rate": 50},
      {"cidr": "2a00:1450::1", "rate": 1}
    ])",
                             err);
  ASSERT_TRUE(wl.has_value()) << err;
  ASSERT_EQ(wl->size(), 5u);
  const auto& e = wl->entries();
  EXPECT_EQ(e[0].cidr, "10.0.0.0/8");
  EXPECT_EQ(e[0].prefix_len, 96u + 8);
  EXPECT_EQ(e[1].network, ip("172.16.0.0"));
  EXPECT_EQ(e[1].rate, 2.5);
  EXPECT_EQ(e[2].prefix_len, 128u);  // /32 of IPv4
  EXPECT_EQ(e[3].prefix_len, 32u);
  EXPECT_EQ(e[4].prefix_len, 128u);

  for (std::string_view in : {"10.0.0.0", "10.255.255.255", "::ffff:10.1.1.1", "172.16.0.0", "172.31.255.255",
                              "192.0.2.7", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2a00:1450::1"}) {
    EXPECT_TRUE(wl->contains(ip(in))) << in;
  }
  for (std::string_view out : {"9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0", "192.0.2.6", "192.0.2.8",
                               "2001:db7:ffff::1", "2001:db9::", "2a00:1450::2", "::a00:1", "::"}) {
    EXPECT_FALSE(wl->contains(ip(out))) << out;
  }
}

TEST(Whitelist, EdgePrefixes) {
  auto all_v4 = whitelist(R"([{"cidr": "0.0.0.0/0", "rate": 1}])");
  EXPECT_TRUE(all_v4->contains(ip("1.2.3.4")));
  EXPECT_TRUE(all_v4->contains(ip("255.255.255.255")));
  EXPECT_FALSE(all_v4->contains(ip("2001:db8::1")));
  auto v6_all = whitelist(R"([{"cidr": "::/0", "rate": 1}])");  // the 16-byte space includes mapped IPv4
  EXPECT_TRUE(v6_all->contains(ip("2001:db8::1")));
  EXPECT_TRUE(v6_all->contains(ip("1.2.3.4")));
  auto mapped = whitelist(R"([{"cidr": "::ffff:10.0.0.0/104", "rate": 1}, {"cidr": "10.1.2.3/032", "rate": 1}])");
  EXPECT_TRUE(mapped->contains(ip("10.9.9.9")));
  EXPECT_EQ(mapped->entries()[1].prefix_len, 128u);
  auto empty = whitelist("[]");
  EXPECT_EQ(empty->size(), 0u);
  EXPECT_FALSE(empty->contains(ip("1.2.3.4")));
  EXPECT_FALSE(Whitelist{}.contains(IpAddr{}));
}

TEST(Whitelist, AnyBadEntryRejectsTheWholeFile) {
  const std::string good = R"({"cidr": "10.0.0.0/8", "rate": 5})";
  struct Case {
    std::string json;
    std::string why;  // a fragment the error must contain
  };
  std::vector<Case> cases = {
      {"[" + good + R"(, {"cidr": "192.0.2.1", "rate": 0}])", "entry 1: rate must be > 0"},
      {R"([{"cidr": "192.0.2.1", "rate": -3}])", "entry 0: rate must be > 0"},
      {R"([{"cidr": "192.0.2.1", "rate": -0.0}])", "rate must be > 0"},
      {R"([{"cidr": "192.0.2.1"}])", "missing \"rate\""},
      {R"([{"cidr": "192.0.2.1", "rate": "5"}])", "\"rate\" is not a number"},
      {R"([{"cidr": "192.0.2.1", "rate": null}])", "\"rate\" is not a number"},
      {R"([{"cidr": "192.0.2.1", "rate": true}])", "\"rate\" is not a number"},
      {R"([{"rate": 5}])", "missing \"cidr\""},
      {R"([{"cidr": 167772160, "rate": 5}])", "\"cidr\" is not a string"},
      {R"([{"cidr": "10.0.0.0/33", "rate": 5}])", "invalid cidr \"10.0.0.0/33\""},
      {R"([{"cidr": "2001:db8::/129", "rate": 5}])", "invalid cidr"},
      {R"([{"cidr": "300.1.1.1", "rate": 5}])", "invalid cidr"},
      {R"([{"cidr": "10.0.0.0/", "rate": 5}])", "invalid cidr"},
      {R"([{"cidr": "10.0.0.0/8/8", "rate": 5}])", "invalid cidr"},
      {R"([{"cidr": "10.0.0.0/-1", "rate": 5}])", "invalid cidr"},
      {R"([{"cidr": "10.0.0.0/ 8", "rate": 5}])", "invalid cidr"},
      {R"([{"cidr": " 10.0.0.0/8", "rate": 5}])", "invalid cidr"},
      {R"([{"cidr": "", "rate": 5}])", "invalid cidr"},
      {R"([{"cidr": "example.com", "rate": 5}])", "invalid cidr"},
      {R"([{"cidr": "/8", "rate": 5}])", "invalid cidr"},
      {"[" + good + ", 7]", "entry 1: not an object"},
      {"[" + good + ", [" + good + "]]", "entry 1: not an object"},
      {good, "expected a JSON array"},
      {"null", "expected a JSON array"},
      {R"("10.0.0.0/8")", "expected a JSON array"},
      {"", "not valid JSON"},
      {"[" + good + ",]", "not valid JSON"},
      {"[" + good + "] []", "not valid JSON"},
  };
  for (const auto& c : cases) {
    std::string err;
    auto wl = Whitelist::parse(c.json, err);
    EXPECT_FALSE(wl.has_value()) << c.json;
    EXPECT_NE(err.find(c.why), std::string::npos) << c.json << "\n  error: " << err;
  }
  // Control bytes and long junk are quoted and cut in the message.
  std::string err;
  ASSERT_FALSE(Whitelist::parse(R"([{"cidr": "\n)" + std::string(500, 'x') + R"(", "rate": 1}])", err));
  EXPECT_EQ(err.find('\n'), std::string::npos);
  EXPECT_LT(err.size(), 200u);
}

// contains() (grouped, binary-searched) against a bit-by-bit prefix comparison.
TEST(Whitelist, ContainsAgreesWithBruteForce) {
  std::mt19937_64 rng(7);
  std::vector<IpAddr> bases;
  for (int i = 0; i < 8; ++i) {
    IpAddr a;
    for (auto& byte : a.b) byte = uint8_t(rng());
    bases.push_back(i % 2 ? IpAddr::v4(uint8_t(rng()), uint8_t(rng()), uint8_t(rng()), uint8_t(rng())) : a);
  }
  auto flip_some_bits = [&](IpAddr a) {
    for (int k = int(rng() % 4); k > 0; --k) a.b[rng() % 16] ^= uint8_t(1u << (rng() % 8));
    return a;
  };
  auto prefix_eq = [](const IpAddr& x, const IpAddr& y, unsigned bits) {
    for (unsigned i = 0; i < bits; ++i) {
      if (((x.b[i / 8] >> (7 - i % 8)) & 1) != ((y.b[i / 8] >> (7 - i % 8)) & 1)) return false;
    }
    return true;
  };
  for (int round = 0; round < 50; ++round) {
    std::string json = "[";
    std::vector<std::pair<IpAddr, unsigned>> nets;
    for (int i = 0, n = int(rng() % 30); i < n; ++i) {
      IpAddr a = flip_some_bits(bases[rng() % bases.size()]);
      unsigned len;
      std::string text;
      if (a.is_v4()) {
        len = unsigned(rng() % 33);
        text = a.to_string() + "/" + std::to_string(len);
        len += 96;
      } else {
        len = unsigned(rng() % 129);
        text = a.to_string() + "/" + std::to_string(len);
      }
      nets.emplace_back(a, len);
      json += (i ? "," : "") + std::string(R"({"cidr":")") + text + R"(","rate":1})";
    }
    json += "]";
    std::string err;
    auto wl = Whitelist::parse(json, err);
    ASSERT_TRUE(wl.has_value()) << err << "\n" << json;
    for (int q = 0; q < 2000; ++q) {
      IpAddr probe = flip_some_bits(bases[rng() % bases.size()]);
      bool want = false;
      for (const auto& [net, len] : nets) want = want || prefix_eq(net, probe, len);
      ASSERT_EQ(wl->contains(probe), want) << probe.to_string() << "\n" << json;
    }
  }
}

// ---- the whitelist file -----------------------------------------------------------

TEST(WhitelistFile, PicksUpCreateChangeAndDelete) {
  testsupport::TempDir dir;
  std::string path = dir.path() + "/rate-limit-whitelist.json";
  WhitelistFile wf(path);
  std::string msg;
  EXPECT_FALSE(wf.poll(msg));
  EXPECT_EQ(msg, "");
  ASSERT_NE(wf.current(), nullptr);
  EXPECT_EQ(wf.current()->size(), 0u);

  write_file(path, R"([{"cidr": "10.0.0.0/8", "rate": 100}])");
  EXPECT_TRUE(wf.poll(msg));
  EXPECT_NE(msg.find("loaded: 1 entries"), std::string::npos) << msg;
  EXPECT_TRUE(wf.current()->contains(ip("10.1.2.3")));
  EXPECT_FALSE(wf.poll(msg));  // unchanged: not re-read, nothing to say
  EXPECT_EQ(msg, "");

  write_file(path, R"([{"cidr": "192.0.2.0/24", "rate": 100}, {"cidr": "2001:db8::/32", "rate": 1}])");
  EXPECT_TRUE(wf.poll(msg));
  EXPECT_EQ(wf.current()->size(), 2u);
  EXPECT_FALSE(wf.current()->contains(ip("10.1.2.3")));
  EXPECT_TRUE(wf.current()->contains(ip("2001:db8::1")));

  std::filesystem::remove(path);
  EXPECT_TRUE(wf.poll(msg));
  EXPECT_NE(msg.find("cleared"), std::string::npos) << msg;
  EXPECT_EQ(wf.current()->size(), 0u);
  EXPECT_FALSE(wf.poll(msg));
  EXPECT_EQ(msg, "");

  // Back again after a deletion.
  write_file(path, R"([{"cidr": "10.0.0.0/8", "rate": 100}])");
  EXPECT_TRUE(wf.poll(msg));
  EXPECT_TRUE(wf.current()->contains(ip("10.1.2.3")));
}

TEST(WhitelistFile, BadFileKeepsThePreviousList) {
  testsupport::TempDir dir;
  std::string path = dir.path() + "/wl.json";
  WhitelistFile wf(path);
  std::string msg;
  write_file(path, R"([{"cidr": "10.0.0.0/8", "rate": 100}])");
  ASSERT_TRUE(wf.poll(msg));
  auto before = wf.current();

  write_file(path, R"([{"cidr": "10.0.0.0/8", "rate": 100}, {"cidr": "192.0.2.1", "rate": 0}])");
  EXPECT_FALSE(wf.poll(msg));
  EXPECT_NE(msg.find("rejected"), std::string::npos) << msg;
  EXPECT_NE(msg.find("entry 1: rate must be > 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("keeping the current list (1 entries)"), std::string::npos) << msg;
  EXPECT_EQ(wf.current(), before);
  EXPECT_FALSE(wf.poll(msg));  // said once, not every 2 s
  EXPECT_EQ(msg, "");

  write_file(path, "{not json");
  EXPECT_FALSE(wf.poll(msg));
  EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;
  EXPECT_EQ(wf.current(), before);

  write_file(path, R"([{"cidr": "192.0.2.1", "rate": 3}])");
  EXPECT_TRUE(wf.poll(msg));
  EXPECT_TRUE(wf.current()->contains(ip("192.0.2.1")));
  EXPECT_FALSE(wf.current()->contains(ip("10.0.0.1")));
}

TEST(WhitelistFile, BadFileFirstLeavesTheListEmptyAndDeleteStillWorks) {
  testsupport::TempDir dir;
  std::string path = dir.path() + "/wl.json";
  WhitelistFile wf(path);
  std::string msg;
  write_file(path, R"({"cidr": "10.0.0.0/8", "rate": 1})");
  EXPECT_FALSE(wf.poll(msg));
  EXPECT_NE(msg.find("expected a JSON array"), std::string::npos) << msg;
  EXPECT_EQ(wf.current()->size(), 0u);
  std::filesystem::remove(path);
  EXPECT_FALSE(wf.poll(msg));  // nothing was active, so nothing changed
  EXPECT_EQ(wf.current()->size(), 0u);
}

TEST(WhitelistFile, ChangesAreDetectedByMtimeAndSize) {
  testsupport::TempDir dir;
  std::string path = dir.path() + "/wl.json";
  WhitelistFile wf(path);
  std::string msg;
  write_file(path, R"([{"cidr": "10.0.0.0/8", "rate": 1}])");
  ASSERT_TRUE(wf.poll(msg));
  auto mtime = std::filesystem::last_write_time(path);

  // Same size, same mtime (restored): the poll is a stat, so this is not seen.
  write_file(path, R"([{"cidr": "11.0.0.0/8", "rate": 1}])");
  std::filesystem::last_write_time(path, mtime);
  EXPECT_FALSE(wf.poll(msg));
  EXPECT_TRUE(wf.current()->contains(ip("10.0.0.1")));

  // Same size, new mtime: re-read.
  std::filesystem::last_write_time(path, mtime + std::chrono::seconds(1));
  EXPECT_TRUE(wf.poll(msg));
  EXPECT_TRUE(wf.current()->contains(ip("11.0.0.1")));
  EXPECT_FALSE(wf.current()->contains(ip("10.0.0.1")));

  // Same mtime, new size: re-read.
  mtime = std::filesystem::last_write_time(path);
  write_file(path, R"([{"cidr": "12.0.0.0/8", "rate": 10}])");
  std::filesystem::last_write_time(path, mtime);
  EXPECT_TRUE(wf.poll(msg));
  EXPECT_TRUE(wf.current()->contains(ip("12.0.0.1")));
}

TEST(WhitelistFile, ReadErrorKeepsThePreviousList) {
  testsupport::TempDir dir;
  std::string path = dir.path() + "/wl.json";
  WhitelistFile wf(path);
  std::string msg;
  write_file(path, R"([{"cidr": "10.0.0.0/8", "rate": 1}])");
  ASSERT_TRUE(wf.poll(msg));
  auto before = wf.current();

  // Swapped for something that stats but cannot be read as a file (EISDIR); between
  // two polls, so it is not seen as a deletion.
  std::filesystem::remove(path);
  std::filesystem::create_directory(path);
  EXPECT_FALSE(wf.poll(msg));
  EXPECT_NE(msg.find("read"), std::string::npos) << msg;
  EXPECT_EQ(wf.current(), before);
  EXPECT_FALSE(wf.poll(msg));  // retried, but the same error is not repeated
  EXPECT_EQ(msg, "");
  EXPECT_EQ(wf.current(), before);

  std::filesystem::remove(path);
  write_file(path, R"([{"cidr": "192.0.2.0/24", "rate": 1}])");
  EXPECT_TRUE(wf.poll(msg));
  EXPECT_TRUE(wf.current()->contains(ip("192.0.2.9")));
}

TEST(WhitelistFile, OversizedFileIsRefused) {
  testsupport::TempDir dir;
  std::string path = dir.path() + "/wl.json";
  WhitelistFile wf(path);
  std::string msg;
  write_file(path, R"([{"cidr": "10.0.0.0/8", "rate": 1}])");
  ASSERT_TRUE(wf.poll(msg));
  write_file(path, "[" + std::string(WhitelistFile::kMaxFileBytes, ' ') + "]");
  EXPECT_FALSE(wf.poll(msg));
  EXPECT_NE(msg.find("larger than"), std::string::npos) << msg;
  EXPECT_TRUE(wf.current()->contains(ip("10.0.0.1")));
}

}  // namespace
}  // namespace pilot::rpc
