// The outbound side's parts in-process, with real files, a real State and a real HTTP
// receiver: the cursor and dead-letter files, the dead-letter queue, the feeder's
// rules (durable entries only, target switches, losses counted) and the queue's
// retries, cursor and bounded shutdown.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "admin/outbound_feeder.h"
#include "admin/outbound_files.h"
#include "admin/outbound_queue.h"
#include "admin/webhook_dlq.h"
#include "admin/webhook_sink.h"
#include "projections/state.h"
#include "test/admin/outbound_receivers.h"
#include "test/support/temp_dir.h"

namespace pilot::admin {
namespace {

using outbound_test::eventually;
using outbound_test::Receiver;
using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr int64_t kT0 = int64_t{1767225600} * 1000000000;  // 2026-01-01T00:00:00Z

// A State with events applied one seq after another.
struct Log {
  State state;
  uint64_t seq = 0;
  uint64_t add(const Event& e) {
    ++seq;
    state.apply(EventMeta{seq, 0, kT0 + static_cast<int64_t>(seq) * 1000000000}, e);
    return seq;
  }
  uint64_t beacon(uint32_t id) { return add(BeaconRegistered{id, "198.51.100.1:9001"}); }
};

// ---- files ---------------------------------------------------------------------------------

TEST(OutboundFiles, CursorRoundTripsAndRejectsDamage) {
  OutboundCursor c{"http://hooks.example.com/x", 42, 17};
  EXPECT_EQ(decode_cursor(encode_cursor(c)), c);
  EXPECT_FALSE(decode_cursor(""));
  EXPECT_FALSE(decode_cursor("{\"target\":\"x\",\"seq\":-1,\"ordinal\":0}"));
  EXPECT_FALSE(decode_cursor("{\"target\":1,\"seq\":1,\"ordinal\":0}"));
  EXPECT_FALSE(decode_cursor("{\"target\":\"x\",\"seq\":1}"));
  EXPECT_FALSE(decode_cursor("[1,2,3]"));
  EXPECT_FALSE(decode_cursor(std::string(encode_cursor(c)).substr(0, 10)));

  testsupport::TempDir dir;
  const std::string path = dir.path() + "/webhook.cursor";
  std::string problem;
  EXPECT_FALSE(load_cursor(path, problem));
  EXPECT_EQ(problem, "");  // simply missing
  std::string err;
  ASSERT_TRUE(save_cursor(path, c, err)) << err;
  EXPECT_EQ(load_cursor(path, problem), c);
  std::ofstream(path) << "garbage";
  EXPECT_FALSE(load_cursor(path, problem));
  EXPECT_EQ(problem, "does not decode");
}

TEST(OutboundFiles, DeadLetterLinesKeepOnlyValidOnesAndTheNewest) {
  const json a = {{"event_id", 1}, {"action", "node.registered"}, {"timestamp", "2026-01-01T00:00:01Z"}};
  const json b = {{"event_id", 2},
                  {"action", "trust.created"},
                  {"timestamp", "2026-01-01T00:00:02Z"},
                  {"details", {{"node_id", 5}}}};
  const json c = {{"event_id", 3}, {"action", "x"}, {"timestamp", "t"}};
  std::string bytes = encode_dead_letters({a, b});
  bytes += "not json\n{\"event_id\":\"7\",\"action\":\"x\",\"timestamp\":\"t\"}\n{\"event_id\":1}\n\n";
  bytes += encode_dead_letters({c});
  size_t skipped = 0;
  EXPECT_EQ(decode_dead_letters(bytes, 100, skipped), (std::vector<json>{a, b, c}));
  EXPECT_EQ(skipped, 3u);
  EXPECT_EQ(decode_dead_letters(bytes, 2, skipped), (std::vector<json>{b, c}));
  EXPECT_FALSE(valid_dead_letter(json{{"event_id", 1}, {"action", "a"}, {"timestamp", "t"}, {"extra", 1}}));
  EXPECT_FALSE(valid_dead_letter(json{{"event_id", 1}, {"action", "a"}, {"timestamp", "t"}, {"details", "s"}}));
}

TEST(DeadLetterQueue, KeepsTheLast100AcrossARestart) {
  testsupport::TempDir dir;
  const std::string path = dir.path() + "/webhook-dlq.jsonl";
  {
    DeadLetterQueue q(path);
    for (uint64_t i = 1; i <= 105; ++i)
      q.add({{"event_id", i}, {"action", "node.registered"}, {"timestamp", "2026-01-01T00:00:00Z"}});
    EXPECT_EQ(q.size(), 100u);
    EXPECT_EQ(q.list().front()["event_id"], 6);
    EXPECT_EQ(q.list().back()["event_id"], 105);
  }
  DeadLetterQueue again(path);
  EXPECT_EQ(again.size(), 100u);
  EXPECT_EQ(again.list().front()["event_id"], 6);
}

// ---- webhook body ------------------------------------------------------------------------

TEST(WebhookBody, HasTheSpecFieldsInOrderAndDeadLettersUseSecondPrecision) {
  AuditEntry e;
  e.seq = 9;
  e.time = 1767225600;
  e.action = AuditAction::kTrustCreated;
  e.node_id = 5;
  e.details = "peer_id=6";
  EXPECT_EQ(webhook_body(e), R"({"event_id":9,"action":"trust.created","timestamp":"2026-01-01T00:00:00Z",)"
                             R"("details":{"details":"peer_id=6","node_id":5}})");
  e.node_id = 0;
  e.details.clear();
  EXPECT_EQ(webhook_body(e), R"({"event_id":9,"action":"trust.created","timestamp":"2026-01-01T00:00:00Z"})");
  EXPECT_EQ(webhook_dead_letter(e),
            json({{"event_id", 9}, {"action", "trust.created"}, {"timestamp", "2026-01-01T00:00:00Z"}}));
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookBody, StatusesMapToOutcomes) {
  using O = OutboundSink::Outcome;
  EXPECT_EQ(outcome_of_status(200), O::kDelivered);
  EXPECT_EQ(outcome_of_status(204), O::kDelivered);
  EXPECT_EQ(outcome_of_status(302), O::kDelivered);
  EXPECT_EQ(outcome_of_status(400), O::kReject);
  EXPECT_EQ(outcome_of_status(404), O::kReject);
  EXPECT_EQ(outcome_of_status(408), O::kRetry);
  EXPECT_EQ(outcome_of_status(429), O::kRetry);
  EXPECT_EQ(outcome_of_status(500), O::kRetry);
  EXPECT_EQ(outcome_of_status(0), O::kRetry);
}

// ---- feeder ---------------------------------------------------------------------------------

// A feeder whose queue is never started: what it pushes stays queued, countable.
struct FeederRig {
  OutboundQueueOptions opts() {
    OutboundQueueOptions o;
    o.capacity = 64;
    return o;
  }
  OutboundQueue queue{opts(), OutboundCursor{}, nullptr};
  OutboundFeeder feeder{"webhook", AuditAction::kWebhookConfigured,
                        [](const Settings& s) {
                          ChannelTarget t;
                          t.key = t.fingerprint = t.description = s.webhook_url;
                          t.make = [url = s.webhook_url]() -> std::shared_ptr<OutboundSink> {
                            return std::make_shared<WebhookSink>(*rpc::parse_http_url(url), "", rpc::UrlPolicy{true});
                          };
                          return t;
                        },
                        queue};
  size_t queued() const { return 64 - queue.room(); }
};

TEST(OutboundFeeder, FeedsOnlyDurableEntriesAfterTheConfigureEntry) {
  Log log;
  log.beacon(1);  // before the webhook: never sent
  const uint64_t cfg = log.add(WebhookConfigured{"http://127.0.0.1:1/hook"});
  const uint64_t b2 = log.beacon(2);
  const uint64_t b3 = log.beacon(3);
  FeederRig rig;
  rig.feeder.resume(log.state, {});

  rig.feeder.tick(log.state, cfg - 1);  // the configuration itself is not durable yet
  EXPECT_EQ(rig.queued(), 0u);
  EXPECT_FALSE(rig.feeder.delivering());

  rig.feeder.tick(log.state, b2);  // b3 is not durable: it must not leave the process
  EXPECT_TRUE(rig.feeder.delivering());
  EXPECT_EQ(rig.queued(), 2u);  // the switch marker and b2
  EXPECT_EQ(rig.feeder.fed_seq(), b2);

  rig.feeder.tick(log.state, b3);
  EXPECT_EQ(rig.queued(), 3u);
  EXPECT_EQ(rig.feeder.fed_seq(), b3);
  rig.feeder.tick(log.state, b3);  // nothing new
  EXPECT_EQ(rig.queued(), 3u);
}

TEST(OutboundFeeder, ResumesRightAfterTheCursorOfTheSameTarget) {
  Log log;
  log.add(WebhookConfigured{"http://127.0.0.1:1/hook"});
  log.beacon(1);
  const uint64_t b2 = log.beacon(2);
  log.beacon(3);
  FeederRig rig;
  rig.feeder.resume(log.state, {"http://127.0.0.1:1/hook", b2, 3});
  EXPECT_TRUE(rig.feeder.delivering());
  rig.feeder.tick(log.state, log.seq);
  EXPECT_EQ(rig.queued(), 1u);  // only beacon 3
  EXPECT_EQ(rig.queue.counters().dropped, 0u);
}

TEST(OutboundFeeder, CountsEntriesTheAuditViewNoLongerHolds) {
  Log log;
  log.add(WebhookConfigured{"http://127.0.0.1:1/hook"});
  const uint64_t first = log.beacon(1);
  for (uint32_t i = 2; i <= AuditLog::kCapacity + 10; ++i) log.beacon(i);
  FeederRig rig;
  // Delivered up to the first beacon (ordinal 2), then 1000+ more entries came.
  rig.feeder.resume(log.state, {"http://127.0.0.1:1/hook", first, 2});
  rig.feeder.tick(log.state, log.seq);
  // Entries 3 .. total-1000 left the view unsent.
  EXPECT_EQ(rig.queue.counters().dropped, log.state.audit.total() - AuditLog::kCapacity - 2);
  EXPECT_EQ(rig.queued(), 63u);  // as many as fit, keeping room for a marker
}

TEST(OutboundFeeder, ATargetReplacedBeforeItWasSeenGetsNothing) {
  Log log;
  FeederRig rig;
  rig.feeder.resume(log.state, {});
  log.add(WebhookConfigured{"http://127.0.0.1:1/a"});
  log.beacon(1);  // meant for /a, which no tick ever saw
  log.add(WebhookConfigured{"http://127.0.0.1:1/b"});
  log.beacon(2);
  rig.feeder.tick(log.state, log.seq);
  EXPECT_EQ(rig.queue.counters().dropped, 2u);  // beacon 1 and the /b configure entry
  EXPECT_TRUE(rig.feeder.delivering());
  EXPECT_EQ(rig.queued(), 3u);  // marker (unknown), marker (/b), beacon 2
}

TEST(OutboundFeeder, ACursorForAnotherTargetStartsTheNewOneAtItsConfigureEntry) {
  Log log;
  log.add(WebhookConfigured{"http://127.0.0.1:1/old"});
  const uint64_t b1 = log.beacon(1);
  log.beacon(2);  // for /old; the process died before sending it
  log.add(WebhookConfigured{"http://127.0.0.1:1/new"});
  log.beacon(3);
  FeederRig rig;
  rig.feeder.resume(log.state, {"http://127.0.0.1:1/old", b1, 2});
  rig.feeder.tick(log.state, log.seq);
  // beacon 2 and the /new configure entry had no known sink (dropped, counted);
  // /new gets beacon 3 after its marker.
  EXPECT_EQ(rig.queue.counters().dropped, 2u);
  EXPECT_EQ(rig.queued(), 2u);
}

// ---- queue -----------------------------------------------------------------------------------

struct QueueRig {
  Receiver rx;
  testsupport::TempDir dir;
  std::vector<uint64_t> dead;
  std::mutex mu;
  std::string cursor_path() const { return dir.path() + "/webhook.cursor"; }
  std::unique_ptr<OutboundQueue> make(int attempts = 3) {
    OutboundQueueOptions o;
    o.name = "webhook";
    o.cursor_path = cursor_path();
    o.attempts = attempts;
    o.backoff = 5ms;
    return std::make_unique<OutboundQueue>(o, OutboundCursor{}, [this](const AuditEntry& e, const std::string&) {
      std::lock_guard lk(mu);
      dead.push_back(e.seq);
    });
  }
  OutboundItem item(uint64_t seq, std::shared_ptr<OutboundSink> sink, std::string target = "t") {
    OutboundItem it;
    it.entry.seq = seq;
    it.entry.action = AuditAction::kBeaconRegistered;
    it.ordinal = seq;
    it.target = std::move(target);
    it.sink = std::move(sink);
    return it;
  }
  std::shared_ptr<OutboundSink> sink() {
    return std::make_shared<WebhookSink>(*rpc::parse_http_url(rx.url()), "", rpc::UrlPolicy{true});
  }
};

TEST(OutboundQueue, RetriesThenGivesUpAndMovesTheCursorEitherWay) {
  QueueRig rig;
  auto q = rig.make();
  rig.rx.script({500, 500, 500, 503, 200});
  auto s = rig.sink();
  q->push(rig.item(7, s));  // 3 × 5xx: given up
  q->push(rig.item(8, s));  // 503 then 200
  q->start();
  ASSERT_TRUE(eventually([&] { return q->idle() && q->counters().delivered == 1; }));
  EXPECT_EQ(rig.rx.hits().size(), 5u);
  EXPECT_EQ(q->counters().given_up, 1u);
  EXPECT_EQ(q->counters().failed_attempts, 4u);
  EXPECT_EQ(rig.dead, std::vector<uint64_t>{7});
  // Written when the queue ran dry.
  std::string problem;
  ASSERT_TRUE(eventually([&] { return load_cursor(rig.cursor_path(), problem).has_value(); }));
  EXPECT_EQ(load_cursor(rig.cursor_path(), problem), (OutboundCursor{"t", 8, 8}));
  q->stop(0ms);
}

TEST(OutboundQueue, AMarkerMovesTheCursorToTheNewTarget) {
  QueueRig rig;
  auto q = rig.make();
  q->push(rig.item(3, nullptr, "http://new"));
  q->start();
  ASSERT_TRUE(eventually([&] { return q->idle(); }));
  q->stop(0ms);
  std::string problem;
  EXPECT_EQ(load_cursor(rig.cursor_path(), problem), (OutboundCursor{"http://new", 3, 3}));
  EXPECT_EQ(rig.rx.hits().size(), 0u);
}

TEST(OutboundQueue, ShutdownCutsAHangingDeliveryShortAndKeepsItForTheRestart) {
  // A receiver that accepts the connection and never answers.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::listen(fd, 4);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";

  QueueRig rig;
  auto q = rig.make();
  auto sink = std::make_shared<WebhookSink>(*rpc::parse_http_url(url), "", rpc::UrlPolicy{true}, 60s);
  q->push(rig.item(5, sink));
  q->start();
  ASSERT_TRUE(eventually([&] { return !q->idle(); }));
  std::this_thread::sleep_for(50ms);  // the POST is out and waiting for an answer
  const auto t0 = std::chrono::steady_clock::now();
  q->stop(100ms);
  // Cancelled rather than waiting out the 60 s read timeout (generous bound).
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_EQ(q->counters().delivered, 0u);
  EXPECT_EQ(q->counters().given_up, 0u);
  EXPECT_EQ(q->cursor().seq, 0u);  // not done: re-sent after the restart
  ::close(fd);
}

TEST(OutboundQueue, ASupersededTargetIsDrainedThenDropped) {
  QueueRig rig;
  OutboundQueueOptions o;
  o.backoff = 5ms;
  o.switch_drain = 0ms;  // no grace at all
  OutboundQueue q(o, OutboundCursor{"old", 0, 0}, nullptr);
  rig.rx.always(503);
  auto s = rig.sink();
  q.push(rig.item(1, s, "old"));
  q.push(rig.item(2, nullptr, "new"));  // the switch
  q.start();
  ASSERT_TRUE(eventually([&] { return q.idle(); }));
  EXPECT_EQ(q.counters().dropped, 1u);
  EXPECT_EQ(rig.rx.hits().size(), 0u);
  EXPECT_EQ(q.cursor(), (OutboundCursor{"new", 2, 2}));
  q.stop(0ms);
}

}  // namespace
}  // namespace pilot::admin
