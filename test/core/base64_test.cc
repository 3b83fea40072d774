#include "core/base64.h"

#include <gtest/gtest.h>

namespace pilot {

std::string str(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {{"", ""},
                                                   {"f", "Zg=="},
                                                   {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},
                                                   {"foob", "Zm9vYg=="},
                                                   {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : v) {
    EXPECT_EQ(base64_encode(plain), enc);
    auto d = base64_decode_std(enc);
    ASSERT_TRUE(d) << enc;
    EXPECT_EQ(str(*d), plain);
  }
}

TEST(Base64, StdIsStrict) {
  for (const char* bad : {"Zg", "Zg=", "Zm9", "Zh==",  // non-zero trailing bits
                          "Zm9v\n", " Zm9v", "Zm 9v", "Zm9v====", "Z===", "-_8=", "Zm9v!", "=Zm9"}) {
    EXPECT_FALSE(base64_decode_std(bad).has_value()) << bad;
  }
}

TEST(Base64, UrlSafeAcceptsPaddedAndRaw) {
  // 0xfb 0xff -> std "+/8=", url "-_8=".
  EXPECT_EQ(str(*base64_decode_url("-_8=")), "\xfb\xff");
  EXPECT_EQ(str(*base64_decode_url("-_8")), "\xfb\xff");
  EXPECT_FALSE(base64_decode_url("+/8=").has_value());
  EXPECT_FALSE(base64_decode_std("-_8=").has_value());
  EXPECT_EQ(str(*base64_decode_std_or_url("+/8=")), "\xfb\xff");
  EXPECT_EQ(str(*base64_decode_std_or_url("-_8=")), "\xfb\xff");
  EXPECT_FALSE(base64_decode_std_or_url("-_8=x").has_value());
}

}  // namespace pilot
