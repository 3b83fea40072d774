// A writer of the Prometheus text exposition format, version 0.0.4 (what `/metrics`
// serves as `text/plain; version=0.0.4`).
//
// Build an Exposition family by family, then take text(). For each family it writes
// `# HELP`, `# TYPE` and the samples; series are sorted by their labels (so a family
// with one label is sorted by that label's value, as spec §11 asks) and a repeated
// label set keeps only its first value, so the output never holds a duplicate series.
// Histograms come from core/histogram.h data: cumulative `le` buckets ending with
// `+Inf`, then `_sum` and `_count`, with the recorder's integer units divided into the
// unit the metric is named after (ns / 1e9 = seconds).
//
// Metric and label names are code constants: an invalid or repeated name throws
// std::invalid_argument (a bug, caught by the tests that parse every family). Label
// values and help texts are data: they are escaped, and bytes that are not UTF-8 are
// replaced by U+FFFD, so they can never break the format.
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/histogram.h"

namespace pilot::admin::prom {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Type { kCounter, kGauge, kHistogram };

// Sample values as Prometheus parses them: shortest round-trip decimal, "NaN",
// "+Inf", "-Inf". The integer overload is exact beyond 2^53.
std::string format_value(double v);
std::string format_value(uint64_t v);

// `"` `\` and newline escaped, invalid UTF-8 replaced: a label value's inner text.
std::string escape_label_value(std::string_view v);
// `\` and newline escaped, invalid UTF-8 replaced: the text after `# HELP name `.
std::string escape_help(std::string_view v);

bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

class Family {
 public:
  // Counters and gauges.
  Family& add(Labels labels, double value);
  Family& add(Labels labels, uint64_t value);
  Family& add(double value) { return add(Labels{}, value); }
  Family& add(uint64_t value) { return add(Labels{}, value); }
  // Histograms: recorded value / `divisor` is the value in the metric's unit.
  Family& add(Labels labels, const HistogramData& h, double divisor = 1);
  Family& add(const HistogramData& h, double divisor = 1) { return add(Labels{}, h, divisor); }

  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  size_t series() const { return series_.size(); }

 private:
  friend class Exposition;
  struct Series {
    Labels labels;
    std::string value;  // counter/gauge
    HistogramData hist;
    double divisor = 1;
  };
  Family(std::string name, Type type, std::string help) : name_(std::move(name)), type_(type), help_(std::move(help)) {}
  void check_labels(const Labels& labels) const;
  void write(std::string& out) const;

  std::string name_;
  Type type_;
  std::string help_;
  std::vector<Series> series_;
};

class Exposition {
 public:
  // A family with no series still gets its HELP and TYPE lines.
  Family& family(std::string name, Type type, std::string help);
  Family& counter(std::string name, std::string help) {
    return family(std::move(name), Type::kCounter, std::move(help));
  }
  Family& gauge(std::string name, std::string help) { return family(std::move(name), Type::kGauge, std::move(help)); }
  Family& histogram(std::string name, std::string help) {
    return family(std::move(name), Type::kHistogram, std::move(help));
  }

  // Families in the order they were added.
  std::string text() const;
  void append_to(std::string& out) const;

 private:
  std::deque<Family> families_;               // stable addresses: callers hold Family&
  std::set<std::string, std::less<>> names_;  // every sample name a family can produce
};

}  // namespace pilot::admin::prom
