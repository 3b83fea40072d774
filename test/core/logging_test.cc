// The log line formats (core/log_format.h): the text form and one JSON object per
// line, checked by parsing the JSON back; and log_line itself, its stderr captured
// in a real file.
#include "core/logging.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/log_format.h"

namespace pilot {
namespace {

constexpr long long kT = 1795082400123456789LL;  // 2026-11-19T10:00:00.123456789Z

TEST(LoggingFormat, TextLineIsTimeLevelMessage) {
  EXPECT_EQ(format_log_line(LogFormat::kText, LogLevel::kWarn, kT, "disk 90% full"),
            "2026-11-19T10:00:00.123Z WARN  disk 90% full\n");
}

TEST(LoggingFormat, JsonLineParsesBackWithTimeLevelAndMessage) {
  const std::string msg = "quote \" backslash \\ newline \n tab \t bell \x07 utf8 \xc3\xa9";
  const std::string line = format_log_line(LogFormat::kJson, LogLevel::kError, kT, msg);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, whatever the message holds
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j.size(), 3u);
  EXPECT_EQ(j["time"], "2026-11-19T10:00:00.123Z");
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], msg);
}

TEST(LoggingFormat, JsonLineReplacesBytesThatAreNotUtf8) {
  // A peer's hostname with a stray byte, a character cut in half at the end (as the
  // 2 KiB line limit can), an overlong '/', a surrogate; and well-formed 2-4 byte ones.
  const std::string msg =
      std::string("host a\xff b ") + "\xc0\xaf \xed\xa0\x80 ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 cut \xe2\x82";
  const std::string line = format_log_line(LogFormat::kJson, LogLevel::kInfo, kT, msg);
  auto j = nlohmann::json::parse(line);  // throws on invalid UTF-8
  EXPECT_EQ(j["msg"], "host a\ufffd b \ufffd\ufffd \ufffd\ufffd\ufffd ok \u00e9\u20ac\U0001F600 cut \ufffd\ufffd");
  // The text form is left as it is.
  EXPECT_NE(format_log_line(LogFormat::kText, LogLevel::kInfo, kT, msg).find(msg), std::string::npos);
}

TEST(LoggingFormat, NamesAreTextAndJsonOnly) {
  EXPECT_TRUE(set_log_format("json"));
  EXPECT_EQ(log_format(), LogFormat::kJson);
  EXPECT_TRUE(set_log_format("text"));
  EXPECT_EQ(log_format(), LogFormat::kText);
  EXPECT_FALSE(set_log_format("JSON"));
  EXPECT_FALSE(set_log_format("logfmt"));
  EXPECT_EQ(log_format(), LogFormat::kText);
}

// log_line writes what format_log_line builds, in the chosen format, to fd 2.
TEST(LoggingFormat, LogLineWritesJsonToStderr) {
  char path[] = "/tmp/pilot-logging-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  set_log_format(LogFormat::kJson);
  LOG_INFO("hello %s %d", "world", 42);
  LOG_DEBUG("not shown at info");
  set_log_format(LogFormat::kText);
  LOG_INFO("plain again");
  dup2(saved, 2);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::string first, second, extra;
  ASSERT_TRUE(std::getline(in, first));
  ASSERT_TRUE(std::getline(in, second));
  EXPECT_FALSE(std::getline(in, extra));
  unlink(path);
  auto j = nlohmann::json::parse(first);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "hello world 42");
  EXPECT_EQ(j["time"].get<std::string>().size(), 24u);
  EXPECT_NE(second.find(" INFO  plain again"), std::string::npos) << second;
}

}  // namespace
}  // namespace pilot
