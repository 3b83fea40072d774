// /metrics in process: a registry with a real log on disk, its dispatcher, a limiter, a
// beacon engine, replication objects and snapshot results, rendered by
// admin/metrics.h. The text must pass the strict parser (and promtool when
// installed), carry the spec §11 names, and its counters must move with the requests
// that are made — on the loop thread, and from another thread through the LoopBridge
// as the HTTP handler does it.
#include "admin/metrics.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <memory>
#include <set>
#include <string>
#include <thread>

#include "admin/loop_bridge.h"
#include "core/ed25519.h"
#include "log/recovery.h"
#include "log/writer.h"
#include "net/beacon/beacon.h"
#include "net/beacon/udp_server.h"
#include "net/replication/follower.h"
#include "net/replication/leader.h"
#include "net/replication/sync_gate.h"
#include "net/rpc/dispatcher.h"
#include "net/rpc/rate_limit.h"
#include "net/rpc/registry.h"
#include "net/rpc/server.h"
#include "net/rpc/wire.h"
#include "test/admin/prometheus_parser.h"
#include "test/admin/promtool.h"
#include "test/support/temp_dir.h"

namespace pilot::admin {
namespace {

using nlohmann::json;
using testing::LabelMap;
using testing::Parsed;

constexpr int64_t kSecond = 1000000000;

class NullSink : public beacon::Sink {
 public:
  void send(const beacon::Datagram&) override {}
};

class MetricsTest : public ::testing::Test {
 protected:
  MetricsTest() {
    crypto_init();
    uv_loop_init(&loop_);
    log::RecoveryResult rec;
    std::string err;
    EXPECT_TRUE(log::recover(log_dir_, log::kDefaultSegmentBytes, rec, err)) << err;
    log::WriterOptions wo;
    wo.log_dir = log_dir_;
    wo.fsync.mode = log::FsyncPolicy::Mode::kAlways;  // real fdatasyncs: the fsync histograms fill
    writer_ = log::Writer::open(wo, rec, err);
    EXPECT_TRUE(writer_) << err;
    registry_ = std::make_unique<rpc::Registry>(state_, writer_.get(), rpc::RegistryOptions{}, [this] { return now_; });
    dispatcher_ = std::make_unique<rpc::Dispatcher>(*registry_);
    server_ = std::make_unique<rpc::RpcServer>(&loop_, *dispatcher_, writer_.get(), &limiter_, rpc::ServerOptions{});
    leader_ = std::make_unique<repl::Leader>(repl::LeaderOptions{}, log_dir_, *writer_, 0);
    follower_ =
        std::make_unique<repl::Follower>(&loop_, state_, registry_->state_mutex(), *writer_, repl::FollowerOptions{});
    beacon_server_ = std::make_unique<beacon::UdpServer>(engine_, beacon::UdpServerOptions{});

    src_.registry = registry_.get();
    src_.dispatcher = dispatcher_.get();
    src_.server = server_.get();
    src_.limiter = &limiter_;
    src_.follower = follower_.get();
    src_.sync = &sync_;
    src_.writer = writer_.get();
    src_.leader = leader_.get();
    src_.beacon = &engine_;
    src_.beacon_server = beacon_server_.get();
    src_.snapshots = &snapshots_;
    src_.log_dir = log_dir_;
  }
  ~MetricsTest() override {
    beacon_server_.reset();
    follower_.reset();
    leader_.reset();
    server_.reset();
    writer_->close();
    uv_loop_close(&loop_);
  }

  // The whole text, parsed strictly (a test failure if it does not parse).
  Parsed scrape() {
    text_ = render_metrics(src_);
    std::string err;
    auto p = testing::parse_exposition(text_, err);
    EXPECT_TRUE(p) << err << "\n" << text_;
    return p.value_or(Parsed{});
  }
  static double value(const Parsed& p, const std::string& name, const LabelMap& labels = {}) {
    auto v = p.value(name, labels);
    EXPECT_TRUE(v) << name << " missing";
    return v.value_or(-1);
  }

  struct Node {
    uint32_t id;
    KeyPair key;
    std::string sign(const std::string& challenge) const { return encode_signature(key.sign(challenge)); }
  };
  json call(const json& req) {
    auto out = dispatcher_->handle_json(req.dump(), rpc::Peer{"203.0.113.9", 5000, false});
    EXPECT_TRUE(out);
    return json::parse(out.value_or("{}"));
  }
  Node register_node() {
    Node n{0, KeyPair::generate()};
    const std::string pub = encode_public_key(n.key.public_key);
    json r = call({{"type", "register"},
                   {"listen_addr", "0.0.0.0:4000"},
                   {"public_key", pub},
                   {"signature", n.sign("register:0.0.0.0:4000:" + pub)}});
    EXPECT_EQ(r.value("type", ""), "register_ok") << r.dump();
    n.id = r.value("node_id", 0u);
    return n;
  }
  json heartbeat(const Node& n, bool good = true) {
    return call({{"type", "heartbeat"},
                 {"node_id", n.id},
                 {"signature", n.sign(good ? "heartbeat:" + std::to_string(n.id) : "something else")}});
  }

  testsupport::TempDir dir_;
  const std::string log_dir_ = dir_.path() + "/log";
  int64_t now_ = int64_t{1767225600} * kSecond;
  uv_loop_t loop_{};
  State state_;
  std::unique_ptr<log::Writer> writer_;
  std::unique_ptr<rpc::Registry> registry_;
  std::unique_ptr<rpc::Dispatcher> dispatcher_;
  rpc::RateLimiter limiter_{rpc::RateLimitConfig{1, 1, 16, 1000, 1000, true}};
  std::unique_ptr<rpc::RpcServer> server_;
  std::unique_ptr<repl::Leader> leader_;
  std::unique_ptr<repl::Follower> follower_;
  repl::SyncGate sync_{kSecond};
  beacon::Engine engine_{beacon::Config{}};
  std::unique_ptr<beacon::UdpServer> beacon_server_;
  SnapshotMetrics snapshots_;
  MetricsSources src_;
  std::string text_;
};

TEST_F(MetricsTest, EveryFamilyParsesAndCarriesTheSpecNames) {
  register_node();
  Parsed p = scrape();
  // Spec §11 names this server can produce (admin/README.md lists the others).
  for (const char* name : {"pilot_requests_total",
                           "pilot_errors_total",
                           "pilot_request_duration_seconds",
                           "pilot_nodes_online",
                           "pilot_nodes_total",
                           "pilot_trust_links",
                           "pilot_task_executors",
                           "pilot_uptime_seconds",
                           "pilot_registry_tcp_connections",
                           "pilot_handshake_inbox_size",
                           "pilot_handshake_responses_size",
                           "pilot_registrations_total",
                           "pilot_deregistrations_total",
                           "pilot_trust_reports_total",
                           "pilot_trust_revocations_total",
                           "pilot_handshake_requests_total",
                           "pilot_recovered_panics_total",
                           "pilot_save_total",
                           "pilot_save_failures_total",
                           "pilot_save_last_unix_seconds",
                           "pilot_save_duration_seconds",
                           "pilot_signature_verify_total",
                           "pilot_ratelimit_denied_total",
                           "pilot_beacon_relay_forwarded_total",
                           "pilot_beacon_relay_dropped_total",
                           "pilot_beacon_relay_not_found_total",
                           "pilot_pubkeys_total",
                           "pilot_wal_size_bytes",
                           "pilot_replication_term",
                           "pilot_replication_is_standby",
                           "pilot_networks_total",
                           "pilot_networks_enterprise",
                           "pilot_invites_pending",
                           "pilot_key_rotations_total",
                           "pilot_idp_configured",
                           "pilot_webhook_configured",
                           "pilot_audit_export_active",
                           "pilot_network_members",
                           "pilot_network_admins",
                           "pilot_network_owners",
                           "pilot_network_enterprise",
                           "pilot_network_policy_set"})
    EXPECT_TRUE(p.family(name)) << name;
  // Ours.
  for (const char* name :
       {"pilot_log_commit_latency_seconds", "pilot_log_fsync_duration_seconds", "pilot_log_fsync_batch_records",
        "pilot_log_records_written_total", "pilot_log_bytes_written_total", "pilot_log_appends_total",
        "pilot_snapshot_last_seq", "pilot_replication_lag_records", "pilot_replication_lag_seconds",
        "pilot_replication_followers", "pilot_replication_consumers", "pilot_replication_follower_lag_records",
        "pilot_replication_sync_degraded", "pilot_beacon_dropped_total", "pilot_beacon_sent_total",
        "pilot_beacon_rx_datagrams_total"})
    EXPECT_TRUE(p.family(name)) << name;
  // The spec's request-duration buckets, in seconds.
  const testing::Family* d = p.family("pilot_request_duration_seconds");
  ASSERT_TRUE(d);
  std::vector<std::string> le;
  for (const auto& s : d->samples)
    if (s.name == "pilot_request_duration_seconds_bucket" && s.labels.at("type") == "register")
      le.push_back(s.labels.at("le"));
  EXPECT_EQ(le, (std::vector<std::string>{"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
                                          "0.05", "0.1", "0.25", "0.5", "1", "+Inf"}));
}

TEST_F(MetricsTest, PromtoolAcceptsTheWholeScrape) {
  Node a = register_node();
  heartbeat(a);
  call({{"type", "no_such_op"}});
  scrape();
  auto r = testing::promtool_check(text_);
  if (!r) GTEST_SKIP() << "promtool not installed (Debian package prometheus); the strict parser checks alone";
  EXPECT_TRUE(r->parsed) << r->output;
  // The spec names these gauges *_total; promtool's linter would rather they were not.
  const std::set<std::string> spec_gauges{"pilot_nodes_total", "pilot_pubkeys_total", "pilot_networks_total"};
  for (const std::string& f : r->findings) {
    const std::string metric = f.substr(0, f.find(' '));
    EXPECT_TRUE(spec_gauges.count(metric) && f.find("should not have \"_total\" suffix") != std::string::npos)
        << "promtool: " << f;
  }
}

TEST_F(MetricsTest, RequestCountersMoveWithRequests) {
  Parsed before = scrape();
  EXPECT_FALSE(before.value("pilot_requests_total", {{"type", "heartbeat"}}));

  Node a = register_node();
  EXPECT_EQ(heartbeat(a).value("type", ""), "heartbeat_ok");
  EXPECT_EQ(heartbeat(a).value("type", ""), "heartbeat_ok");  // same bytes: inside the skip window, no verify
  EXPECT_EQ(heartbeat(a, /*good=*/false).value("type", ""), "error");
  std::string out;
  dispatcher_->handle_binary(
      wire::MsgType::kHeartbeat,
      wire::encode(wire::HeartbeatRequest{a.id, a.key.sign("heartbeat:" + std::to_string(a.id))}),
      rpc::Peer{"203.0.113.9", 5000, false}, out);
  call({{"type", "no_such_op"}});

  Parsed p = scrape();
  EXPECT_EQ(value(p, "pilot_requests_total", {{"type", "register"}}), 1);
  EXPECT_EQ(value(p, "pilot_requests_total", {{"type", "heartbeat"}}), 4);  // 3 JSON + 1 binary
  EXPECT_EQ(value(p, "pilot_errors_total", {{"type", "heartbeat"}}), 1);
  EXPECT_EQ(value(p, "pilot_errors_total", {{"type", "no_such_op"}}), 1);
  EXPECT_EQ(value(p, "pilot_request_duration_seconds_count", {{"type", "heartbeat"}}), 4);
  EXPECT_EQ(value(p, "pilot_request_duration_seconds_bucket", {{"type", "heartbeat"}, {"le", "+Inf"}}), 4);
  EXPECT_GT(value(p, "pilot_request_duration_seconds_sum", {{"type", "heartbeat"}}), 0);
  // register's signature and the first heartbeat's were checked; the bad one failed.
  EXPECT_EQ(value(p, "pilot_signature_verify_total", {{"result", "ok"}}), 2);
  EXPECT_EQ(value(p, "pilot_signature_verify_total", {{"result", "fail"}}), 1);
  EXPECT_EQ(value(p, "pilot_registrations_total"), 1);
}

TEST_F(MetricsTest, StateGaugesAndOpCountersFollowTheRegistry) {
  Node a = register_node(), b = register_node();
  Parsed p = scrape();
  EXPECT_EQ(value(p, "pilot_nodes_total"), 2);
  EXPECT_EQ(value(p, "pilot_nodes_online"), 2);
  EXPECT_EQ(value(p, "pilot_pubkeys_total"), 2);

  auto pair = [](const Node& n, const Node& peer, const char* op) {
    return json{{"type", op},
                {"node_id", n.id},
                {"peer_id", peer.id},
                {"signature", n.sign(std::string(op) + ":" + std::to_string(n.id) + ":" + std::to_string(peer.id))}};
  };
  EXPECT_EQ(call(pair(a, b, "report_trust")).value("type", ""), "report_trust_ok");
  p = scrape();
  EXPECT_EQ(value(p, "pilot_trust_links"), 1);
  EXPECT_EQ(value(p, "pilot_trust_reports_total"), 1);
  EXPECT_EQ(call(pair(a, b, "revoke_trust")).value("type", ""), "revoke_trust_ok");
  EXPECT_EQ(call({{"type", "request_handshake"},
                  {"from_node_id", a.id},
                  {"to_node_id", b.id},
                  {"justification", "hi"},
                  {"signature", a.sign("handshake:" + std::to_string(a.id) + ":" + std::to_string(b.id))}})
                .value("type", ""),
            "request_handshake_ok");
  p = scrape();
  EXPECT_EQ(value(p, "pilot_trust_links"), 0);
  EXPECT_EQ(value(p, "pilot_trust_revocations_total"), 1);
  EXPECT_EQ(value(p, "pilot_handshake_requests_total"), 1);
  EXPECT_EQ(value(p, "pilot_handshake_inbox_size"), 1);

  // Online is "heard from within the stale threshold"; registered stays until reaped.
  now_ += registry_->options().stale_threshold_ns + kSecond;
  heartbeat(b);
  p = scrape();
  EXPECT_EQ(value(p, "pilot_nodes_total"), 2);
  EXPECT_EQ(value(p, "pilot_nodes_online"), 1);

  EXPECT_EQ(
      call({{"type", "deregister"}, {"node_id", b.id}, {"signature", b.sign("deregister:" + std::to_string(b.id))}})
          .value("type", ""),
      "deregister_ok");
  p = scrape();
  EXPECT_EQ(value(p, "pilot_deregistrations_total"), 1);
  EXPECT_EQ(value(p, "pilot_nodes_total"), 1);
}

TEST_F(MetricsTest, NetworkGaugesAreLabelledByNameAndSorted) {
  Node a = register_node(), b = register_node();
  auto create = [&](uint16_t id, const std::string& name, bool enterprise) {
    NetworkCreated e;
    e.network_id = id;
    e.name = name;
    e.join_rule = "open";
    e.enterprise = enterprise;
    registry_->emit(e);
  };
  auto join = [&](uint32_t node, Role role) {
    MemberJoined j;
    j.network_id = 1;
    j.node_id = node;
    registry_->emit(j);
    MemberRoleSet r;
    r.network_id = 1;
    r.node_id = node;
    r.role = role;
    registry_->emit(r);
  };
  create(1, "zeta", false);
  create(2, "alpha \"quoted\"", true);
  join(a.id, Role::kOwner);
  join(b.id, Role::kAdmin);
  Parsed p = scrape();
  EXPECT_EQ(value(p, "pilot_networks_total"), 2);
  EXPECT_EQ(value(p, "pilot_networks_enterprise"), 1);
  EXPECT_EQ(value(p, "pilot_network_members", {{"network", "zeta"}}), 2);
  EXPECT_EQ(value(p, "pilot_network_members", {{"network", "alpha \"quoted\""}}), 0);
  EXPECT_EQ(value(p, "pilot_network_owners", {{"network", "zeta"}}), 1);
  EXPECT_EQ(value(p, "pilot_network_admins", {{"network", "zeta"}}), 1);
  EXPECT_EQ(value(p, "pilot_network_enterprise", {{"network", "alpha \"quoted\""}}), 1);
  const auto& members = p.family("pilot_network_members")->samples;
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].labels.at("network"), "alpha \"quoted\"");  // sorted by label value
  EXPECT_EQ(value(p, "pilot_log_appends_total", {{"event", "network_created"}}), 2);

  src_.max_network_series = 1;
  p = scrape();
  EXPECT_EQ(p.family("pilot_network_members")->samples.size(), 1u);
  EXPECT_EQ(value(p, "pilot_networks_total"), 2);  // the totals still count all
}

TEST_F(MetricsTest, LogHistogramsAndTotalsFillAsTheWriterWorks) {
  for (int i = 0; i < 5; ++i) register_node();
  writer_->flush();
  Parsed p = scrape();
  EXPECT_EQ(value(p, "pilot_log_appends_total", {{"event", "node_registered"}}), 5);
  EXPECT_EQ(value(p, "pilot_log_last_seq"), 5);
  EXPECT_EQ(value(p, "pilot_log_durable_seq"), 5);
  EXPECT_EQ(value(p, "pilot_log_records_written_total"), 5);
  EXPECT_GT(value(p, "pilot_log_bytes_written_total"), 0);
  EXPECT_GE(value(p, "pilot_log_fsyncs_total"), 1);
  EXPECT_GE(value(p, "pilot_log_fsync_duration_seconds_count"), 1);
  EXPECT_GE(value(p, "pilot_log_commit_latency_seconds_count"), 1);
  // Every record was made durable by some fdatasync, each counted once.
  EXPECT_EQ(value(p, "pilot_log_fsync_batch_records_sum"), 5);
  EXPECT_GT(value(p, "pilot_wal_size_bytes"), 0);
}

TEST_F(MetricsTest, LimiterBeaconReplicationAndSnapshotFamiliesMove) {
  const rpc::IpAddr ip = *rpc::IpAddr::parse("198.51.100.1");
  limiter_.admit(ip, 0);
  limiter_.admit(ip, 0);  // burst 1: denied by the per-IP bucket
  NullSink sink;
  engine_.handle("", beacon::Source{}, beacon::Time{}, sink);
  engine_.handle(std::string(1, '\x99'), beacon::Source{}, beacon::Time{}, sink);
  snapshots_.record(Snapshotter::Result{7, 0.3, ""}, 1767225600 * kSecond);
  snapshots_.record(Snapshotter::Result{0, 0, "disk full"}, 0);
  Parsed p = scrape();
  EXPECT_EQ(value(p, "pilot_ratelimit_denied_total", {{"kind", "ip"}}), 1);
  EXPECT_EQ(value(p, "pilot_ratelimit_denied_total", {{"kind", "global"}}), 0);
  EXPECT_EQ(value(p, "pilot_beacon_dropped_total", {{"reason", "empty"}}), 1);
  EXPECT_EQ(value(p, "pilot_beacon_dropped_total", {{"reason", "unknown_type"}}), 1);
  EXPECT_EQ(value(p, "pilot_save_total"), 1);
  EXPECT_EQ(value(p, "pilot_save_failures_total"), 1);
  EXPECT_EQ(value(p, "pilot_save_last_unix_seconds"), 1767225600);
  EXPECT_EQ(value(p, "pilot_snapshot_last_seq"), 7);
  EXPECT_EQ(value(p, "pilot_save_duration_seconds_bucket", {{"le", "0.25"}}), 0);
  EXPECT_EQ(value(p, "pilot_save_duration_seconds_bucket", {{"le", "0.5"}}), 1);
  EXPECT_EQ(value(p, "pilot_replication_followers"), 0);
  EXPECT_EQ(value(p, "pilot_replication_connected"), 0);
  EXPECT_EQ(value(p, "pilot_replication_is_standby"), 0);
  EXPECT_EQ(value(p, "pilot_replication_sync_degraded"), 0);
  registry_->set_standby(true);
  EXPECT_EQ(value(scrape(), "pilot_replication_is_standby"), 1);
}

TEST_F(MetricsTest, LeavesOutWhatIsNotThere) {
  MetricsSources bare;
  bare.registry = registry_.get();
  const std::string text = render_metrics(bare);
  std::string err;
  auto p = testing::parse_exposition(text, err);
  ASSERT_TRUE(p) << err;
  EXPECT_TRUE(p->family("pilot_nodes_total"));
  EXPECT_TRUE(p->family("pilot_uptime_seconds"));
  EXPECT_FALSE(p->family("pilot_requests_total"));
  EXPECT_FALSE(p->family("pilot_beacon_relay_forwarded_total"));
  EXPECT_FALSE(p->family("pilot_wal_size_bytes"));
}

// The HTTP handler's path: another thread renders while the loop thread owns the
// registry; requests run on the loop thread too.
TEST_F(MetricsTest, RendersFromAnotherThreadThroughTheLoopBridge) {
  LoopBridge bridge(&loop_, writer_.get(), [this] { return registry_->visible_seq(); });
  std::thread loop_thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });

  auto scrape_via_bridge = [&] {
    auto text = render_metrics(src_, bridge);
    EXPECT_TRUE(text);
    std::string err;
    auto p = testing::parse_exposition(text.value_or(""), err);
    EXPECT_TRUE(p) << err;
    return p.value_or(Parsed{});
  };
  Parsed p = scrape_via_bridge();
  EXPECT_FALSE(p.value("pilot_requests_total", {{"type", "register"}}));
  auto registered = bridge.call([this] { return register_node().id; });
  ASSERT_TRUE(registered);
  p = scrape_via_bridge();
  EXPECT_EQ(value(p, "pilot_requests_total", {{"type", "register"}}), 1);
  EXPECT_EQ(value(p, "pilot_nodes_total"), 1);
  EXPECT_TRUE(p.family("pilot_log_fsync_duration_seconds"));  // the shared part is there too

  bridge.call([&bridge] {
    bridge.close();
    return 0;
  });
  loop_thread.join();
  EXPECT_FALSE(render_metrics(src_, bridge));  // closed: no answer
}

}  // namespace
}  // namespace pilot::admin
