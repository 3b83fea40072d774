#include "core/address.h"

#include <gtest/gtest.h>

namespace pilot {

TEST(Address, FormatsSpecExamples) {
  EXPECT_EQ((Address{0, 1}).to_string(), "0:0000.0000.0001");
  EXPECT_EQ((Address{5, 70000}).to_string(), "5:0005.0001.1170");
  EXPECT_EQ((Address{65535, 0xFFFFFFFF}).to_string(), "65535:FFFF.FFFF.FFFF");
}

TEST(Address, RoundTrips) {
  for (uint16_t net : {0, 1, 255, 4096, 65535})
    for (uint32_t node : {0u, 1u, 0xABCDu, 0x10000u, 0xDEADBEEFu, 0xFFFFFFFFu}) {
      Address a{net, node};
      auto p = Address::parse(a.to_string());
      ASSERT_TRUE(p.has_value()) << a.to_string();
      EXPECT_EQ(*p, a);
      EXPECT_EQ(Address::from_u48(a.to_u48()), a);
    }
}

TEST(Address, AcceptsLowercaseHex) {
  auto p = Address::parse("10:000a.dead.beef");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->network, 10);
  EXPECT_EQ(p->node, 0xDEADBEEFu);
}

TEST(Address, RejectsMalformed) {
  for (const char* bad : {"", ":", "0", "0:", "0:0000.0000", "0:0000.0000.00001", "0:0000.0000.000",
                          "1:0000.0000.0001",   // decimal prefix differs from hex network
                          "00:0000.0000.0001",  // leading zero
                          "-0:0000.0000.0001", "65536:0000.0000.0001", "0:0000-0000.0001", "0:0000.0000.000G",
                          "0:0000.0000.0001 ", " 0:0000.0000.0001", "0:+000.0000.0001", "x:0000.0000.0001"}) {
    EXPECT_FALSE(Address::parse(bad).has_value()) << bad;
  }
}

}  // namespace pilot
