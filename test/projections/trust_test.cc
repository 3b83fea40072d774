#include "projections/trust.h"

#include <gtest/gtest.h>

#include "test/projections/helpers.h"

namespace pilot {
namespace {

using projtest::Clock;

class TrustTest : public ::testing::Test {
 protected:
  template <class E>
  void apply(const E& e) {
    t.apply(clock.next(), e);
  }
  Trust t;
  Clock clock;
};

TEST_F(TrustTest, PairsAreSymmetricAndIdempotent) {
  apply(TrustAdded{9, 3});
  apply(TrustAdded{3, 9});
  EXPECT_TRUE(t.trusted(3, 9));
  EXPECT_TRUE(t.trusted(9, 3));
  EXPECT_FALSE(t.trusted(3, 4));
  EXPECT_EQ(t.pair_count(), 1u);
  EXPECT_EQ(t.sorted_pairs(), (std::vector<std::pair<uint32_t, uint32_t>>{{3, 9}}));
  apply(TrustRevoked{9, 3});
  EXPECT_FALSE(t.trusted(3, 9));
  apply(TrustRevoked{9, 3});  // missing pair: no-op
  EXPECT_EQ(t.pair_count(), 0u);
}

TEST_F(TrustTest, RequestQueuesInTargetInboxWithMarker) {
  int64_t t1 = clock.peek();
  apply(HandshakeRequested{1, 2, "hello"});
  ASSERT_EQ(t.requests_for(2).size(), 1u);
  EXPECT_EQ(t.requests_for(2)[0], (HandshakeRequest{1, "hello", t1}));
  EXPECT_TRUE(t.requests_for(1).empty());
  EXPECT_TRUE(t.pending(1, 2));
  EXPECT_FALSE(t.pending(2, 1));
  EXPECT_FALSE(t.trusted(1, 2));
}

TEST_F(TrustTest, AcceptClearsMarkerQueuesResponseAndAddsPair) {
  apply(HandshakeRequested{1, 2, "hi"});
  int64_t t2 = clock.peek();
  apply(HandshakeResponded{2, 1, true});
  EXPECT_FALSE(t.pending(1, 2));
  ASSERT_EQ(t.responses_for(1).size(), 1u);
  EXPECT_EQ(t.responses_for(1)[0], (HandshakeResponse{2, true, t2}));
  EXPECT_TRUE(t.responses_for(2).empty());
  EXPECT_TRUE(t.trusted(1, 2));
}

TEST_F(TrustTest, RejectQueuesResponseWithoutPair) {
  apply(HandshakeRequested{1, 2, "hi"});
  apply(HandshakeResponded{2, 1, false});
  EXPECT_FALSE(t.pending(1, 2));
  ASSERT_EQ(t.responses_for(1).size(), 1u);
  EXPECT_FALSE(t.responses_for(1)[0].accept);
  EXPECT_FALSE(t.trusted(1, 2));
}

TEST_F(TrustTest, DrainEmptiesBothQueuesButKeepsMarkers) {
  apply(HandshakeRequested{1, 2, "a"});
  apply(HandshakeRequested{3, 2, "b"});
  apply(HandshakeRequested{2, 4, "c"});
  apply(HandshakeResponded{4, 2, false});
  ASSERT_EQ(t.requests_for(2).size(), 2u);
  EXPECT_EQ(t.requests_for(2)[1].from_node_id, 3u);
  ASSERT_EQ(t.responses_for(2).size(), 1u);
  apply(HandshakeInboxDrained{2});
  EXPECT_TRUE(t.requests_for(2).empty());
  EXPECT_TRUE(t.responses_for(2).empty());
  EXPECT_FALSE(t.request_inbox().count(2));  // no empty lists are kept
  EXPECT_FALSE(t.response_inbox().count(2));
  EXPECT_TRUE(t.pending(1, 2));  // markers survive polls until answered
  EXPECT_TRUE(t.pending(3, 2));
  // The other node's inbox is untouched.
  EXPECT_EQ(t.requests_for(4).size(), 1u);  // answering does not drain the responder's inbox
  apply(HandshakeInboxDrained{2});          // draining twice is harmless
  EXPECT_TRUE(t.requests_for(2).empty());
}

TEST_F(TrustTest, DrainLeavesOtherNodesQueued) {
  apply(HandshakeRequested{1, 2, "a"});
  apply(HandshakeRequested{1, 3, "b"});
  apply(HandshakeInboxDrained{2});
  EXPECT_EQ(t.requests_for(3).size(), 1u);
}

TEST_F(TrustTest, EqualityCoversInboxesAndMarkers) {
  Trust a = t;
  apply(HandshakeRequested{1, 2, "a"});
  EXPECT_FALSE(a == t);
  apply(HandshakeInboxDrained{2});
  EXPECT_FALSE(a == t);  // the marker is still there
}

}  // namespace
}  // namespace pilot
