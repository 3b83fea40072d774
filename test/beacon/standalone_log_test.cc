// The standalone `beacon` fed by a rendezvous leader's event log over the replication
// stream (`--rendezvous`, net/beacon/replicated_policy.h): real `rendezvous` and
// `beacon` processes on loopback, nodes registered, trusted, networked, made public
// and rotated through the registry port, punches sent to the beacon over UDP.
//
// Also the consumer without sockets (net/replication/consumer.h): the leader's record
// bytes build the leader's state, and gaps and duplicates are refused untouched.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "core/ed25519.h"
#include "net/beacon/messages.h"
#include "net/replication/consumer.h"
#include "net/rpc/client.h"
#include "test/beacon/punch_daemon.h"
#include "test/beacon/udp_client.h"
#include "test/replication/cluster.h"
#include "test/replication/log_dir.h"
#include "test/replication/mutation_load.h"
#include "test/support/process.h"
#include "test/support/registry_fixture.h"

namespace pilot::beacon {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using repltest::kAdminToken;
using repltest::kReplToken;
using rpc::Identity;
using testing::Daemon;
using testing::expect_punch;
using testing::grant_by;
using testing::ok;
using testing::register_at_both;
using testing::UdpClient;
using testsupport::Process;
using testsupport::Registry;

// ---- the consumer, without sockets ----

// The records of `bytes` (a run of log records), one string_view each.
std::vector<std::string_view> split_records(std::string_view bytes) {
  std::vector<std::string_view> out;
  log::Record r;
  size_t used = 0;
  while (!bytes.empty() && log::parse_record(bytes, r, used) == log::ParseResult::kOk) {
    out.push_back(bytes.substr(0, used));
    bytes.remove_prefix(used);
  }
  return out;
}

std::string join(const std::vector<std::string_view>& recs, size_t from, size_t to) {
  std::string s;
  for (size_t i = from; i < to; ++i) s += recs[i];
  return s;
}

TEST(StateConsumer, BuildsTheLeadersStateAndRefusesGapsAndDuplicatesUntouched) {
  repltest::LogDir leader;
  leader.append_stream(1500, 11);  // terms change along the stream
  leader.writer().flush();
  const std::string all = leader.record_bytes();
  const auto recs = split_records(all);
  ASSERT_EQ(recs.size(), 1500u);

  State state;
  RwMutex mu;
  repl::StateConsumer consumer(state, mu);
  EXPECT_FALSE(consumer.keeps_log());
  uint64_t applied = 0;
  for (size_t i = 0; i < 700; i += 35) {
    ASSERT_EQ(consumer.apply(join(recs, i, i + 35), applied), "");
    EXPECT_EQ(applied, 35u);
  }
  ASSERT_EQ(consumer.last_seq(), 700u);
  const std::string at_700 = state.debug_dump();

  // A record already applied (a resend), a gap, a record from another history: each
  // refused, nothing applied.
  EXPECT_NE(consumer.apply(std::string(recs[350]), applied), "");
  EXPECT_EQ(applied, 0u);
  EXPECT_NE(consumer.apply(std::string(recs[701]), applied), "");
  repltest::LogDir other;
  other.append_stream(1500, 12);
  other.writer().flush();
  const std::string other_bytes = other.record_bytes();
  EXPECT_NE(consumer.apply(std::string(split_records(other_bytes)[700]), applied), "");
  // A frame whose third record is bad: the first two stay, nothing after.
  std::string mixed = join(recs, 700, 702) + std::string(recs[703]) + std::string(recs[702]);
  EXPECT_NE(consumer.apply(mixed, applied), "");
  EXPECT_EQ(applied, 2u);
  EXPECT_EQ(consumer.last_seq(), 702u);
  EXPECT_NE(state.debug_dump(), at_700);

  ASSERT_EQ(consumer.apply(join(recs, 702, 1500), applied), "");
  EXPECT_EQ(consumer.last_seq(), 1500u);
  EXPECT_EQ(consumer.last_hash(), leader.writer().last_hash());
  EXPECT_EQ(consumer.durable_seq(), 1500u);  // applied is all a consumer promises
  EXPECT_EQ(state.debug_dump(), leader.state().debug_dump());
  EXPECT_TRUE(state == leader.state());
  EXPECT_EQ(consumer.applied_total(), 1500u);

  // A rewind: start over from seq 0, and the same stream builds the same state.
  consumer.reset();
  EXPECT_EQ(consumer.last_seq(), 0u);
  EXPECT_EQ(consumer.term(), 0u);
  EXPECT_TRUE(state == State{});
  ASSERT_EQ(consumer.apply(all, applied), "");
  EXPECT_TRUE(state == leader.state());
  EXPECT_EQ(consumer.resets(), 1u);
}

// ---- the real binaries ----

// The leader: rendezvous with a replication listener on a fixed port (a restarted
// leader comes back where the beacon looks for it), without its own beacon.
testsupport::RegistryOptions leader_flags(uint16_t repl_port, std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), "--beacon=false");
  return repltest::leader_options(repl_port, extra);
}

uint64_t leader_seq(Registry& leader) { return repltest::log_tip(leader.data_dir()).seq; }

// The beacon binary: this build's, or PILOT_TEST_BEACON_BIN (e.g. a ThreadSanitizer
// build of it, run against this build's rendezvous).
std::string beacon_bin() {
  const char* e = std::getenv("PILOT_TEST_BEACON_BIN");
  return e && *e ? e : BEACON_BIN;
}

// The standalone beacon with --rendezvous pointing at `repl_port`, at debug level (the
// consumer logs "replication: applied records A..B" per frame).
class Standalone {
 public:
  Standalone(uint16_t repl_port, std::vector<std::string> extra, const Process::EnvChanges& env = {})
      : proc_(beacon_bin(), args(repl_port, std::move(extra)), with_env(env)) {
    const std::string marker = "beacon: listening on ";
    if (!proc_.wait_for_output(marker, 20s)) return;
    size_t at = proc_.output().find(marker) + marker.size();
    const std::string listen = proc_.output().substr(at, proc_.output().find(' ', at) - at);
    port_ = static_cast<uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
  }
  ~Standalone() {
    if (!stopped_) stop();
    if (output().find("Sanitizer") != std::string::npos) ADD_FAILURE() << output();
  }

  Endpoint at() const { return Endpoint::v4(127, 0, 0, 1, port_); }
  const std::string& output() {
    while (proc_.pump(0)) {
    }
    return proc_.output();
  }
  // Waits until `text` appears at or after `from` in the output; its position or npos.
  size_t wait_line(const std::string& text, std::chrono::milliseconds timeout = 20s, size_t from = 0) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t at = output().find(text, from);
      if (at != std::string::npos || std::chrono::steady_clock::now() > deadline) return at;
      proc_.pump(20);
    }
  }
  // The last seq applied according to the "applied records A..B" lines after `from`.
  uint64_t applied_seq(size_t from = 0) {
    static const std::regex line("replication: applied records \\d+\\.\\.(\\d+)");
    const std::string& out = output();
    uint64_t seq = 0;
    for (std::sregex_iterator
             it(out.begin() + static_cast<std::ptrdiff_t>(std::min(from, out.size())), out.end(), line),
         end;
         it != end; ++it)
      seq = std::stoull((*it)[1]);
    return seq;
  }
  // Waits until the beacon has applied the leader's log up to `seq`.
  bool wait_seq(uint64_t seq, size_t from = 0, std::chrono::milliseconds timeout = 20s) {
    return repltest::wait_for([&] { return applied_seq(from) >= seq; }, timeout);
  }
  // SIGTERM; the exit status.
  int stop() {
    stopped_ = true;
    proc_.signal(SIGTERM);
    return proc_.wait_exit(20s);
  }
  // A counter of the final "beacon: stats" line (after stop()).
  uint64_t final_stat(const std::string& key) {
    const std::string& out = output();
    size_t line = out.rfind("beacon: stats ");
    if (line == std::string::npos) return 0;
    std::string text = out.substr(line, out.find('\n', line) - line);
    size_t at = text.find(" " + key + "=");
    return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size() + 2));
  }
  // The final "log consumer stopped at seq S, term T (A records applied since start, C
  // connections, R rebuilds)" line (after stop()).
  struct Final {
    uint64_t seq = 0, term = 0, applied = 0, connections = 0, rebuilds = 0;
  };
  std::optional<Final> final_line() {
    static const std::regex re(
        "log consumer stopped at seq (\\d+), term (\\d+) \\((\\d+) records applied since start, (\\d+) connections, "
        "(\\d+) rebuilds\\)");
    std::smatch m;
    if (!std::regex_search(output(), m, re)) return std::nullopt;
    return Final{std::stoull(m[1]), std::stoull(m[2]), std::stoull(m[3]), std::stoull(m[4]), std::stoull(m[5])};
  }

 private:
  static std::vector<std::string> args(uint16_t repl_port, std::vector<std::string> extra) {
    std::vector<std::string> a{
        "-addr",     "127.0.0.1:0", "-rendezvous", "127.0.0.1:" + std::to_string(repl_port), "-punch-whitelist",
        "127.0.0.1", "-log-level",  "debug"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  static Process::EnvChanges with_env(const Process::EnvChanges& env) {
    Process::EnvChanges e{{"PILOT_REPL_TOKEN", std::nullopt}};
    e.insert(e.end(), env.begin(), env.end());
    return e;
  }

  Process proc_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

TEST(StandaloneBeaconLog, StrictPunchesFollowTheLeadersTrustPairsNetworksAndVisibility) {
  const uint16_t rp = repltest::free_port();
  Registry leader(leader_flags(rp));
  Standalone beacon(rp, {"-repl-token", kReplToken, "-punch-auth", "strict"});
  ASSERT_NE(beacon.wait_line("beacon: policy ready"), std::string::npos) << beacon.output();
  ASSERT_TRUE(repltest::wait_for(
      [&] { return leader.output().find("replication: consumer 127.0.0.1") != std::string::npos; }, 10s))
      << leader.output();
  {
    // The operator sees it as a consumer, not as the standby.
    httplib::Client http("127.0.0.1", leader.http_port());
    auto st = http.Get("/api/admin/replication-status", {{"X-Admin-Token", kAdminToken}});
    ASSERT_TRUE(st && st->status == 200) << leader.output();
    const json body = json::parse(st->body);
    EXPECT_EQ(body.value("consumers", -1), 1) << st->body;
    EXPECT_EQ(body.value("subscribers", -1), 0) << st->body;
    auto m = http.Get("/metrics");
    ASSERT_TRUE(m && m->status == 200);
    EXPECT_NE(m->body.find("\npilot_replication_consumers 1\n"), std::string::npos) << m->body;
    EXPECT_NE(m->body.find("\npilot_replication_followers 0\n"), std::string::npos) << m->body;
  }
  uint64_t refused = 0;
  auto punch = [&](bool allowed, Daemon& from, Daemon& to) {
    ASSERT_TRUE(beacon.wait_seq(leader_seq(leader))) << beacon.output();
    refused += !allowed;
    expect_punch(allowed, beacon.at(), from, to);
  };

  Daemon alice, bob, carol, dave, erin;
  for (Daemon* d : {&alice, &bob, &carol, &dave, &erin}) register_at_both(leader, *d, beacon.at());
  punch(false, alice, bob);  // strangers
  auto c = leader.client();

  ok(c, alice.id.report_trust_req(alice.node_id, bob.node_id), "report_trust_ok");
  punch(true, alice, bob);
  punch(true, bob, alice);
  ok(c, alice.id.revoke_trust_req(alice.node_id, bob.node_id), "revoke_trust_ok");
  punch(false, alice, bob);

  // A custom network opens the path; the backbone every node is in does not.
  json cn =
      ok(c, {{"type", "create_network"}, {"node_id", carol.node_id}, {"name", "lab"}, {"admin_token", kAdminToken}},
         "create_network_ok");
  const uint32_t net = cn.value("network_id", 0u);
  punch(false, dave, carol);
  ok(c, dave.id.join_network_req(dave.node_id, net), "join_network_ok");
  punch(true, dave, carol);
  ok(c, dave.id.leave_network_req(dave.node_id, net), "leave_network_ok");
  punch(false, dave, carol);

  // A public target is punchable by anyone, not the other way round.
  ok(c, erin.id.set_visibility_req(erin.node_id, true), "set_visibility_ok");
  punch(true, alice, erin);
  punch(false, erin, alice);

  ASSERT_EQ(beacon.stop(), 0) << beacon.output();
  EXPECT_EQ(beacon.final_stat("drop_punch_unauthorized"), refused) << beacon.output();
  auto fin = beacon.final_line();
  ASSERT_TRUE(fin) << beacon.output();
  EXPECT_EQ(fin->seq, leader_seq(leader));
  EXPECT_EQ(fin->applied, fin->seq);
  EXPECT_EQ(fin->connections, 1u);
}

// --punch-grants: a grant is checked against the target's key in the registry, not the
// first-write-wins key a Discover trailer bound, and a rotation reaches the beacon.
TEST(StandaloneBeaconLog, PunchGrantsAreCheckedAgainstTheRegistrysCurrentKeyAcrossARotation) {
  const uint16_t rp = repltest::free_port();
  Registry leader(leader_flags(rp));
  Standalone beacon(rp, {"-repl-token", kReplToken, "-punch-grants"});
  ASSERT_NE(beacon.wait_line("beacon: policy ready"), std::string::npos) << beacon.output();
  Daemon alice, bob;
  register_at_both(leader, alice, beacon.at());
  auto c = leader.client();
  bob.node_id = ok(c, bob.id.register_req("127.0.0.1:4000"), "register_ok").value("node_id", 0u);
  // A stranger's socket wins the Discover key for bob's id.
  Identity stranger;
  for (int attempt = 0; attempt < 5; ++attempt) {
    bob.udp.send_to(beacon.at(), encode(Discover{bob.node_id, false, stranger.public_key()}));
    if (bob.udp.recv(1s)) break;
  }
  ASSERT_TRUE(beacon.wait_seq(leader_seq(leader))) << beacon.output();
  expect_punch(false, beacon.at(), alice, bob, grant_by(stranger, alice.node_id, bob.node_id));
  expect_punch(true, beacon.at(), alice, bob, grant_by(bob.id, alice.node_id, bob.node_id));

  Identity bob2;
  ok(c, bob.id.rotate_key_req(bob.node_id, bob2.pub_b64()), "rotate_key_ok");
  ASSERT_TRUE(beacon.wait_seq(leader_seq(leader))) << beacon.output();
  expect_punch(false, beacon.at(), alice, bob, grant_by(bob.id, alice.node_id, bob.node_id));
  expect_punch(true, beacon.at(), alice, bob, grant_by(bob2, alice.node_id, bob.node_id));
  ASSERT_EQ(beacon.stop(), 0);
  EXPECT_EQ(beacon.final_stat("drop_punch_unauthorized"), 2u) << beacon.output();
}

// kill -9 of the leader: the beacon says it lost the stream, retries with backoff,
// resumes from its last seq (not 0) when the leader is back, and sees what changes
// after the restart. Every record is applied exactly once: records applied since start
// = the last seq.
TEST(StandaloneBeaconLog, ResumesAfterTheLeaderRestartsWithoutGapsOrDuplicates) {
  const uint16_t rp = repltest::free_port();
  Registry leader(leader_flags(rp));
  Standalone beacon(rp, {"-repl-token", kReplToken, "-punch-auth", "strict"});
  Daemon alice, bob;
  register_at_both(leader, alice, beacon.at());
  register_at_both(leader, bob, beacon.at());
  const uint64_t before = leader_seq(leader);
  ASSERT_GT(before, 0u);
  ASSERT_TRUE(beacon.wait_seq(before)) << beacon.output();
  expect_punch(false, beacon.at(), alice, bob);

  leader.kill9();
  const size_t lost = beacon.wait_line("replication: disconnected from 127.0.0.1:" + std::to_string(rp) + " at seq " +
                                       std::to_string(before));
  ASSERT_NE(lost, std::string::npos) << beacon.output();
  ASSERT_NE(beacon.wait_line("retrying in", 5s, lost), std::string::npos) << beacon.output();
  std::this_thread::sleep_for(1s);  // a few refused connections while it is down
  leader.restart();
  const size_t resumed = beacon.wait_line(
      "replication: connected to 127.0.0.1:" + std::to_string(rp) + " at seq " + std::to_string(before), 20s, lost);
  ASSERT_NE(resumed, std::string::npos) << beacon.output();

  auto c = leader.client();
  ok(c, alice.id.report_trust_req(alice.node_id, bob.node_id), "report_trust_ok");
  const uint64_t after = leader_seq(leader);
  ASSERT_GT(after, before);
  ASSERT_TRUE(beacon.wait_seq(after, resumed)) << beacon.output();
  expect_punch(true, beacon.at(), alice, bob);

  ASSERT_EQ(beacon.stop(), 0);
  auto fin = beacon.final_line();
  ASSERT_TRUE(fin) << beacon.output();
  EXPECT_EQ(fin->seq, after);
  EXPECT_EQ(fin->applied, after) << "a record was applied twice or skipped";
  EXPECT_EQ(fin->connections, 2u);
  EXPECT_EQ(fin->rebuilds, 0u);
  EXPECT_EQ(beacon.final_stat("drop_punch_unauthorized"), 1u) << beacon.output();
}

// A leader whose --log-retention deleted the start of its log cannot stream a fresh
// beacon from seq 1: it sends its snapshot, which the beacon loads into memory, and the
// stream goes on from there — strict punches answer from the loaded state.
TEST(StandaloneBeaconLog, AFreshBeaconOfARetainingLeaderLoadsItsSnapshotThenTheLog) {
  const uint16_t rp = repltest::free_port();
  Registry leader(leader_flags(rp, {"--log-retention", "0", "--snapshot-every", "2000", "--snapshot-interval", "1"}));
  Daemon alice, bob;
  {
    auto c = leader.client();
    alice.node_id = ok(c, alice.id.register_req("127.0.0.1:4000"), "register_ok").value("node_id", 0u);
    bob.node_id = ok(c, bob.id.register_req("127.0.0.1:4001"), "register_ok").value("node_id", 0u);
    ok(c, alice.id.report_trust_req(alice.node_id, bob.node_id), "report_trust_ok");
  }
  repltest::MutationLoad load(20261122, repltest::kAdminToken);
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (log::list_segments(leader.data_dir() + "/log").front().first_seq <= 1) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "retention never deleted seq 1\n" << leader.output();
    load.run(leader.addr(), 2000);
  }

  Standalone beacon(rp, {"-repl-token", kReplToken, "-punch-auth", "strict"});
  const size_t loaded = beacon.wait_line("beacon: loaded the leader's snapshot at seq ", 60s);
  ASSERT_NE(loaded, std::string::npos) << beacon.output() << leader.output();
  ASSERT_NE(beacon.wait_line("beacon: policy ready", 30s, loaded), std::string::npos) << beacon.output();
  register_at_both(leader, alice, beacon.at());  // a refresh: same key, same id
  register_at_both(leader, bob, beacon.at());
  ASSERT_TRUE(beacon.wait_seq(leader_seq(leader))) << beacon.output();
  expect_punch(true, beacon.at(), alice, bob);  // the trust pair came with the snapshot

  ASSERT_EQ(beacon.stop(), 0);
  auto fin = beacon.final_line();
  ASSERT_TRUE(fin) << beacon.output();
  EXPECT_EQ(fin->seq, leader_seq(leader));
  EXPECT_LT(fin->applied, fin->seq) << "the records before the snapshot were not streamed";
}

// The leader's log no longer holds the beacon's position (here: another leader, with
// fresh data, on the same address — as after a failover that cut records): the leader
// answers with a rewind, and the beacon rebuilds its state from seq 0 — the old
// leader's facts are gone, not merged. (Node ids are allocated from 1, so the second
// leader hands out the same ids again.)
TEST(StandaloneBeaconLog, RebuildsFromSeqZeroWhenTheLeadersLogDoesNotHoldItsPosition) {
  const uint16_t rp = repltest::free_port();
  std::optional<Registry> first(std::in_place, leader_flags(rp));
  Standalone beacon(rp, {"-repl-token", kReplToken, "-punch-auth", "strict"});
  Daemon a1, a2, c3;
  register_at_both(*first, a1, beacon.at());
  register_at_both(*first, a2, beacon.at());
  {
    auto c = first->client();
    ok(c, a1.id.report_trust_req(a1.node_id, a2.node_id), "report_trust_ok");
  }
  ASSERT_TRUE(beacon.wait_seq(leader_seq(*first))) << beacon.output();
  expect_punch(true, beacon.at(), a1, a2);
  ASSERT_EQ(first->terminate(), 0);
  first.reset();

  Registry second(leader_flags(rp));
  const size_t rebuilt = beacon.wait_line("rebuilding the policy's state from seq 0");
  ASSERT_NE(rebuilt, std::string::npos) << beacon.output();
  auto c = second.client();
  for (Daemon* d : {&a1, &a2})
    ASSERT_EQ(ok(c, d->id.register_req("127.0.0.1:4000"), "register_ok").value("node_id", 0u), d->node_id);
  register_at_both(second, c3, beacon.at());
  ok(c, a2.id.report_trust_req(a2.node_id, c3.node_id), "report_trust_ok");
  ASSERT_TRUE(beacon.wait_seq(leader_seq(second), rebuilt)) << beacon.output();
  expect_punch(false, beacon.at(), a1, a2);  // the first leader's trust pair
  expect_punch(true, beacon.at(), a2, c3);

  ASSERT_EQ(beacon.stop(), 0);
  auto fin = beacon.final_line();
  ASSERT_TRUE(fin) << beacon.output();
  EXPECT_EQ(fin->seq, leader_seq(second));
  EXPECT_EQ(fin->rebuilds, 1u);
  EXPECT_EQ(beacon.final_stat("drop_punch_unauthorized"), 1u) << beacon.output();
}

// A sync-mode leader with one follower slot: the beacon connected first does not take
// the standby's slot, replies wait for the standby's acks only, and once the standby is
// gone the leader degrades although the beacon is still streaming and acking.
TEST(StandaloneBeaconLog, ASyncLeaderCountsNeitherTheBeaconsSlotNorItsAcks) {
  const uint16_t rp = repltest::free_port();
  Registry leader(leader_flags(rp, {"--replication", "sync", "--sync-timeout", "700ms", "--repl-max-followers", "1"}));
  Standalone beacon(rp, {"-repl-token", kReplToken});
  ASSERT_NE(beacon.wait_line("beacon: policy ready"), std::string::npos) << beacon.output();
  Registry follower(repltest::follower_options(rp, {"--beacon=false"}));
  ASSERT_TRUE(repltest::wait_for(
      [&] { return leader.output().find("replication: follower 127.0.0.1") != std::string::npos; }, 10s))
      << leader.output();
  EXPECT_EQ(leader.output().find("already serving"), std::string::npos) << leader.output();

  auto c = leader.client();
  auto register_one = [&] {
    Identity id;
    json r = c.call(id.register_req("0.0.0.0:4000"));
    EXPECT_EQ(r.value("type", ""), "register_ok") << r.dump();
  };
  for (int i = 0; i < 30; ++i) {
    register_one();
    ASSERT_TRUE(repltest::log_tip(follower.data_dir()) == repltest::log_tip(leader.data_dir())) << "mutation " << i;
  }
  EXPECT_EQ(leader.output().find("degraded"), std::string::npos) << leader.output();
  ASSERT_TRUE(beacon.wait_seq(leader_seq(leader))) << beacon.output();

  // The standby goes: the beacon's acks release nothing, so the next write waits out
  // the sync timeout and the leader degrades, as with no receiver at all.
  ASSERT_EQ(follower.terminate(), 0);
  const auto t0 = std::chrono::steady_clock::now();
  register_one();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 600ms);
  EXPECT_TRUE(repltest::wait_for([&] { return leader.output().find("degraded to async") != std::string::npos; }, 5s))
      << leader.output();
  ASSERT_TRUE(beacon.wait_seq(leader_seq(leader))) << beacon.output();
  EXPECT_EQ(beacon.output().find("replication: disconnected"), std::string::npos) << beacon.output();
  ASSERT_EQ(beacon.stop(), 0);
  EXPECT_EQ(beacon.final_line().value_or(Standalone::Final{}).connections, 1u) << beacon.output();
}

TEST(StandaloneBeaconLog, FlagsTokensAndRefusals) {
  auto exit_code = [](std::vector<std::string> args) {
    Process p(beacon_bin(), args, {{"PILOT_REPL_TOKEN", std::nullopt}});
    int st = p.wait_exit(10s);
    return std::make_pair(WIFEXITED(st) ? WEXITSTATUS(st) : -1, p.output());
  };
  auto [code, out] = exit_code({"-addr", "127.0.0.1:0", "-rendezvous", "127.0.0.1:9100"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("-repl-token"), std::string::npos) << out;
  std::tie(code, out) = exit_code({"-addr", "127.0.0.1:0", "-rendezvous", "leader-without-port", "-repl-token", "t"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("host:port"), std::string::npos) << out;
  std::tie(code, out) = exit_code({"--help"});
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("rendezvous"), std::string::npos) << out;

  const uint16_t rp = repltest::free_port();
  Registry leader(leader_flags(rp));
  Daemon alice, bob;
  {
    // A wrong token: the refusal is logged, and strict refuses every punch (the policy
    // never had the log).
    Standalone wrong(rp, {"-repl-token", "not-the-token", "-punch-auth", "strict"});
    ASSERT_NE(wrong.wait_line("refused us: invalid replication token"), std::string::npos) << wrong.output();
    register_at_both(leader, alice, wrong.at());
    register_at_both(leader, bob, wrong.at());
    auto c = leader.client();
    ok(c, alice.id.report_trust_req(alice.node_id, bob.node_id), "report_trust_ok");
    expect_punch(false, wrong.at(), alice, bob);
    EXPECT_EQ(wrong.output().find("policy ready"), std::string::npos);
  }
  // The token from the environment (PILOT_REPL_TOKEN), as rendezvous takes it.
  Standalone right(rp, {"-punch-auth", "strict"}, {{"PILOT_REPL_TOKEN", kReplToken}});
  ASSERT_NE(right.wait_line("beacon: policy ready"), std::string::npos) << right.output() << leader.output();
  for (Daemon* d : {&alice, &bob}) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      d->udp.send_to(right.at(), encode(Discover{d->node_id, false, {}}));
      if (d->udp.recv(1s)) break;
    }
  }
  ASSERT_TRUE(right.wait_seq(leader_seq(leader))) << right.output();
  expect_punch(true, right.at(), alice, bob);
}

}  // namespace
}  // namespace pilot::beacon
