// Gossip authentication (-gossip-secret, messages.h "Gossip authentication"): the
// trailer's bytes against an HMAC computed independently (Python's hmac module), and
// the engine's rules — untagged, forged, stale, replayed and reordered Syncs are
// dropped as gossip_auth; tagged ones install routes; relays then flow.
#include <gtest/gtest.h>

#include "test/beacon/engine_fixture.h"

namespace pilot::beacon {
namespace {

using testing::bytes;
using testing::EngineTest;

const std::string kSecret = "0123456789abcdef-test";
const Endpoint Peer = Endpoint::v4(192, 0, 2, 1, 9001);
const Endpoint Node = Endpoint::v4(198, 51, 100, 7, 4000);

std::string from_hex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

TEST(GossipAuthBytes, TrailerIsMagicStampAndHmacOfEverythingBefore) {
  const std::string sync = encode_sync(7, std::vector<uint32_t>{100, 200});
  const uint64_t stamp = 1700000000123456789ULL;
  const std::string trailer = sync_auth_trailer(kSecret, sync, stamp);
  // python3: hmac.new(secret, sync + b"PGA1" + stamp.to_bytes(8, "big"), sha256)
  const std::string want = std::string("PGA1") + from_hex("17979cfe3d85cd15") +
                           from_hex("fed2efe692188c60b14ad64490d5f13c7ee42ecd86aea4859610d511a45c5139");
  EXPECT_EQ(trailer, want);
  ASSERT_EQ(trailer.size(), kSyncAuthTrailer);

  const std::string tagged = sync + trailer;  // the result views into it
  auto ok = verify_sync_auth(kSecret, tagged);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->sync, sync);
  EXPECT_EQ(ok->stamp_ns, stamp);
  EXPECT_FALSE(verify_sync_auth("another secret, 16+ bytes", sync + trailer));
  EXPECT_FALSE(verify_sync_auth(kSecret, sync));                          // no trailer
  EXPECT_FALSE(verify_sync_auth(kSecret, sync + trailer + "x"));          // bytes after it
  EXPECT_FALSE(verify_sync_auth(kSecret, sync + trailer.substr(0, 43)));  // cut short
  std::string flipped = sync + trailer;
  flipped[8] ^= 1;  // an id changed: the mac covers the Sync
  EXPECT_FALSE(verify_sync_auth(kSecret, flipped));
  std::string restamped = sync + trailer;
  restamped[sync.size() + 11] ^= 1;  // the stamp changed
  EXPECT_FALSE(verify_sync_auth(kSecret, restamped));
  EXPECT_FALSE(verify_sync_auth(kSecret, bytes({0x05, 0, 0, 0, 1, 0, 0, 0, 2})));
  // The largest authenticated Sync still fits one IPv4 datagram.
  EXPECT_LE(kSyncMin + 4 * kSyncAuthIdsPerDatagram + kSyncAuthTrailer, kMaxUdpPayloadV4);
  EXPECT_GT(kSyncMin + 4 * (kSyncAuthIdsPerDatagram + 1) + kSyncAuthTrailer, kMaxUdpPayloadV4);
}

class GossipAuthTest : public EngineTest {
 protected:
  void SetUp() override {
    Config cfg;
    cfg.gossip_secret = kSecret;
    make(cfg);
    engine().set_peers({Peer});
  }
  uint64_t unix_ns(int64_t offset_s = 0) const { return static_cast<uint64_t>(now_.unix_s + offset_s) * S; }
  std::string tagged(std::vector<uint32_t> ids, uint64_t stamp, const std::string& secret = kSecret) {
    std::string s = encode_sync(2, ids);
    return s + sync_auth_trailer(secret, s, stamp);
  }
  uint64_t auth_drops() { return counters().drop(Drop::kGossipAuth); }
};

TEST_F(GossipAuthTest, OnlyValidTrailersInstallRoutes) {
  feed(encode_sync(2, std::vector<uint32_t>{100}), Peer);  // a Go beacon's Sync
  feed(tagged({100}, unix_ns(), "a wrong secret of 16+ bytes"), Peer);
  EXPECT_EQ(auth_drops(), 2u);
  EXPECT_FALSE(engine().gossip().route(100));
  feed(tagged({100}, unix_ns()), Peer);
  EXPECT_EQ(engine().gossip().route(100), Peer);
  EXPECT_EQ(counters().syncs_received, 1u);
}

TEST_F(GossipAuthTest, ReplaysAndStampsOutsideTheWindowAreDropped) {
  const uint64_t t0 = unix_ns();
  const std::string first = tagged({100}, t0);
  feed(first, Peer);
  ASSERT_EQ(engine().gossip().route(100), Peer);
  advance(2 * S);     // past the one-Sync-a-second limit: only the auth can refuse now
  feed(first, Peer);  // replayed
  EXPECT_EQ(auth_drops(), 1u);
  feed(tagged({}, t0), Peer);  // a stamp already accepted from this beacon id
  EXPECT_EQ(auth_drops(), 2u);
  feed(tagged({}, unix_ns(-31)), Peer);  // too old
  feed(tagged({}, unix_ns(+32)), Peer);  // too far ahead
  EXPECT_EQ(auth_drops(), 4u);
  EXPECT_EQ(engine().gossip().route(100), Peer);  // nothing above withdrew it
  feed(tagged({}, unix_ns(+1)), Peer);            // a newer one does
  EXPECT_EQ(auth_drops(), 4u);
  EXPECT_FALSE(engine().gossip().route(100));
}

// A sender's chunks leave from several sockets and may arrive out of order: any stamp
// inside the window that was not seen before is fine, whatever the source port.
TEST_F(GossipAuthTest, ChunksFromOtherSocketsMayArriveOutOfOrder) {
  const Endpoint chunk_socket = Endpoint::v4(192, 0, 2, 1, 9002);  // the peer's gossip socket 1
  feed(tagged({100}, unix_ns() + 5), Peer);
  feed(tagged({101}, unix_ns() + 1), chunk_socket);  // lower stamp, later arrival: fine
  EXPECT_EQ(auth_drops(), 0u);
  EXPECT_EQ(engine().gossip().route(101), chunk_socket);
}

// The replay the review found: a captured Sync sent again from another port of the
// peer's IP (which strict gossip lets through) would have installed routes toward a
// port nobody listens on. Stamps are kept per beacon id, so it is a replay.
TEST_F(GossipAuthTest, ACapturedSyncReplayedFromAnotherPortIsDropped) {
  const std::string captured = tagged({100}, unix_ns() + 3);
  feed(captured, Peer);
  ASSERT_EQ(engine().gossip().route(100), Peer);
  feed(captured, Endpoint::v4(192, 0, 2, 1, 40000));
  EXPECT_EQ(auth_drops(), 1u);
  EXPECT_EQ(engine().gossip().route(100), Peer);
}

TEST_F(GossipAuthTest, SentSyncsCarryIncreasingStampsAndVerify) {
  discover(10, Node);
  sink_.take();
  engine().gossip_tick(now_, sink_);
  engine().gossip_tick(now_, sink_);  // same second: the stamp still goes up
  auto sent = sink_.take();
  ASSERT_EQ(sent.size(), 2u);
  auto a = verify_sync_auth(kSecret, sent[0].bytes), b = verify_sync_auth(kSecret, sent[1].bytes);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->stamp_ns, unix_ns());
  EXPECT_EQ(b->stamp_ns, unix_ns() + 1);
  auto m = decode_sync(a->sync);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->count(), 1u);
  EXPECT_EQ(m->id(0), 10u);
}

TEST_F(GossipAuthTest, TwoEnginesWithTheSecretRelayToEachOther) {
  Config cfg;
  cfg.gossip_secret = kSecret;
  Engine other(cfg);
  const Endpoint me = Endpoint::v4(192, 0, 2, 9, 9001);
  other.set_peers({me});
  engine().set_peers({Peer});
  testing::RecordingSink out;
  other.handle(encode(Discover{20, false, {}}), Source{Node, kAnyVia}, now_, out);
  out.take();
  other.gossip_tick(now_, out);
  auto syncs = out.take();
  ASSERT_EQ(syncs.size(), 1u);
  feed(syncs[0].bytes, Peer);  // what `other` sent, arriving from its address
  EXPECT_EQ(engine().gossip().route(20), Peer);
  const Endpoint n10 = Endpoint::v4(198, 51, 100, 8, 4000);
  discover(10, n10);
  auto fwd = relay(10, 20, "hi", n10);
  ASSERT_EQ(fwd.size(), 1u);
  EXPECT_EQ(fwd[0].to, Peer);
  EXPECT_EQ(fwd[0].kind, OutKind::kRelayForward);
}

TEST(GossipAuthConfig, ShortSecretsAreRefused) {
  Config cfg;
  cfg.gossip_secret = "too short";
  EXPECT_NE(Engine::check(cfg).find("at least 16 bytes"), std::string::npos);
  cfg.gossip_secret = std::string(16, 's');
  EXPECT_EQ(Engine::check(cfg), "");
}

}  // namespace
}  // namespace pilot::beacon
