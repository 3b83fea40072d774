// The beacon engine without sockets: spec/beacon.md §18's behaviours 1–29, 39, 40, 50,
// 53, 54, and the §15 attacks this implementation closes (each with a test that the
// attack now fails). Gossip (§18.30–36) is in gossip_test.cc.
#include "net/beacon/beacon.h"

#include <gtest/gtest.h>

#include <atomic>

#include "core/ed25519.h"
#include "test/beacon/engine_fixture.h"

namespace pilot::beacon {
namespace {

using testing::bytes;
using testing::EngineTest;
using testing::Sent;

const Endpoint A = Endpoint::v4(198, 51, 100, 1, 40001);
const Endpoint B = Endpoint::v4(198, 51, 100, 2, 40002);
const Endpoint C = Endpoint::v4(198, 51, 100, 3, 40003);
const Endpoint Evil = Endpoint::v4(203, 0, 113, 66, 6666);

Endpoint v6(uint8_t last, uint16_t port) {
  IpBytes ip{};
  ip[0] = 0x20;
  ip[1] = 0x01;
  ip[2] = 0x0d;
  ip[3] = 0xb8;
  ip[15] = last;
  return Endpoint::v6(ip, port);
}

// ---- Discover (§5.2, §18.1–12) -------------------------------------------------------

TEST_F(EngineTest, DiscoverRepliesWithTheObservedAddress) {
  auto out = discover(42, A, 3);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, A);
  EXPECT_EQ(out[0].via, 3);  // leaves from the address it arrived on
  EXPECT_EQ(out[0].kind, OutKind::kDiscoverReply);
  EXPECT_EQ(out[0].bytes, bytes({0x02, 4, 198, 51, 100, 1, 0x9c, 0x41}));
  EXPECT_EQ(engine().nodes().size(), 1u);
  EXPECT_EQ(counters().discover_replies, 1u);
}

TEST_F(EngineTest, DiscoverWithThreeIdBytesIsIgnored) {
  EXPECT_TRUE(feed(bytes({0x01, 0, 0, 0}), A).empty());
  EXPECT_EQ(engine().nodes().size(), 0u);
  EXPECT_EQ(counters().drop(Drop::kShort), 1u);
}

TEST_F(EngineTest, DiscoverIgnoresTrailingBytesAndNeverTakesAnAddressFromThem) {
  // §18.3 + §18.4: 15 junk bytes, then a "third party" address appended.
  auto out = feed(encode(Discover{42, false, {}}) + std::string(15, 'x'), A);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes, encode_discover_reply(A));
  std::string fake = encode(Discover{43, false, {}}) + encode_discover_reply(C).substr(1);
  out = feed(fake, B);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, B);
  EXPECT_EQ(engine().nodes().get(43)->endpoint, B);  // §15.6: no reflector
}

TEST_F(EngineTest, DiscoverFromIpv6GetsSixteenByteReply) {
  Endpoint six = v6(7, 9001);
  auto out = discover(1, six);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes[1], 16);
  EXPECT_EQ(decode_discover_reply(out[0].bytes), six);
  // IPv4 seen through a dual-stack socket (mapped): 4-byte form.
  out = discover(2, *Endpoint::parse("[::ffff:192.0.2.9]:77"));
  EXPECT_EQ(out[0].bytes, bytes({0x02, 4, 192, 0, 2, 9, 0, 77}));
}

TEST_F(EngineTest, LiveMappingCannotBeMovedWithin30Seconds) {
  discover(5, A);
  advance(10 * S);
  auto out = discover(5, B);  // §18.6: replied with B's address, mapping stays A
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, B);
  EXPECT_EQ(decode_discover_reply(out[0].bytes), B);
  EXPECT_EQ(engine().nodes().get(5)->endpoint, A);
  advance(20 * S);  // §18.7
  discover(5, B);
  EXPECT_EQ(engine().nodes().get(5)->endpoint, B);
}

TEST_F(EngineTest, UnregisteredIdsCanBeClaimedByAnyone) {
  // §15.3: Discover is unauthenticated by design; only live mappings are protected.
  discover(77, Evil);
  EXPECT_EQ(engine().nodes().get(77)->endpoint, Evil);
}

TEST_F(EngineTest, NodeIdZeroIsAcceptedForStun) {
  auto out = discover(0, A);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(decode_discover_reply(out[0].bytes), A);
}

TEST_F(EngineTest, SingleByteEmptyAndUnknownMessagesAreIgnored) {
  for (int t : {0x01, 0x03, 0x05, 0x07, 0x08, 0x00, 0xFF}) EXPECT_TRUE(feed(bytes({t}), A).empty()) << t;
  EXPECT_TRUE(feed("", A).empty());
  for (int t : {0x02, 0x04, 0x06, 0x09, 0x0A, 0x10, 0x50, 0xFF})
    EXPECT_TRUE(feed(bytes({t, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0}), A).empty()) << t;
  Counters c = counters();
  EXPECT_EQ(c.drop(Drop::kEmpty), 1u);
  EXPECT_EQ(c.drop(Drop::kShort), 5u);
  EXPECT_EQ(c.drop(Drop::kUnknownType), 2u + 8u);
  EXPECT_EQ(engine().nodes().size(), 0u);
}

TEST_F(EngineTest, OversizedDatagramIsDropped) {
  discover(2, B);
  EXPECT_TRUE(feed(encode(Relay{1, 2, std::string(kMaxRelayPayload + 1, 'x')}), A).empty());
  EXPECT_EQ(counters().drop(Drop::kOversized), 1u);
  EXPECT_EQ(counters().relay_forwarded, 0u);
}

TEST_F(EngineTest, ShardCapacityRefusesDiscoverWithoutReply) {
  Config cfg;
  cfg.shard_capacity = 1;  // §18.40
  make(cfg);
  EXPECT_EQ(discover(0, A).size(), 1u);
  EXPECT_TRUE(discover(64, B).empty());
  EXPECT_EQ(discover(1, B).size(), 1u);
  EXPECT_TRUE(discover(64, B).empty());  // still refused: no limiter state for unstored ids
  EXPECT_EQ(counters().drop(Drop::kTableFull), 2u);
}

// ---- PunchRequest (§5.4, §18.13–21) -------------------------------------------------

TEST_F(EngineTest, PunchSendsEachSideTheOthersEndpoint) {
  discover(1, A, 1);
  discover(2, B, 2);
  auto out = punch(1, 2, A);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].to, A);
  EXPECT_EQ(out[0].via, 1);
  EXPECT_EQ(out[0].bytes, encode_punch_command(B));
  EXPECT_EQ(out[1].to, B);
  EXPECT_EQ(out[1].via, 2);
  EXPECT_EQ(out[1].bytes, encode_punch_command(A));
  EXPECT_EQ(counters().punch_commands, 2u);
}

TEST_F(EngineTest, PunchWithFourIdBytesIsIgnored) {
  discover(1, A);
  EXPECT_TRUE(feed(bytes({0x03, 0, 0, 0, 1}), A).empty());
}

TEST_F(EngineTest, PunchForUnknownTargetRegistersTheRequesterOnly) {
  EXPECT_TRUE(punch(1, 99, A).empty());  // §18.15
  EXPECT_EQ(engine().nodes().get(1)->endpoint, A);
  EXPECT_EQ(counters().drop(Drop::kPunchTargetUnknown), 1u);
}

TEST_F(EngineTest, PunchPerSourceAndGlobalLimits) {
  discover(1, A);
  discover(2, B);
  discover(3, C);
  EXPECT_EQ(punch(1, 2, A).size(), 2u);
  advance(200 * kSecond / 1000);
  EXPECT_TRUE(punch(1, 2, A).empty());   // §18.16: same IP within 1 s
  EXPECT_EQ(punch(3, 2, C).size(), 2u);  // another IP, 200 ms after the last accepted
  advance(50 * kSecond / 1000);
  EXPECT_TRUE(punch(2, 1, B).empty());  // §18.17: < 100 ms after the last accepted
  advance(60 * kSecond / 1000);
  EXPECT_EQ(punch(2, 1, B).size(), 2u);
  EXPECT_EQ(counters().drop(Drop::kPunchRateLimited), 2u);
  // The port does not make a new source.
  advance(500 * kSecond / 1000);
  Endpoint a2 = A;
  a2.port = 1;
  EXPECT_TRUE(punch(1, 2, a2).empty());
}

TEST_F(EngineTest, PunchWhitelistBypassesBothLimits) {
  for (const char* w : {"198.51.100.1", "*", "all"}) {
    Config cfg;
    cfg.punch_whitelist = {w};
    make(cfg);
    discover(1, A);
    discover(2, B);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(punch(1, 2, A).size(), 2u) << w;
  }
  EXPECT_NE(Engine::check(Config{.punch_whitelist = {"not-an-ip"}}), "");
  EXPECT_EQ(Engine::check(Config{.punch_whitelist = {"::1", "*"}}), "");
}

class GrantTest : public EngineTest {
 protected:
  void SetUp() override {
    crypto_init();
    Config cfg;
    cfg.require_punch_grant = true;
    cfg.punch_whitelist = {"*"};  // these tests are about grants, not rate limits
    make(cfg);
    target_key = KeyPair::from_seed(std::array<uint8_t, 32>{7});
    discover(1, A);
    feed(encode(Discover{2, false, target_key.public_key}), B);
  }
  std::string request(uint32_t requester, uint32_t target, int64_t expiry, const KeyPair& signer) {
    Grant g{expiry, signer.sign(punch_grant_message(requester, target, expiry))};
    return encode(PunchRequest{requester, target, g});
  }
  KeyPair target_key;
};

TEST_F(GrantTest, NoTrailerSendsNothingAndDoesNotRegister) {
  EXPECT_TRUE(punch(5, 2, C).empty());  // §18.18
  EXPECT_FALSE(engine().nodes().contains(5));
  EXPECT_EQ(counters().drop(Drop::kPunchUnauthorized), 1u);
}

TEST_F(GrantTest, ValidGrantFromTheTargetsKeyIsServed) {
  auto out = feed(request(1, 2, now_.unix_s + 60, target_key), A);  // §18.19
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].bytes, encode_punch_command(B));
}

TEST_F(GrantTest, ExpiredForeignOrWronglySignedGrantsAreRefused) {
  EXPECT_TRUE(feed(request(1, 2, now_.unix_s - 1, target_key), A).empty());  // expired
  std::string other = request(3, 2, now_.unix_s + 60, target_key);           // minted for requester 3…
  other[4] = 1;                                                              // …presented by requester 1
  EXPECT_TRUE(feed(other, A).empty());
  KeyPair stranger = KeyPair::from_seed(std::array<uint8_t, 32>{9});
  EXPECT_TRUE(feed(request(1, 2, now_.unix_s + 60, stranger), A).empty());
  EXPECT_EQ(counters().punch_commands, 0u);
}

TEST_F(GrantTest, TargetWithoutKeyIsRefusedWithoutCrash) {
  discover(4, C);  // §18.21: no key stored (ours cannot hold a key of another length)
  EXPECT_TRUE(feed(request(1, 4, now_.unix_s + 60, target_key), A).empty());
}

TEST_F(GrantTest, MaxLifetimeCapsHowFarAheadAGrantMayExpire) {
  Config cfg;
  cfg.require_punch_grant = true;
  cfg.punch_whitelist = {"*"};
  cfg.max_grant_lifetime_s = 300;
  make(cfg);
  discover(1, A);
  feed(encode(Discover{2, false, target_key.public_key}), B);
  EXPECT_TRUE(feed(request(1, 2, now_.unix_s + 301, target_key), A).empty());
  EXPECT_EQ(feed(request(1, 2, now_.unix_s + 300, target_key), A).size(), 2u);
}

// ---- Relay (§5.6, §18.22–29) ----------------------------------------------------------

TEST_F(EngineTest, RelayDeliversByteExactToTheRegisteredDestination) {
  discover(10, A, 1);
  discover(20, B, 2);
  auto out = relay(10, 20, "PILS\x01\x02payload", A);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, B);
  EXPECT_EQ(out[0].via, 2);
  EXPECT_EQ(out[0].kind, OutKind::kRelayDeliver);
  EXPECT_EQ(out[0].bytes, bytes({0x06, 0, 0, 0, 10}) + "PILS\x01\x02payload");
  EXPECT_EQ(counters().relay_forwarded, 1u);
  out = relay(10, 20, "", A);  // §18.23
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes, bytes({0x06, 0, 0, 0, 10}));
}

TEST_F(EngineTest, RelayShorterThanEightBodyBytesIsIgnored) {
  discover(20, B);
  EXPECT_TRUE(feed(bytes({0x05, 0, 0, 0, 10, 0, 0, 20}), A).empty());
}

TEST_F(EngineTest, RelayToUnknownDestinationCostsNoBudget) {
  Config cfg;
  cfg.relays_per_source = 1;
  make(cfg);
  discover(10, A);
  discover(20, B);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(relay(10, 99, "x", A).empty());  // §18.25
  EXPECT_EQ(counters().relay_not_found, 5u);
  EXPECT_EQ(relay(10, 20, "x", A).size(), 1u);  // the one allowed packet is still there
  EXPECT_TRUE(relay(10, 20, "x", A).empty());
}

TEST_F(EngineTest, DiscoverExDestinationGetsRelayDeliverDest) {
  discover(10, A);
  feed(encode(Discover{20, true, {}}), B);  // §18.9
  auto out = relay(10, 20, "hi", A);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes, bytes({0x09, 0, 0, 0, 10, 0, 0, 0, 20, 'h', 'i'}));
}

TEST_F(EngineTest, RelayBudgetIsPerTransportSource) {
  // §18.26 with the reference's unchecked sender ids: rotating them buys nothing.
  Config cfg;
  cfg.verify_relay_sender = false;
  make(cfg);
  discover(20, C);
  size_t delivered = 0;
  for (uint32_t i = 0; i < 3 * 4000; ++i) delivered += relay(1000 + i, 20, "x", A).size();
  EXPECT_EQ(delivered, 4000u);
  EXPECT_EQ(counters().drop(Drop::kRelayRateLimited), 8000u);
  EXPECT_EQ(relay(5, 20, "x", B).size(), 1u);  // another source has its own budget
  Endpoint a_other_port = A;
  a_other_port.port++;
  EXPECT_EQ(relay(5, 20, "x", a_other_port).size(), 1u);                                    // the port matters
  EXPECT_TRUE(relay(5, 20, "x", *Endpoint::parse("[::ffff:198.51.100.1]:40001")).empty());  // mapped = same
  advance(S);                                                                               // a new window
  EXPECT_EQ(relay(5, 20, "x", A).size(), 1u);
}

TEST_F(EngineTest, RelayKeepsPerDestinationOrder) {
  discover(10, A);
  discover(20, B);
  for (uint32_t seq = 0; seq < 600; ++seq) {
    std::string p(4, 0);
    p[0] = static_cast<char>(seq >> 8);
    p[1] = static_cast<char>(seq);
    engine().handle(encode(Relay{10, 20, p}), Source{A}, now_, sink_);
  }
  auto out = sink_.take();
  ASSERT_EQ(out.size(), 600u);  // §18.27: handed to the sink in arrival order
  for (uint32_t seq = 0; seq < 600; ++seq) {
    auto d = decode_relay_deliver(out[seq].bytes);
    ASSERT_TRUE(d);
    EXPECT_EQ((static_cast<uint8_t>(d->payload[0]) << 8) | static_cast<uint8_t>(d->payload[1]), seq);
  }
}

TEST_F(EngineTest, SenderIdZeroIsDeliveredWhenRegisteredAtTheSource) {
  discover(0, A);  // §18.28
  discover(20, B);
  auto out = relay(0, 20, "z", A);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes, bytes({0x06, 0, 0, 0, 0, 'z'}));
}

TEST_F(EngineTest, DeliveryTooBigForTheDestinationFamilyIsDropped) {
  // A relay from an IPv6 node carries up to 65,527 bytes; as 0x06 to an IPv4 node it
  // would be 65,523 > 65,507: it cannot be sent, so it is counted, not attempted.
  Endpoint six = v6(1, 5000);
  discover(10, six);
  discover(20, B);
  std::string big(kMaxUdpPayloadV6 - kRelayMin, 'x');
  EXPECT_TRUE(relay(10, 20, big, six).empty());
  EXPECT_EQ(counters().drop(Drop::kOversized), 1u);
  EXPECT_EQ(relay(10, 20, std::string(kMaxUdpPayloadV4 - kRelayDeliverMin, 'x'), six).size(), 1u);
}

// ---- Reaping, notify, breakers, transport failures ------------------------------------

TEST_F(EngineTest, ReaperRemovesNodesSilentForTenMinutes) {
  Config cfg;
  cfg.punch_whitelist = {};
  make(cfg);
  feed(encode(Discover{1, true, PublicKey{1}}), A);
  advance(300 * S);
  discover(2, B);
  punch(2, 1, B);
  relay(2, 1, "x", B);
  advance(301 * S);  // node 1: 601 s silent; node 2: 301 s
  Engine::ReapStats st = engine().reap(now_);
  EXPECT_EQ(st.nodes, 1u);
  EXPECT_FALSE(engine().nodes().contains(1));
  EXPECT_FALSE(engine().nodes().key(1));  // §18.39: key and dest flag go with it
  EXPECT_TRUE(engine().nodes().contains(2));
  EXPECT_EQ(st.punch_entries, 1u);  // 301 s > 5 min idle
  EXPECT_EQ(st.relay_windows, 1u);
  discover(1, A);  // back as a plain node: the old 0x08 flag is gone
  discover(3, C);
  auto out = relay(3, 1, "x", C);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes, bytes({0x06, 0, 0, 0, 3, 'x'}));
}

TEST_F(EngineTest, NotifySendsTwoBytesAtMostOncePerSecond) {
  EXPECT_EQ(engine().notify(9, now_, sink_), Engine::NotifyResult::kNotFound);  // §18.50
  discover(9, A, 4);
  int sent = 0;
  for (int i = 0; i < 20; ++i) sent += engine().notify(9, now_, sink_) == Engine::NotifyResult::kSent;
  EXPECT_EQ(sent, 1);
  auto out = sink_.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes, bytes({0x0A, 0x01}));
  EXPECT_EQ(out[0].via, 4);
  advance(S);
  EXPECT_EQ(engine().notify(9, now_, sink_), Engine::NotifyResult::kSent);
  EXPECT_EQ(counters().notifies_sent, 2u);
}

class BreakerPolicy : public Policy {
 public:
  bool breaker_open(Breaker b) override { return open[static_cast<int>(b)]; }
  std::atomic<bool> open[3] = {false, false, false};
};

TEST_F(EngineTest, OpenBreakersDrop) {
  BreakerPolicy p;
  make({}, &p);
  discover(10, A);
  discover(20, B);
  p.open[static_cast<int>(Breaker::kRelay)] = true;
  EXPECT_TRUE(relay(10, 20, "x", A).empty());  // §18.54
  EXPECT_EQ(counters().relay_dropped, 1u);
  p.open[static_cast<int>(Breaker::kDiscover)] = true;
  p.open[static_cast<int>(Breaker::kPunch)] = true;
  EXPECT_TRUE(discover(30, C).empty());
  EXPECT_TRUE(punch(10, 20, A).empty());
  EXPECT_EQ(counters().drop(Drop::kBreaker), 3u);
  EXPECT_EQ(counters().relay_dropped, 1u);
}

TEST_F(EngineTest, TransportSendFailuresCountAsRelayDropped) {
  engine().count_send_failure(OutKind::kRelayDeliver);  // §18.53: the socket buffer was full
  engine().count_send_failure(OutKind::kDiscoverReply);
  EXPECT_EQ(counters().relay_dropped, 1u);
  EXPECT_EQ(counters().drop(Drop::kSendFailed), 2u);
}

// ---- §15: attacks that now fail -------------------------------------------------------

TEST_F(EngineTest, AttackEndpointRedirectViaPunchRequestFails) {
  // The reference moves the requester's mapping to the request's source at once: a
  // PunchRequest with requester = victim hijacks the victim's relays. Here a known
  // requester keeps its endpoint, and the commands go to the real endpoints.
  discover(1, A);  // victim
  discover(2, B);
  auto out = punch(1, 2, Evil);
  EXPECT_EQ(engine().nodes().get(1)->endpoint, A);
  ASSERT_EQ(out.size(), 2u);
  for (const Sent& s : out) EXPECT_NE(s.to, Evil);
  EXPECT_EQ(out[1].bytes, encode_punch_command(A));  // B is told the victim's real address
  discover(3, C);
  auto r = relay(3, 1, "for the victim", C);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].to, A);
}

TEST_F(EngineTest, AttackDiscoverExHijackFails) {
  // The reference sets the 0x09 flag for any DiscoverEx, so a stranger can make every
  // relay to the victim arrive as 0x09, which daemons ignore (blackhole).
  discover(1, A);
  feed(encode(Discover{1, true, {}}), Evil);
  advance(5 * S);
  feed(encode(Discover{1, true, {}}), Evil);
  discover(3, C);
  auto r = relay(3, 1, "hello", C);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].to, A);
  EXPECT_EQ(r[0].bytes[0], 0x06);
}

TEST_F(EngineTest, AttackSpoofedSenderIdIsDropped) {
  discover(1, A);  // the id the attacker impersonates
  discover(2, B);
  EXPECT_TRUE(relay(1, 2, "PILK forged key exchange", Evil).empty());
  discover(66, Evil);  // registering its own id does not help with someone else's
  EXPECT_TRUE(relay(1, 2, "PILK forged key exchange", Evil).empty());
  EXPECT_EQ(relay(66, 2, "honest", Evil).size(), 1u);
  EXPECT_EQ(counters().drop(Drop::kRelaySpoofedSender), 2u);
  // The reference behaviour is one switch away (and then the forgery passes).
  Config cfg;
  cfg.verify_relay_sender = false;
  make(cfg);
  discover(2, B);
  EXPECT_EQ(relay(1, 2, "x", Evil).size(), 1u);
}

class StrictPunch : public Policy {
 public:
  bool may_punch(uint32_t requester, uint32_t target) override { return requester == 1 && target == 2; }
};

TEST_F(EngineTest, StrictPunchAuthAsksThePolicy) {
  StrictPunch p;
  Config cfg;
  cfg.punch_auth = PunchAuth::kStrict;
  cfg.punch_whitelist = {"*"};
  make(cfg, &p);
  discover(1, A);
  discover(2, B);
  discover(3, C);
  EXPECT_EQ(punch(1, 2, A).size(), 2u);
  EXPECT_TRUE(punch(3, 2, C).empty());
  EXPECT_TRUE(punch(2, 1, B).empty());
  EXPECT_EQ(counters().drop(Drop::kPunchUnauthorized), 2u);
  // Strict without a policy refuses everything (fail closed).
  make(cfg);
  discover(1, A);
  discover(2, B);
  EXPECT_TRUE(punch(1, 2, A).empty());
}

}  // namespace
}  // namespace pilot::beacon
