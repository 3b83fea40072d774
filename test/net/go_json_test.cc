// Go-compatible JSON output and the error sanitiser (spec §3.2, §20.1).
#include "net/rpc/go_json.h"

#include <gtest/gtest.h>

namespace pilot::gojson {
namespace {

TEST(GoJson, SortsKeysAndEscapesLikeGo) {
  nlohmann::json j = {{"type", "lookup_ok"}, {"b", 1}, {"a", {true, nullptr, -3}}, {"hostname", "<a&b>"}};
  EXPECT_EQ(dump(j), R"({"a":[true,null,-3],"b":1,"hostname":"\u003ca\u0026b\u003e","type":"lookup_ok"})");
  EXPECT_EQ(dump(j, /*html_escape=*/false), R"({"a":[true,null,-3],"b":1,"hostname":"<a&b>","type":"lookup_ok"})");
}

TEST(GoJson, ControlCharactersAndSeparators) {
  std::string out;
  append_string(out, std::string("q\"\\\n\r\t\b\f\x01\x1f\x7f", 11));
  EXPECT_EQ(out, "\"q\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"");
  out.clear();
  append_string(out, "a\u2028b\u2029c é 😀");
  EXPECT_EQ(out, "\"a\\u2028b\\u2029c é 😀\"");
}

TEST(GoJson, InvalidUtf8BecomesReplacementEscapes) {
  std::string out;
  append_string(out, std::string("a\xff\xc3(b\xed\xa0\x80", 8));  // bad byte, bad continuation, surrogate
  EXPECT_EQ(out, "\"a\\ufffd\\ufffd(b\\ufffd\\ufffd\\ufffd\"");
  out.clear();
  append_string(out, std::string("\xe0\x80\xaf", 3));  // overlong '/'
  EXPECT_EQ(out, "\"\\ufffd\\ufffd\\ufffd\"");
}

TEST(ErrorSanitiser, PassesOnlyTheListedSubstrings) {
  EXPECT_EQ(sanitize_error("node 7: node not found"), "node 7: node not found");
  EXPECT_EQ(sanitize_error("rate limited"), "rate limited");
  EXPECT_EQ(sanitize_error("invalid public key: bad length"), "invalid public key: bad length");
  EXPECT_EQ(sanitize_error("registration: signature verification failed"),
            "registration: signature verification failed");
  EXPECT_EQ(sanitize_error("hostname \"x\" already in use"), "hostname \"x\" already in use");
  // The spec's own examples of texts the client never sees.
  EXPECT_EQ(sanitize_error("standby mode: write operations not accepted (use primary)"), "request failed");
  EXPECT_EQ(sanitize_error("service unavailable: breaker \"registry.punch\" is open (maint)"), "request failed");
  EXPECT_EQ(sanitize_error("unknown message type: \"set_task_exec\""), "request failed");
  EXPECT_EQ(sanitize_error("resolve denied: requester node 4 is not registered"), "request failed");
  EXPECT_EQ(sanitize_error("resolve denied: node 4 is private (establish mutual trust first)"), "request failed");
  EXPECT_EQ(error_response("network 9: network not found"),
            R"({"error":"network 9: network not found","type":"error"})");
  EXPECT_EQ(error_response("boom"), R"({"error":"request failed","type":"error"})");
}

}  // namespace
}  // namespace pilot::gojson
