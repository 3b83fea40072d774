// The audit webhook of the real `rendezvous` binary (spec §13, §6.23, §21 item 120)
// against a real HTTP receiver started by the test: body shape and HMAC signature,
// retries with backoff, the dead-letter queue (5xx past the budget, receiver down, 4xx
// at once), reconfiguring and disabling, and at-least-once, in-order delivery across
// SIGTERM and kill -9.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "test/admin/outbound_test_support.h"

namespace pilot::outbound_test {
namespace {

using testsupport::Registry;

const std::string kSecret = "hook-secret-42";

std::string hmac_hex(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", mac[i]);
    hex += b;
  }
  return hex;
}

json body_of(const Receiver::Hit& h) { return json::parse(h.body, nullptr, false); }

// The node.registered events answered 2xx, deduplicated by event_id (first arrival
// kept), in arrival order.
std::vector<json> delivered_registrations(const Receiver& r) {
  std::vector<json> out;
  std::set<uint64_t> seen;
  for (const auto& h : r.hits()) {
    json b = body_of(h);
    if (h.status >= 300 || b.value("action", "") != "node.registered") continue;
    if (seen.insert(b["event_id"].get<uint64_t>()).second) out.push_back(b);
  }
  return out;
}

size_t attempts_for(const Receiver& r, uint32_t node_id) {
  size_t n = 0;
  for (const auto& h : r.hits()) {
    json b = body_of(h);
    if (b.value("action", "") == "node.registered" && b["details"].value("node_id", 0u) == node_id) ++n;
  }
  return n;
}

bool has_registration(const Receiver& r, uint32_t node_id) {
  for (const json& b : delivered_registrations(r))
    if (b["details"].value("node_id", 0u) == node_id) return true;
  return false;
}

json get_webhook(Registry& reg) {
  json g = admin_call(reg, {{"type", "get_webhook"}});
  EXPECT_EQ(g.value("type", ""), "get_webhook_ok") << g.dump();
  return g;
}

json dlq(Registry& reg) {
  json d = admin_call(reg, {{"type", "get_webhook_dlq"}});
  EXPECT_EQ(d.value("type", ""), "get_webhook_dlq_ok") << d.dump();
  return d;
}

void set_webhook(Registry& reg, const std::string& url) {
  json r = admin_call(reg, {{"type", "set_webhook"}, {"url", url}});
  ASSERT_EQ(r.value("type", ""), "set_webhook_ok") << r.dump();
  EXPECT_EQ(r["status"], url.empty() ? "disabled" : "enabled");
  EXPECT_EQ(r["url"], url);
}

// Node IDs of the deduplicated deliveries, which must come in event_id order.
std::vector<uint32_t> delivered_ids_in_order(const Receiver& r) {
  std::vector<uint32_t> ids;
  uint64_t last = 0;
  for (const json& b : delivered_registrations(r)) {
    const uint64_t id = b["event_id"].get<uint64_t>();
    EXPECT_GT(id, last) << "out of order: " << b.dump();
    last = id;
    ids.push_back(b["details"].value("node_id", 0u));
  }
  return ids;
}

TEST(Webhook, DeliversSignedEventsInOrder) {
  Receiver rx;
  Registry reg(server_opts({"--webhook-secret", kSecret}));
  set_webhook(reg, rx.url());
  std::vector<uint32_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(register_node(reg));
  ASSERT_TRUE(eventually([&] { return delivered_registrations(rx).size() == 3; })) << reg.output();

  EXPECT_EQ(delivered_ids_in_order(rx), ids);
  const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z)");
  for (const auto& h : rx.hits()) {
    EXPECT_EQ(h.path, "/hook");
    EXPECT_EQ(h.header("Content-Type"), "application/json");
    // The signature is over the exact bytes received.
    EXPECT_EQ(h.header("X-Pilot-Signature-256"), hmac_hex(kSecret, h.body)) << h.body;
    EXPECT_NE(h.header("X-Pilot-Signature-256"), hmac_hex("other-secret", h.body));
    json b = body_of(h);
    ASSERT_TRUE(b.is_object()) << h.body;
    // Exactly the spec's fields, in its order.
    EXPECT_EQ(h.body.rfind("{\"event_id\":", 0), 0u) << h.body;
    for (const auto& [k, v] : b.items())
      EXPECT_TRUE(k == "event_id" || k == "action" || k == "timestamp" || k == "details") << k;
    EXPECT_TRUE(b["event_id"].is_number_unsigned());
    EXPECT_TRUE(std::regex_match(b["timestamp"].get<std::string>(), rfc3339)) << b["timestamp"];
  }
  const json first = delivered_registrations(rx).front();
  EXPECT_EQ(first["action"], "node.registered");
  EXPECT_EQ(first["details"]["node_id"], ids[0]);

  // Counted once the response is read, a moment after the receiver recorded it.
  ASSERT_TRUE(eventually([&] { return get_webhook(reg)["delivered"] == 3; }));
  json g = get_webhook(reg);
  EXPECT_EQ(g["enabled"], true);
  EXPECT_EQ(g["url"], rx.url());
  EXPECT_EQ(g["failed"], 0);
  EXPECT_EQ(g["dropped"], 0);
  EXPECT_EQ(g["dlq_size"], 0);
}

TEST(Webhook, UnsignedWithoutASecret) {
  Receiver rx;
  Registry reg(server_opts());
  set_webhook(reg, rx.url());
  register_node(reg);
  ASSERT_TRUE(eventually([&] { return delivered_registrations(rx).size() == 1; })) << reg.output();
  EXPECT_EQ(rx.hits().front().header("X-Pilot-Signature-256"), "");
}

TEST(Webhook, AFailingReceiverGetsTheEventAfterRetries) {
  Receiver rx;
  Registry reg(server_opts({"--webhook-secret", kSecret}));
  set_webhook(reg, rx.url());
  rx.script({503, 500});
  const uint32_t id = register_node(reg);
  ASSERT_TRUE(eventually([&] { return has_registration(rx, id); })) << reg.output();
  ASSERT_TRUE(eventually([&] { return get_webhook(reg)["delivered"] == 1; }));
  auto hits = rx.hits();
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].status, 503);
  EXPECT_EQ(hits[1].status, 500);
  EXPECT_EQ(hits[2].status, 200);
  // The same event each time, byte for byte.
  EXPECT_EQ(hits[0].body, hits[2].body);
  EXPECT_EQ(hits[1].body, hits[2].body);
  json g = get_webhook(reg);
  EXPECT_EQ(g["delivered"], 1);
  EXPECT_EQ(g["failed"], 0);
  EXPECT_EQ(g["dlq_size"], 0);
}

TEST(Webhook, ADownReceiverPastTheBudgetLeavesTheEventInTheDlq) {
  Receiver rx;
  Registry reg(server_opts());
  set_webhook(reg, rx.url());
  rx.always(503);
  const uint32_t a = register_node(reg);
  ASSERT_TRUE(eventually([&] { return get_webhook(reg)["failed"] == 1; })) << reg.output();
  EXPECT_EQ(attempts_for(rx, a), 3u);  // 3 attempts, then the DLQ

  // A receiver that does not even accept connections.
  rx.stop();
  const uint32_t b = register_node(reg);
  ASSERT_TRUE(eventually([&] { return get_webhook(reg)["failed"] == 2; })) << reg.output();

  json d = dlq(reg);
  ASSERT_EQ(d["count"], 2) << d.dump();
  ASSERT_EQ(d["events"].size(), 2u);
  const std::regex second_precision(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  EXPECT_EQ(d["events"][0]["action"], "node.registered");
  EXPECT_EQ(d["events"][0]["details"]["node_id"], a);
  EXPECT_EQ(d["events"][1]["details"]["node_id"], b);
  EXPECT_LT(d["events"][0]["event_id"].get<uint64_t>(), d["events"][1]["event_id"].get<uint64_t>());
  for (const json& e : d["events"])
    EXPECT_TRUE(std::regex_match(e["timestamp"].get<std::string>(), second_precision)) << e.dump();
  EXPECT_EQ(get_webhook(reg)["dlq_size"], 2);
  EXPECT_EQ(get_webhook(reg)["delivered"], 0);

  // The DLQ survives a restart; the dead events are not sent again.
  rx.start(rx.port());
  rx.always(200);
  reg.restart();
  EXPECT_EQ(dlq(reg)["events"], d["events"]);
  const uint32_t c = register_node(reg);
  ASSERT_TRUE(eventually([&] { return has_registration(rx, c); })) << reg.output();
  EXPECT_EQ(delivered_ids_in_order(rx), std::vector<uint32_t>{c});
}

TEST(Webhook, AClientErrorGoesStraightToTheDlq) {
  Receiver rx;
  Registry reg(server_opts());
  set_webhook(reg, rx.url());
  rx.script({404});
  const uint32_t a = register_node(reg);
  ASSERT_TRUE(eventually([&] { return dlq(reg)["count"] == 1; })) << reg.output();
  EXPECT_EQ(attempts_for(rx, a), 1u);  // no retry
  // The next event is not held up by it.
  const uint32_t b = register_node(reg);
  ASSERT_TRUE(eventually([&] { return get_webhook(reg)["delivered"] == 1; })) << reg.output();
  EXPECT_TRUE(has_registration(rx, b));
  json g = get_webhook(reg);
  EXPECT_EQ(g["failed"], 1);
  EXPECT_EQ(g["delivered"], 1);
}

TEST(Webhook, DisablingStopsDeliveryAndReconfiguringSwitchesTarget) {
  Receiver one, two;
  Registry reg(server_opts());
  set_webhook(reg, one.url());
  const uint32_t a = register_node(reg);
  ASSERT_TRUE(eventually([&] { return has_registration(one, a); })) << reg.output();

  set_webhook(reg, "");
  EXPECT_EQ(get_webhook(reg)["enabled"], false);
  const uint32_t unsent = register_node(reg);

  set_webhook(reg, two.url());
  const uint32_t b = register_node(reg);
  ASSERT_TRUE(eventually([&] { return has_registration(two, b); })) << reg.output();
  // Entries are fed in order, so by the time b arrived the disabled-time entry had
  // been passed over for good.
  EXPECT_EQ(delivered_ids_in_order(one), std::vector<uint32_t>{a});
  EXPECT_EQ(delivered_ids_in_order(two), std::vector<uint32_t>{b});
  EXPECT_EQ(attempts_for(one, unsent) + attempts_for(two, unsent), 0u);
}

TEST(Webhook, AnOperatorCanRefuseLoopbackTargets) {
  testsupport::RegistryOptions o = server_opts();
  o.args = {"--admin-token", kAdmin, "--outbound-allow-private=false"};  // the reference accepts them
  Registry reg(o);
  json r = admin_call(reg, {{"type", "set_webhook"}, {"url", "http://127.0.0.1:9/hook"}});
  EXPECT_EQ(r.value("type", ""), "error");
  EXPECT_EQ(r.value("error", ""),
            "set_webhook: invalid url: private or loopback address 127.0.0.1 not allowed (the operator can allow it "
            "with --outbound-allow-private)");
  r = admin_call(reg, {{"type", "set_webhook"}, {"url", "http://169.254.169.254/"}});
  EXPECT_EQ(r.value("error", ""), "set_webhook: invalid url: link-local address 169.254.169.254 not allowed");
  EXPECT_EQ(get_webhook(reg)["enabled"], false);
}

TEST(Webhook, CleanRestartNeitherLosesNorRepeats) {
  Receiver rx;
  Registry reg(server_opts());
  set_webhook(reg, rx.url());
  std::vector<uint32_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(register_node(reg));
  // Still in flight when SIGTERM comes: the drain delivers them.
  ASSERT_EQ(reg.terminate(), 0) << reg.output();
  reg.restart();
  for (int i = 0; i < 3; ++i) ids.push_back(register_node(reg));
  ASSERT_TRUE(eventually([&] { return delivered_registrations(rx).size() == 6; })) << reg.output();
  EXPECT_EQ(delivered_ids_in_order(rx), ids);
  // A clean stop records exactly how far it got: nothing is sent twice.
  EXPECT_EQ(rx.hits().size(), 6u);
  for (uint32_t id : ids) EXPECT_EQ(attempts_for(rx, id), 1u) << id;
}

TEST(Webhook, Kill9LosesNothingAndKeepsOrder) {
  Receiver rx;
  // Slow retries, so events are still pending when the process dies.
  Registry reg(server_opts({}, "1s"));
  set_webhook(reg, rx.url());
  std::vector<uint32_t> ids;
  for (int i = 0; i < 2; ++i) ids.push_back(register_node(reg));
  ASSERT_TRUE(eventually([&] { return delivered_registrations(rx).size() == 2; })) << reg.output();

  rx.always(503);
  for (int i = 0; i < 3; ++i) ids.push_back(register_node(reg));
  ASSERT_TRUE(eventually([&] { return attempts_for(rx, ids[2]) >= 1; })) << reg.output();
  reg.kill9();

  rx.always(200);
  reg.restart();
  for (int i = 0; i < 2; ++i) ids.push_back(register_node(reg));
  ASSERT_TRUE(eventually([&] { return delivered_registrations(rx).size() == ids.size(); })) << reg.output();
  // Every event at least once, in log order, none missing; nothing in the DLQ.
  EXPECT_EQ(delivered_ids_in_order(rx), ids);
  EXPECT_EQ(dlq(reg)["count"], 0);
}

}  // namespace
}  // namespace pilot::outbound_test
