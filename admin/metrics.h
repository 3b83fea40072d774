// What `/metrics` says (spec §11 plus our own families; the list, and the spec
// metrics we do not emit and why, are in admin/README.md).
//
// The sources are the live objects of the host, by pointer; a null pointer leaves
// its families out (a follower has no Leader, a registry fixture no beacon). They
// fall in two groups by thread:
//
//   loop-thread objects — Registry (state, liveness, counters), Dispatcher, RpcServer,
//     RateLimiter, Follower, SyncGate, and the Writer's loop-side values (last seq,
//     term, appends by event kind): read by append_loop_metrics, on the loop thread;
//   thread-safe objects — the Writer's stats and histograms, Leader, the beacon's
//     Engine and UdpServer (atomics), SnapshotMetrics, the log directory's files:
//     read by append_shared_metrics, on any thread.
//
// Each family is produced by exactly one of the two, so their texts concatenate into
// one valid exposition. render_metrics(src, bridge) is what the HTTP handler calls:
// the loop part through the bridge (one posted query), the rest on the HTTP thread,
// so directory listings and lock waits never stall the loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "admin/outbound.h"
#include "admin/prometheus.h"
#include "core/histogram.h"
#include "projections/store.h"

namespace pilot {
namespace log {
class Writer;
}
namespace rpc {
class Registry;
class Dispatcher;
class LoopMeter;
class RpcServer;
class RateLimiter;
}  // namespace rpc
namespace beacon {
class Engine;
class UdpServer;
class WssServer;
}  // namespace beacon
namespace repl {
class Leader;
class Follower;
class SyncGate;
}  // namespace repl
}  // namespace pilot

namespace pilot::admin {

class LoopBridge;

// Outcomes of background and shutdown snapshots (the reference's "save" metrics).
// The host records each Snapshotter result here; any thread.
class SnapshotMetrics {
 public:
  // Bucket bounds of pilot_save_duration_seconds (spec §11), in ns.
  static constexpr std::array<uint64_t, 11> kDurationBoundsNs{
      100'000'000,   250'000'000,   500'000'000,    1'000'000'000,  1'500'000'000, 2'000'000'000,
      3'000'000'000, 5'000'000'000, 10'000'000'000, 30'000'000'000, 60'000'000'000};

  // The snapshot the state was restored from (0 = none).
  void set_loaded_seq(uint64_t seq) { last_seq_.store(seq, std::memory_order_relaxed); }
  void record(const Snapshotter::Result& r, int64_t unix_ns);

  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  uint64_t last_seq() const { return last_seq_.load(std::memory_order_relaxed); }
  int64_t last_unix_ns() const { return last_unix_ns_.load(std::memory_order_relaxed); }
  HistogramData duration() const { return duration_ns_.data(); }

 private:
  std::atomic<uint64_t> written_{0}, failed_{0}, last_seq_{0};
  std::atomic<int64_t> last_unix_ns_{0};  // last successful snapshot, 0 = none since start
  AtomicHistogram duration_ns_{kDurationBoundsNs};
};

// pilot_nodes_online walks every node (1M nodes: ~10 ms on the loop thread); scrapes
// closer together than a second share one walk, unless a node came or went (the count
// of registered nodes changed). Loop thread only.
struct OnlineCountCache {
  int64_t counted_at_ns = 0;
  size_t registered = 0;
  uint64_t online = 0;
};

struct MetricsSources {
  // ---- loop thread ----
  const rpc::Registry* registry = nullptr;
  const rpc::Dispatcher* dispatcher = nullptr;
  const rpc::RpcServer* server = nullptr;
  const rpc::RateLimiter* limiter = nullptr;
  const repl::Follower* follower = nullptr;  // --follow
  const repl::SyncGate* sync = nullptr;      // --replication=sync
  const rpc::LoopMeter* loop_meter = nullptr;
  // ---- both: loop-side values in the loop part, stats and histograms anywhere ----
  const log::Writer* writer = nullptr;
  OnlineCountCache* online_cache = nullptr;  // null: count on every scrape
  // ---- any thread ----
  const repl::Leader* leader = nullptr;  // --repl-token
  size_t go_standbys = 0;                // Go standbys on subscribe_replication (copied on the loop)
  const beacon::Engine* beacon = nullptr;
  const beacon::UdpServer* beacon_server = nullptr;
  const beacon::WssServer* beacon_wss = nullptr;  // with --beacon-wss-addr
  const SnapshotMetrics* snapshots = nullptr;
  // The webhook and live audit export (thread-safe counters); empty or nullopt while
  // nothing delivers (a follower, before promotion).
  std::function<std::optional<OutboundMetrics>()> outbound;
  std::string log_dir;  // pilot_wal_size_bytes; "" = left out
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // pilot_network_* gauges are per network name: at most this many networks (by name)
  // get series, so a registry with thousands of networks keeps a bounded scrape.
  size_t max_network_series = 1000;
};

// Loop thread.
void append_loop_metrics(const MetricsSources& src, prom::Exposition& out);
// Any thread.
void append_shared_metrics(const MetricsSources& src, prom::Exposition& out);

// Everything, on the loop thread (tests, tools).
std::string render_metrics(const MetricsSources& src);
// Everything, from another thread: the loop part through `bridge`. nullopt if the
// loop did not answer (shutting down, or stuck past the bridge's timeout).
std::optional<std::string> render_metrics(const MetricsSources& src, LoopBridge& bridge);

}  // namespace pilot::admin
