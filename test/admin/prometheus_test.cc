// The exposition writer (admin/prometheus.h) and the strict parser the other metrics
// tests judge it with (prometheus_parser.h): the parser must refuse each kind of bad
// input, and everything the writer produces must parse back to what was put in.
#include "admin/prometheus.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "test/admin/prometheus_parser.h"
#include "test/admin/promtool.h"

namespace pilot::admin {
namespace {

using testing::parse_exposition;
using testing::Parsed;

Parsed parse_ok(const std::string& text) {
  std::string err;
  auto p = parse_exposition(text, err);
  EXPECT_TRUE(p.has_value()) << err << "\n" << text;
  return p.value_or(Parsed{});
}

std::string parse_error(const std::string& text) {
  std::string err;
  auto p = parse_exposition(text, err);
  EXPECT_FALSE(p.has_value()) << "accepted:\n" << text;
  return err;
}

// ---- the parser ---------------------------------------------------------------

constexpr const char* kValid =
    "# HELP req_total Requests.\n"
    "# TYPE req_total counter\n"
    "req_total{type=\"a\\\\b\\\"c\\nd\"} 3\n"
    "req_total{type=\"z\",} 4\n"
    "# TYPE temp gauge\n"
    "# HELP temp Line one\\nline two \\\\ done.\n"
    "temp -1.5e-3\n"
    "# HELP lat Latency.\n"
    "# TYPE lat histogram\n"
    "lat_bucket{op=\"x\",le=\"0.1\"} 1\n"
    "lat_bucket{op=\"x\",le=\"1\"} 3\n"
    "lat_bucket{op=\"x\",le=\"+Inf\"} 4\n"
    "lat_sum{op=\"x\"} 2.5\n"
    "lat_count{op=\"x\"} 4\n"
    "# a plain comment\n"
    "# HELP up Up.\n"
    "# TYPE up gauge\n"
    "up NaN 1700000000000\n";

TEST(PrometheusParser, AcceptsValidTextAndReadsItBack) {
  Parsed p = parse_ok(kValid);
  EXPECT_EQ(p.order, (std::vector<std::string>{"req_total", "temp", "lat", "up"}));
  EXPECT_EQ(p.value("req_total", {{"type", "a\\b\"c\nd"}}), 3);
  EXPECT_EQ(p.value("req_total", {{"type", "z"}}), 4);
  EXPECT_EQ(p.value("temp"), -1.5e-3);
  EXPECT_EQ(p.family("temp")->help, "Line one\nline two \\ done.");
  EXPECT_EQ(p.value("lat_bucket", {{"op", "x"}, {"le", "1"}}), 3);
  EXPECT_EQ(p.value("lat_count", {{"op", "x"}}), 4);
  EXPECT_TRUE(std::isnan(*p.value("up")));
  EXPECT_EQ(p.family("lat")->type, "histogram");
}

TEST(PrometheusParser, AcceptsEmptyTextAndFamiliesWithoutSamples) {
  parse_ok("");
  parse_ok("# HELP a_total A.\n# TYPE a_total counter\n");
}

struct BadCase {
  const char* why;
  std::string text;
  const char* error_part;  // expected in the error message
};

TEST(PrometheusParser, RejectsEachKindOfBadInput) {
  const std::string head = "# HELP m M.\n# TYPE m gauge\n";
  const std::string hist = "# HELP h H.\n# TYPE h histogram\n";
  const std::vector<BadCase> cases = {
      {"no final newline", head + "m 1", "newline"},
      {"empty line", head + "\nm 1\n", "empty line"},
      {"carriage return", head + "m 1\r\n", "carriage"},
      {"sample without TYPE", "# HELP m M.\nm 1\n", "without a TYPE"},
      {"sample without HELP", "# TYPE m gauge\nm 1\n", "without a HELP"},
      {"TYPE after samples", "# HELP m M.\n# TYPE n gauge\n# HELP n N.\nn 1\n# TYPE n gauge\n", "TYPE"},
      {"HELP after samples", "# TYPE m gauge\n# HELP m M.\nm 1\n# HELP m again\n", "HELP"},
      {"second TYPE", "# TYPE m gauge\n# TYPE m gauge\n", "second TYPE"},
      {"unknown type", "# TYPE m meter\n", "unknown type"},
      {"empty HELP", "# HELP m \n", "empty HELP"},
      {"bad HELP escape", "# HELP m a\\tb\n", "HELP"},
      {"bad metric name", "# HELP 1m M.\n", "invalid metric name"},
      {"bad sample name", head + "m-x 1\n", "invalid metric name"},
      {"bad label name", head + "m{1a=\"x\"} 1\n", "invalid label name"},
      {"reserved label name", head + "m{__name__=\"x\"} 1\n", "invalid label name"},
      {"unquoted label value", head + "m{a=x} 1\n", "not quoted"},
      {"bad label escape", head + "m{a=\"x\\ty\"} 1\n", "invalid escape"},
      {"unterminated label value", head + "m{a=\"x} 1\n", "unterminated"},
      {"label value not UTF-8", head + "m{a=\"\xff\"} 1\n", "UTF-8"},
      {"repeated label", head + "m{a=\"x\",a=\"y\"} 1\n", "repeated"},
      {"missing separator", head + "m{a=\"x\"b=\"y\"} 1\n", "expected ','"},
      {"no value", head + "m\n", "space before the value"},
      {"bad value", head + "m 1,5\n", "invalid value"},
      {"hex value", head + "m 0x10\n", "invalid value"},
      {"bad timestamp", head + "m 1 12.5\n", "timestamp"},
      {"duplicate series", head + "m{a=\"x\"} 1\nm{a=\"x\"} 2\n", "duplicate series"},
      {"family split", head + "m{a=\"x\"} 1\n# HELP n N.\n# TYPE n gauge\nn 1\nm{a=\"y\"} 1\n", "continued"},
      {"counter not *_total", "# TYPE c counter\n", "_total"},
      {"negative counter", "# HELP c_total C.\n# TYPE c_total counter\nc_total -1\n", "negative"},
      {"histogram without +Inf", hist + "h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "_sum before"},
      {"histogram, +Inf missing at the end", hist + "h_bucket{le=\"1\"} 1\n", "+Inf"},
      {"buckets not cumulative", hist + "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n", "cumulative"},
      {"le not increasing", hist + "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n", "increasing"},
      {"bucket without le", hist + "h_bucket 1\n", "without le"},
      {"le on _sum", hist + "h_bucket{le=\"+Inf\"} 1\nh_sum{le=\"1\"} 1\n", "le on"},
      {"no _sum", hist + "h_bucket{le=\"+Inf\"} 1\nh_count 1\n", "no _sum"},
      {"no _count", hist + "h_bucket{le=\"+Inf\"} 1\nh_sum 1\n", "no _count"},
      {"_count differs", hist + "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 2\n", "_count differs"},
      {"bare histogram sample", hist + "h 1\n", "not _bucket"},
  };
  for (const BadCase& c : cases) {
    const std::string err = parse_error(c.text);
    EXPECT_NE(err.find(c.error_part), std::string::npos) << c.why << ": got \"" << err << "\"";
  }
}

// ---- the writer ---------------------------------------------------------------

TEST(PrometheusWriter, FormatsValuesAsPrometheusParsesThem) {
  using prom::format_value;
  EXPECT_EQ(format_value(0.0), "0");
  EXPECT_EQ(format_value(1.5), "1.5");
  EXPECT_EQ(format_value(100000 / 1e9), "0.0001");
  EXPECT_EQ(format_value(-2.0), "-2");
  EXPECT_EQ(format_value(1e21), "1e+21");
  EXPECT_EQ(format_value(1e-5), "1e-05");
  EXPECT_EQ(format_value(1e20), "100000000000000000000");
  EXPECT_EQ(format_value(12345.678), "12345.678");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  EXPECT_EQ(format_value(INFINITY), "+Inf");
  EXPECT_EQ(format_value(-INFINITY), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<uint64_t>::max()), "18446744073709551615");
  for (double v : {0.1, 1.0 / 3, 6.02e23, 5e-324, 123456789.125}) {
    auto back = testing::detail::parse_value(format_value(v));
    ASSERT_TRUE(back.has_value()) << v;
    EXPECT_EQ(*back, v);  // shortest round-trip: exact
  }
}

TEST(PrometheusWriter, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(prom::escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(prom::escape_help("a\\b\"c\nd"), "a\\\\b\"c\\nd");
  EXPECT_EQ(prom::escape_label_value("h\xc3\xa9llo \xe2\x82\xac"), "h\xc3\xa9llo \xe2\x82\xac");  // kept
  EXPECT_EQ(prom::escape_label_value("a\xff"
                                     "b"),
            "a\xef\xbf\xbd"
            "b");                                                                               // replaced
  EXPECT_EQ(prom::escape_label_value("\xc0\x80"), "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong NUL
  EXPECT_EQ(prom::escape_label_value("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
}

TEST(PrometheusWriter, WritesCountersAndGaugesSortedByLabel) {
  prom::Exposition e;
  e.counter("req_total", "Requests.").add({{"type", "lookup"}}, uint64_t{2}).add({{"type", "heartbeat"}}, uint64_t{5});
  e.gauge("temp", "Temperature\nin C.").add(21.5);
  EXPECT_EQ(e.text(),
            "# HELP req_total Requests.\n"
            "# TYPE req_total counter\n"
            "req_total{type=\"heartbeat\"} 5\n"
            "req_total{type=\"lookup\"} 2\n"
            "# HELP temp Temperature\\nin C.\n"
            "# TYPE temp gauge\n"
            "temp 21.5\n");
  parse_ok(e.text());
}

TEST(PrometheusWriter, KeepsTheFirstOfARepeatedSeries) {
  prom::Exposition e;
  e.gauge("g", "G.").add({{"n", "b"}}, 1.0).add({{"n", "a"}}, 2.0).add({{"n", "b"}}, 3.0);
  Parsed p = parse_ok(e.text());
  EXPECT_EQ(p.value("g", {{"n", "b"}}), 1);
  EXPECT_EQ(p.family("g")->samples.size(), 2u);
}

TEST(PrometheusWriter, WritesHistogramsCumulativeWithInfSumAndCount) {
  static constexpr std::array<uint64_t, 3> kBounds{100'000, 1'000'000, 10'000'000};  // ns
  Histogram h(kBounds);
  for (uint64_t v : {50'000, 100'000, 500'000, 20'000'000, 30'000'000}) h.observe(v);
  prom::Exposition e;
  e.histogram("lat_seconds", "Latency.").add({{"op", "x"}}, h.data(), 1e9);
  EXPECT_EQ(e.text(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{op=\"x\",le=\"0.0001\"} 2\n"
            "lat_seconds_bucket{op=\"x\",le=\"0.001\"} 3\n"
            "lat_seconds_bucket{op=\"x\",le=\"0.01\"} 3\n"
            "lat_seconds_bucket{op=\"x\",le=\"+Inf\"} 5\n"
            "lat_seconds_sum{op=\"x\"} 0.05065\n"
            "lat_seconds_count{op=\"x\"} 5\n");
  parse_ok(e.text());
}

TEST(PrometheusWriter, AtomicHistogramCountsLikeThePlainOne) {
  static constexpr std::array<uint64_t, 2> kBounds{1, 4};
  Histogram plain(kBounds);
  AtomicHistogram atomic(kBounds);
  for (uint64_t v : {0, 1, 2, 4, 5, 100}) plain.observe(v), atomic.observe(v);
  EXPECT_EQ(plain.data().counts, (std::vector<uint64_t>{2, 2, 2}));
  EXPECT_EQ(atomic.data().counts, plain.data().counts);
  EXPECT_EQ(atomic.data().sum, 112u);
  EXPECT_EQ(atomic.data().count(), 6u);
}

TEST(PrometheusWriter, RefusesInvalidOrRepeatedNames) {
  prom::Exposition e;
  EXPECT_THROW(e.gauge("1bad", "x"), std::invalid_argument);
  EXPECT_THROW(e.gauge("bad-name", "x"), std::invalid_argument);
  e.gauge("ok", "x");
  EXPECT_THROW(e.gauge("ok", "x"), std::invalid_argument);
  e.histogram("h", "x");
  EXPECT_THROW(e.gauge("h_sum", "x"), std::invalid_argument);
  auto& g = e.gauge("g", "x");
  EXPECT_THROW(g.add({{"__x", "v"}}, 1.0), std::invalid_argument);
  EXPECT_THROW(g.add({{"a", "v"}, {"a", "w"}}, 1.0), std::invalid_argument);
  static constexpr std::array<uint64_t, 1> kBounds{1};
  EXPECT_THROW(e.histogram("h2", "x").add({{"le", "1"}}, Histogram(kBounds).data()), std::invalid_argument);
  EXPECT_THROW(g.add(Histogram(kBounds).data()), std::invalid_argument);
  EXPECT_THROW(Histogram(std::span<const uint64_t>(std::array<uint64_t, 2>{2, 1})), std::invalid_argument);
}

TEST(PrometheusWriter, EmptyFamiliesKeepHelpAndType) {
  prom::Exposition e;
  e.counter("none_total", "Nothing yet.");
  EXPECT_EQ(e.text(), "# HELP none_total Nothing yet.\n# TYPE none_total counter\n");
  parse_ok(e.text());
}

// Label values and help texts are data (network names): whatever bytes they hold, the
// output parses, and valid UTF-8 comes back unchanged.
TEST(PrometheusWriter, AnyBytesInLabelValuesAndHelpStillParse) {
  std::mt19937 rng(7);
  const std::string alphabet = std::string("ab\\\"\n{}=,# \t\xc3\xa9\xe2\x82\xac\xff\xc0", 19) + '\0';
  for (int round = 0; round < 500; ++round) {
    std::string value, help;
    const int len = int(rng() % 24);
    for (int i = 0; i < len; ++i) value += alphabet[rng() % alphabet.size()];
    for (int i = 0; i < len; ++i) help += alphabet[rng() % alphabet.size()];
    prom::Exposition e;
    e.gauge("g", "h" + help).add({{"v", value}}, 1.0);
    Parsed p = parse_ok(e.text());
    ASSERT_EQ(p.family("g")->samples.size(), 1u);
    if (testing::detail::utf8_ok(value)) {
      EXPECT_EQ(p.family("g")->samples[0].labels.at("v"), value);
    }
    if (testing::detail::utf8_ok(help)) {
      EXPECT_EQ(p.family("g")->help, "h" + help);
    }
  }
}

TEST(PrometheusWriter, PromtoolAcceptsTheOutput) {
  static constexpr std::array<uint64_t, 2> kBounds{1000, 2000};
  AtomicHistogram h(kBounds);
  h.observe(1500);
  prom::Exposition e;
  e.counter("pilot_x_total", "X.").add({{"type", "a\"b"}}, uint64_t{1}).add({{"type", "\xff"}}, uint64_t{2});
  e.gauge("pilot_y", "Y.").add(std::nan(""));
  e.histogram("pilot_z_seconds", "Z.").add(h.data(), 1e6);
  auto r = testing::promtool_check(e.text());
  if (!r) GTEST_SKIP() << "promtool not installed (Debian package prometheus); the strict parser checks alone";
  EXPECT_TRUE(r->parsed) << r->output;
  EXPECT_TRUE(r->findings.empty()) << r->output;
  // And it does catch a broken text (so a pass above means something).
  auto bad = testing::promtool_check("# HELP a A.\n# TYPE a gauge\na{x=\"1} 1\n");
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->parsed);
}

}  // namespace
}  // namespace pilot::admin
