// Virtual-IP failover with keepalived (net/replication/README.md, "Virtual IP with
// keepalived"): two hosts in network namespaces on one bridge, each running a real
// `rendezvous` (leader / follower, --replication=sync) and Debian's keepalived with
// deploy/keepalived/ exactly as documented. A client in a third namespace registers
// nodes through the virtual IP while the leader is killed with SIGKILL; the test
// measures the time from the kill to the first registration through the virtual IP
// that succeeds, and checks that every registration acknowledged before (or during)
// the failover is on the new leader, and that the old leader restarted as it was is
// fenced and does not get the virtual IP back.
//
// PILOT_VIP_ROUNDS=N (default 1) runs N failovers, the roles swapping each time (the
// killed leader rejoins as the new leader's follower), and prints p50/max. Timings are
// printed, not asserted. Skipped where namespaces cannot be made (not root, no
// iproute2) or keepalived/curl are missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include "net/rpc/client.h"
#include "test/replication/netns_lab.h"
#include "test/replication/vip_host.h"
#include "test/support/temp_dir.h"

namespace pilot {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using viptest::kVip;
using viptest::NetnsLab;
using viptest::VipHost;
using Clock = std::chrono::steady_clock;

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Copies of the deployable scripts, root-owned and not writable by others, in a
// directory keepalived's enable_script_security accepts.
std::string install_scripts(const std::string& dir) {
  const std::string to = dir + "/scripts";
  std::filesystem::create_directories(to);
  ::chmod(to.c_str(), 0755);
  for (const char* s : {"pilot-check.sh", "pilot-notify.sh"}) {
    std::filesystem::copy_file(std::string(PILOT_KEEPALIVED_DIR) + "/" + s, to + "/" + s,
                               std::filesystem::copy_options::overwrite_existing);
    ::chmod((to + "/" + s).c_str(), 0755);
  }
  return to;
}

struct Acked {
  uint32_t node_id;
  std::string pub;
};

// Clients in the client namespace registering new nodes through the virtual IP, each
// on its own connection, reconnecting after any error. Once the old leader is dead,
// the first registration *sent* after that and acknowledged marks the failover's end.
class VipWriters {
 public:
  VipWriters(const NetnsLab& lab, int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this, ns = lab.ns("c")] { run(ns); });
  }
  ~VipWriters() { stop(); }

  size_t acked_count() {
    std::lock_guard l(mu_);
    return acked_.size();
  }
  void mark_dead(Clock::time_point t) {
    std::lock_guard l(mu_);
    dead_at_ = t;
  }
  std::optional<Clock::time_point> first_write_after_kill() {
    std::lock_guard l(mu_);
    return first_after_kill_;
  }
  std::vector<Acked> stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    std::lock_guard l(mu_);
    return acked_;
  }
  std::string errors() {
    std::lock_guard l(mu_);
    return last_errors_;
  }

 private:
  void run(const std::string& ns) {
    viptest::enter_netns(ns);
    std::optional<rpc::Client> c;
    rpc::ClientOptions o;
    o.connect_timeout = 250ms;  // no ARP answer while nobody holds the virtual IP
    o.recv_timeout = 8s;        // a sync-mode reply may wait for --sync-timeout
    while (!stop_) {
      const auto sent = Clock::now();
      try {
        if (!c) c = rpc::Client::connect(kVip + ":9000", rpc::Mode::kJson, o);
        rpc::Identity id;
        json r = c->call(id.register_req("0.0.0.0:4000"));
        if (r.value("type", "") == "register_ok") {
          std::lock_guard l(mu_);
          acked_.push_back({r["node_id"].get<uint32_t>(), id.pub_b64()});
          if (dead_at_ && sent > *dead_at_ && !first_after_kill_) first_after_kill_ = Clock::now();
          continue;
        }
        note("refused: " + r.dump());  // a follower not promoted yet: standby error
      } catch (const std::exception& e) {
        c.reset();
        note(e.what());
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  void note(const std::string& e) {
    std::lock_guard l(mu_);
    if (last_errors_.size() < 4000) last_errors_ += e + "\n";
  }

  std::mutex mu_;
  std::vector<Acked> acked_;
  std::optional<Clock::time_point> dead_at_, first_after_kill_;
  std::string last_errors_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// Who holds the virtual IP and when the new leader says it was promoted, polled from
// the moment of the kill.
struct Takeover {
  std::optional<Clock::time_point> vip_at, promoted_at;
};

Takeover watch_takeover(VipHost& next, const std::function<bool()>& done) {
  Takeover t;
  while (!done() && !(t.vip_at && t.promoted_at)) {
    if (!t.vip_at && next.has_vip()) t.vip_at = Clock::now();
    if (!t.promoted_at && next.rendezvous()->output().find("promoted to leader") != std::string::npos)
      t.promoted_at = Clock::now();
    std::this_thread::sleep_for(5ms);
  }
  return t;
}

// Each registration the client saw acknowledged, looked up through the virtual IP.
std::string missing_writes(const NetnsLab& lab, const std::vector<Acked>& acked) {
  std::string missing;
  viptest::run_in_netns(lab.ns("c"), [&] {
    auto c = rpc::Client::connect(kVip + ":9000");
    for (const Acked& a : acked) {
      json l = c.call(rpc::lookup_req(a.node_id));
      if (l.value("type", "") != "lookup_ok" || l.value("public_key", "") != a.pub)
        missing += "node " + std::to_string(a.node_id) + ": " + l.dump() + "\n";
    }
  });
  return missing;
}

json register_at(const NetnsLab& lab, const std::string& addr) {
  json r;
  viptest::run_in_netns(lab.ns("c"), [&] {
    rpc::ClientOptions o;
    o.connect_timeout = 2s;
    o.recv_timeout = 15s;
    auto c = rpc::Client::connect(addr, rpc::Mode::kJson, o);
    r = c.call(rpc::Identity().register_req("0.0.0.0:4000"));
  });
  return r;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5)];
}

TEST(VipFailover, KeepalivedMovesTheVirtualIpToThePromotedFollowerAndNoAcknowledgedWriteIsLost) {
  const std::string keepalived = viptest::find_binary({"/usr/sbin/keepalived", "/sbin/keepalived"});
  if (keepalived.empty()) GTEST_SKIP() << "keepalived is not installed (apt-get install keepalived; .ci/deps has it)";
  if (viptest::find_binary({"/usr/bin/curl", "/bin/curl"}).empty())
    GTEST_SKIP() << "curl is not installed (deploy/keepalived/pilot-check.sh asks /readyz with it)";
  std::string why;
  std::unique_ptr<NetnsLab> lab = NetnsLab::create(why);
  if (!lab) GTEST_SKIP() << "cannot build the network namespaces for the virtual-IP test: " << why;

  const char* rounds_env = std::getenv("PILOT_VIP_ROUNDS");
  const int rounds = rounds_env ? std::max(1, std::atoi(rounds_env)) : 1;
  const char* sync_timeout_env = std::getenv("PILOT_VIP_SYNC_TIMEOUT");
  const std::vector<std::string> sync{"--replication", "sync", "--sync-timeout",
                                      sync_timeout_env ? sync_timeout_env : "2s"};

  testsupport::TempDir dir;
  const std::string scripts = install_scripts(dir.path());
  VipHost a(*lab, "a", "10.77.0.1", dir.path() + "/a", scripts);
  VipHost b(*lab, "b", "10.77.0.2", dir.path() + "/b", scripts);
  VipHost* leader = &a;
  VipHost* follower = &b;
  auto logs = [&] { return a.logs() + b.logs(); };

  leader->start_leader(sync);
  follower->start_follower(*leader, sync);
  a.start_keepalived(keepalived);
  b.start_keepalived(keepalived);
  // The leader's "leader" check outranks the follower: the virtual IP goes to it.
  ASSERT_TRUE(wait_until([&] { return leader->vrrp_state() == "MASTER" && follower->vrrp_state() == "BACKUP"; }, 20s))
      << logs();
  ASSERT_TRUE(wait_until([&] { return leader->has_vip(); }, 5s)) << logs();
  EXPECT_FALSE(follower->has_vip());

  std::vector<double> to_vip, to_promoted, to_write;
  size_t total_acked = 0;
  std::mt19937 rng(static_cast<unsigned>(::getpid()));
  for (int round = 1; round <= rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ": leader on host " + leader->name());
    VipWriters writers(*lab, 3);
    ASSERT_TRUE(wait_until([&] { return writers.acked_count() >= 30; }, 20s)) << writers.errors() << logs();
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 200));

    // The clock starts at the signal; a write counts once sent after the process is
    // gone (reaped), so no late reply of the old leader can end the failover.
    const auto kill_at = Clock::now();
    leader->kill_rendezvous();
    writers.mark_dead(Clock::now());
    const auto give_up = kill_at + 30s;
    Takeover t = watch_takeover(*follower, [&] { return Clock::now() > give_up; });
    ASSERT_TRUE(wait_until([&] { return writers.first_write_after_kill() || Clock::now() > give_up; }, 31s) &&
                writers.first_write_after_kill())
        << "no registration through the virtual IP succeeded within 30 s of the leader's kill\n"
        << writers.errors() << logs();
    const auto first_write = *writers.first_write_after_kill();
    const std::vector<Acked> acked = writers.stop();
    ASSERT_TRUE(t.vip_at && t.promoted_at) << logs();
    to_vip.push_back(ms_between(kill_at, *t.vip_at));
    to_promoted.push_back(ms_between(kill_at, *t.promoted_at));
    to_write.push_back(ms_between(kill_at, first_write));
    std::printf(
        "round %d: leader %s killed -> virtual IP on %s after %.0f ms -> promoted after %.0f ms -> first write "
        "through the virtual IP after %.0f ms (%zu writes acknowledged)\n",
        round, leader->name().c_str(), follower->name().c_str(), to_vip.back(), to_promoted.back(), to_write.back(),
        acked.size());

    // Every acknowledged registration — before, during and after the kill — is there.
    EXPECT_EQ(missing_writes(*lab, acked), "") << logs();
    total_acked += acked.size();
    EXPECT_TRUE(follower->has_vip());
    EXPECT_FALSE(leader->has_vip());

    // The old leader comes back as it was: the new leader's fencer reaches it on its
    // own address and it refuses writes; its failing check keeps it in FAULT, so the
    // virtual IP stays where it is.
    leader->start_leader(sync);
    ASSERT_TRUE(leader->rendezvous()->wait_for_output("FENCED", 15s)) << logs();
    json refused = register_at(*lab, leader->registry_addr());
    EXPECT_EQ(refused.value("type", ""), "error") << refused.dump();
    EXPECT_EQ(refused.value("error", ""), "request failed") << refused.dump();
    json through_vip = register_at(*lab, kVip + ":9000");
    EXPECT_EQ(through_vip.value("type", ""), "register_ok") << through_vip.dump() << logs();
    EXPECT_TRUE(follower->has_vip());
    EXPECT_FALSE(leader->has_vip());
    // (Its checks may pass once or twice before the fencer's knock arrives; a fenced
    // leader fails "alive" and is back in FAULT within fall × interval.)
    EXPECT_TRUE(wait_until([&] { return leader->vrrp_state() == "FAULT"; }, 10s)) << logs();
    if (HasFatalFailure() || HasFailure()) break;

    if (round < rounds) {
      // The old leader rejoins as the follower (cutting any unacknowledged tail); its
      // check passes again and keepalived waits as BACKUP for the next failover.
      ASSERT_EQ(leader->stop_rendezvous(), 0) << logs();
      leader->start_follower(*follower, sync);
      ASSERT_TRUE(wait_until([&] { return leader->vrrp_state() == "BACKUP"; }, 15s)) << logs();
      std::swap(leader, follower);
    }
  }

  auto summary = [](const char* what, const std::vector<double>& v) {
    std::printf("  %-34s p50 %6.0f ms   max %6.0f ms\n", what, percentile(v, 0.5),
                *std::max_element(v.begin(), v.end()));
  };
  if (HasFailure()) return;
  std::printf("%d failover(s), %zu acknowledged registrations, none lost:\n", rounds, total_acked);
  summary("kill -> virtual IP moved", to_vip);
  summary("kill -> follower promoted", to_promoted);
  summary("kill -> first write through the VIP", to_write);

  a.stop_keepalived();
  b.stop_keepalived();
  a.stop_rendezvous();
  b.stop_rendezvous();
}

}  // namespace
}  // namespace pilot
