// GET /metrics on the real `rendezvous` binary over loopback: the text is valid
// exposition format (the strict parser, and promtool when installed), it is served
// as text/plain version 0.0.4, and its counters move when requests are made on the
// registry port and datagrams reach the embedded beacon.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "net/rpc/client.h"
#include "test/admin/prometheus_parser.h"
#include "test/admin/promtool.h"
#include "test/support/registry_fixture.h"

namespace pilot {
namespace {

using namespace std::chrono_literals;
using admin::testing::LabelMap;
using admin::testing::Parsed;
using testsupport::Registry;

class MetricsHttp : public ::testing::Test {
 protected:
  MetricsHttp() : server_(testsupport::with_flags({"--fsync", "always"})), http_("127.0.0.1", server_.http_port()) {
    http_.set_read_timeout(10, 0);
  }

  // One scrape, checked and parsed; `text` keeps the raw body.
  Parsed scrape(std::string* text = nullptr) {
    auto r = http_.Get("/metrics");
    EXPECT_TRUE(r) << "no answer from the admin port\n" << server_.output();
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << (r->status == 404 ? "/metrics is not wired (AdminContext::render_metrics)\n" : "")
                              << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    std::string err;
    auto p = admin::testing::parse_exposition(r->body, err);
    EXPECT_TRUE(p) << err << "\n" << r->body;
    if (text) *text = r->body;
    return p.value_or(Parsed{});
  }
  static double value(const Parsed& p, const std::string& name, const LabelMap& labels = {}) {
    return p.value(name, labels).value_or(0);  // an absent counter has not moved
  }

  Registry server_;
  httplib::Client http_;
};

TEST_F(MetricsHttp, ServesValidExpositionText) {
  std::string text;
  Parsed p = scrape(&text);
  EXPECT_TRUE(p.family("pilot_requests_total"));
  EXPECT_TRUE(p.family("pilot_uptime_seconds"));
  EXPECT_TRUE(p.family("pilot_beacon_relay_forwarded_total"));  // the embedded beacon is there
  EXPECT_TRUE(p.family("pilot_log_fsync_duration_seconds"));
  auto r = admin::testing::promtool_check(text);
  if (!r) GTEST_SKIP() << "promtool not installed (Debian package prometheus); the strict parser checked alone";
  EXPECT_TRUE(r->parsed) << r->output;
  const std::set<std::string> spec_gauges{"pilot_nodes_total", "pilot_pubkeys_total", "pilot_networks_total"};
  for (const std::string& f : r->findings)
    EXPECT_TRUE(spec_gauges.count(f.substr(0, f.find(' ')))) << "promtool: " << f;
}

TEST_F(MetricsHttp, CountersMoveWhenRequestsAreMade) {
  const Parsed before = scrape();

  rpc::Client c = server_.client();
  rpc::Identity id;
  nlohmann::json reg = c.call(id.register_req("0.0.0.0:4000"));
  ASSERT_EQ(reg.value("type", ""), "register_ok") << reg.dump();
  const uint32_t node = reg.value("node_id", 0u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.call(id.heartbeat_req(node)).value("type", ""), "heartbeat_ok");
  EXPECT_EQ(c.call({{"type", "no_such_op"}}).value("type", ""), "error");

  const Parsed after = scrape();
  auto moved = [&](const std::string& name, const LabelMap& labels = {}) {
    return value(after, name, labels) - value(before, name, labels);
  };
  EXPECT_EQ(moved("pilot_requests_total", {{"type", "register"}}), 1);
  EXPECT_EQ(moved("pilot_requests_total", {{"type", "heartbeat"}}), 3);
  EXPECT_EQ(moved("pilot_errors_total", {{"type", "no_such_op"}}), 1);
  EXPECT_EQ(moved("pilot_request_duration_seconds_count", {{"type", "heartbeat"}}), 3);
  EXPECT_EQ(moved("pilot_registrations_total"), 1);
  EXPECT_EQ(moved("pilot_registry_frames_total"), 5);
  EXPECT_GE(value(after, "pilot_registry_tcp_connections"), 1);  // ours is still open
  EXPECT_EQ(value(after, "pilot_nodes_total"), 1);
  EXPECT_EQ(value(after, "pilot_nodes_online"), 1);
  // The registration is a record: appended, fdatasync'd (--fsync always), on disk.
  EXPECT_EQ(moved("pilot_log_appends_total", {{"event", "node_registered"}}), 1);
  EXPECT_GE(moved("pilot_log_fsync_duration_seconds_count"), 1);
  EXPECT_GE(moved("pilot_log_commit_latency_seconds_count"), 1);
  // The loop thread ran those requests between two waits: iterations were counted,
  // and the busy time is a part of the time that passed, not more.
  EXPECT_GE(moved("pilot_loop_iteration_seconds_count"), 5);
  EXPECT_GT(moved("pilot_loop_busy_seconds_total"), 0);
  EXPECT_LT(value(after, "pilot_loop_busy_seconds_total"), value(after, "pilot_uptime_seconds") + 1);
  EXPECT_GT(value(after, "pilot_wal_size_bytes"), 0);
}

TEST_F(MetricsHttp, BeaconCountersMoveWhenDatagramsArrive) {
  const uint16_t port = server_.beacon_port();
  ASSERT_NE(port, 0) << server_.output();
  const Parsed before = scrape();
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const char unknown_type = '\x99';
  ASSERT_EQ(::sendto(fd, &unknown_type, 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 1);
  ::close(fd);
  // The beacon's reader thread counts it; wait for the scrape to show it (bounded).
  const LabelMap reason{{"reason", "unknown_type"}};
  double moved = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    const Parsed p = scrape();
    moved = value(p, "pilot_beacon_dropped_total", reason) - value(before, "pilot_beacon_dropped_total", reason);
    if (moved >= 1) {
      EXPECT_GE(value(p, "pilot_beacon_rx_datagrams_total") - value(before, "pilot_beacon_rx_datagrams_total"), 1);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(moved, 1);
}

}  // namespace
}  // namespace pilot
