#include "core/time_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>

namespace pilot {
namespace {

// 2026-03-03T00:00:00Z, from `date -u -d 2026-03-03T00:00:00Z +%s`.
constexpr int64_t kMarch3 = 1772496000LL * 1000000000LL;

TEST(TimeFormat, FormatsLikeGoRfc3339Nano) {
  EXPECT_EQ(format_rfc3339_nano(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339_nano(kMarch3), "2026-03-03T00:00:00Z");
  EXPECT_EQ(format_rfc3339_nano(kMarch3 + 1), "2026-03-03T00:00:00.000000001Z");
  EXPECT_EQ(format_rfc3339_nano(kMarch3 + 120000000), "2026-03-03T00:00:00.12Z");
  EXPECT_EQ(format_rfc3339_nano(kMarch3 + 86399LL * 1000000000 + 999999999), "2026-03-03T23:59:59.999999999Z");
  EXPECT_EQ(format_rfc3339_nano(951782400LL * 1000000000), "2000-02-29T00:00:00Z");  // leap day
  EXPECT_EQ(format_rfc3339(kMarch3 + 999999999), "2026-03-03T00:00:00Z");
}

TEST(TimeFormat, NegativeTimesRoundTowardsThePast) {
  EXPECT_EQ(format_rfc3339_nano(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339_nano(-86400LL * 1000000000), "1969-12-31T00:00:00Z");
}

TEST(TimeFormat, Int64Extremes) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(format_rfc3339_nano(kMin), "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(format_rfc3339_nano(kMax), "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(parse_rfc3339("1677-09-21T00:12:43.145224192Z"), kMin);
  EXPECT_EQ(parse_rfc3339("2262-04-11T23:47:16.854775807Z"), kMax);
  EXPECT_EQ(parse_rfc3339("1677-09-21T00:12:43.145224191Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2262-04-11T23:47:16.854775808Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("9999-12-31T23:59:59Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("0000-01-01T00:00:00Z"), std::nullopt);
}

TEST(TimeFormat, ParsesOffsetsAndFractions) {
  EXPECT_EQ(parse_rfc3339("2026-03-03T00:00:00Z"), kMarch3);
  EXPECT_EQ(parse_rfc3339("2026-03-03t00:00:00z"), kMarch3);
  EXPECT_EQ(parse_rfc3339("2026-03-03T01:30:00+01:30"), kMarch3);
  EXPECT_EQ(parse_rfc3339("2026-03-02T19:00:00-05:00"), kMarch3);
  EXPECT_EQ(parse_rfc3339("2026-03-03T00:00:00.5Z"), kMarch3 + 500000000);
  EXPECT_EQ(parse_rfc3339("2026-03-03T00:00:00.000000001Z"), kMarch3 + 1);
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59.999999999Z"), -1);
  EXPECT_EQ(parse_rfc3339("2000-02-29T00:00:00Z"), 951782400LL * 1000000000);
}

TEST(TimeFormat, RejectsMalformedText) {
  for (const char* bad : {"",
                          "2026-03-03",
                          "2026-03-03T00:00:00",
                          "2026-03-03 00:00:00Z",
                          "2026-3-03T00:00:00Z",
                          "2026-03-03T00:00Z",
                          "2026-03-03T00:00:00.Z",
                          "2026-03-03T00:00:00.1234567890Z",
                          "2026-03-03T00:00:00+0100",
                          "2026-03-03T00:00:00+01",
                          "2026-03-03T00:00:00+24:00",
                          "2026-03-03T00:00:00ZZ",
                          "2026-03-03T00:00:00Z ",
                          " 2026-03-03T00:00:00Z",
                          "2026-02-29T00:00:00Z",
                          "2026-02-30T00:00:00Z",
                          "2026-13-01T00:00:00Z",
                          "2026-00-01T00:00:00Z",
                          "2026-01-00T00:00:00Z",
                          "2026-01-01T24:00:00Z",
                          "2026-01-01T23:60:00Z",
                          "2026-01-01T23:59:60Z",
                          "+026-01-01T00:00:00Z",
                          "2026-01-01T00:00:0aZ",
                          "1772496000"})
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << bad;
}

TEST(TimeFormat, RandomValuesRoundTrip) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 100000; ++i) {
    const int64_t ns = static_cast<int64_t>(rng());
    const std::string text = format_rfc3339_nano(ns);
    ASSERT_EQ(parse_rfc3339(text), ns) << text;
    if (ns < std::numeric_limits<int64_t>::min() + 1000000000LL) continue;  // its whole second is out of range
    const auto whole = parse_rfc3339(format_rfc3339(ns));
    ASSERT_TRUE(whole.has_value());
    ASSERT_LE(*whole, ns);
    ASSERT_GT(*whole, ns - 1000000000LL);
  }
}

}  // namespace
}  // namespace pilot
