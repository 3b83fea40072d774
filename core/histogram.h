// Fixed-bucket histograms for metrics: the recording side. admin/metrics.h renders
// them as Prometheus histograms; they live in core/ because the code that records
// (the log writer, the dispatcher) sits below admin/ and must not depend on it.
//
// A histogram counts observations into buckets with fixed, inclusive upper bounds
// (Prometheus `le`), in integer units the recorder chooses (ns, records, ...), plus
// one bucket above every bound. The bounds are a span over static storage, so a
// histogram is a small array: recording is a short scan over at most
// kMaxHistogramBounds bounds and two additions, and never allocates.
//
//   Histogram        plain counters, for one thread (the loop thread's stats);
//   AtomicHistogram  relaxed atomics, written by one thread and read by any. A reader
//                    may see an observation in its bucket but not yet in the sum:
//                    harmless for metrics, and the count is taken from the buckets
//                    so count and buckets always agree.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

namespace pilot {

inline constexpr size_t kMaxHistogramBounds = 24;

// What a reader gets: per-bucket counts (not cumulative), bounds.size() + 1 of them,
// the last one above every bound.
struct HistogramData {
  std::span<const uint64_t> bounds;
  std::vector<uint64_t> counts;
  uint64_t sum = 0;
  uint64_t count() const {
    uint64_t n = 0;
    for (uint64_t c : counts) n += c;
    return n;
  }
};

namespace detail {
inline size_t histogram_bucket(std::span<const uint64_t> bounds, uint64_t v) {
  size_t i = 0;
  while (i < bounds.size() && v > bounds[i]) ++i;
  return i;
}
inline std::span<const uint64_t> checked_bounds(std::span<const uint64_t> bounds) {
  if (bounds.size() > kMaxHistogramBounds) throw std::length_error("histogram: too many bounds");
  for (size_t i = 1; i < bounds.size(); ++i)
    if (bounds[i - 1] >= bounds[i]) throw std::invalid_argument("histogram: bounds must increase");
  return bounds;
}
}  // namespace detail

class Histogram {
 public:
  explicit Histogram(std::span<const uint64_t> bounds) : bounds_(detail::checked_bounds(bounds)) {}

  void observe(uint64_t v) {
    ++counts_[detail::histogram_bucket(bounds_, v)];
    sum_ += v;
  }
  HistogramData data() const {
    return {bounds_, std::vector<uint64_t>(counts_.begin(), counts_.begin() + bounds_.size() + 1), sum_};
  }

 private:
  std::span<const uint64_t> bounds_;
  std::array<uint64_t, kMaxHistogramBounds + 1> counts_{};
  uint64_t sum_ = 0;
};

class AtomicHistogram {
 public:
  explicit AtomicHistogram(std::span<const uint64_t> bounds) : bounds_(detail::checked_bounds(bounds)) {}

  void observe(uint64_t v) {
    counts_[detail::histogram_bucket(bounds_, v)].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
  }
  HistogramData data() const {
    HistogramData d{bounds_, std::vector<uint64_t>(bounds_.size() + 1), sum_.load(std::memory_order_relaxed)};
    for (size_t i = 0; i < d.counts.size(); ++i) d.counts[i] = counts_[i].load(std::memory_order_relaxed);
    return d;
  }

 private:
  std::span<const uint64_t> bounds_;
  std::array<std::atomic<uint64_t>, kMaxHistogramBounds + 1> counts_{};
  std::atomic<uint64_t> sum_{0};
};

}  // namespace pilot
