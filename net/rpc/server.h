// The registry port (spec §2): a libuv TCP listener and the per-connection loop.
//
// A connection's life:
//   1. accept → the first 4 bytes decide its mode for good: "PILT" + version byte =
//      binary frames, anything else = the length prefix of the first JSON frame.
//   2. each complete frame is rate-checked, dispatched (Dispatcher, on this thread) and
//      its reply queued behind the replies before it: one reply per request, in order.
//   3. a reply waits until every log record the request could have seen is durable
//      (ARCHITECTURE.md §3); then the ready replies at the head of the queue go out in
//      one write.
//   4. it ends on a framing error (JSON: closed without a reply; binary: a 0xFF frame,
//      then closed), on EOF, after the idle timeout without a frame, or at shutdown.
//
// Sync replication adds a second condition (set_release_gate): a reply also waits
// until a follower has acknowledged its records, and release_gated() is the wake-up
// for that.
//
// subscribe_replication (spec §3.3, JSON mode only) takes a connection out of the
// request/reply loop: the StreamHandler decides, and an accepted connection becomes a
// push stream (its reads only notice the peer leaving; no idle timeout) that the
// handler writes with push(). Without a handler the request is refused.
//
// Back-pressure: a connection whose held replies or unsent bytes pass a limit stops
// being read until they drain, so a client that sends without reading costs bounded
// memory (its kernel socket buffers fill and its own writes block). A frame may be up
// to 64 MiB (§2.3), which bounds the input buffer of one connection.
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net/rpc/dispatcher.h"
#include "net/rpc/rate_limit.h"

namespace pilot::log {
class Writer;
}

namespace pilot::rpc {

struct ServerOptions {
  std::string listen_addr = ":9000";                    // ":port" = every address, IPv4 and IPv6
  int64_t idle_timeout_ns = int64_t{300} * 1000000000;  // §2.1: 5 min without a frame
  size_t max_connections = 1100000;                     // §2.1: more are closed at once
  size_t max_held_replies = 1024;                       // per connection, then reading pauses
  size_t max_unsent_bytes = 1 << 20;                    // per connection, then reading pauses
};

struct ServerStats {
  uint64_t accepted = 0;
  uint64_t rejected_over_limit = 0;  // closed at accept: max_connections reached
  uint64_t closed_idle = 0;
  uint64_t closed_bad_frame = 0;
  uint64_t rate_limited = 0;
  uint64_t frames = 0;
  size_t open = 0;
};

// The owner of push streams (net/rpc/go_standby.h). Loop thread.
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  struct Decision {
    std::string error;        // non-empty: answer {"error":…,"type":"error"} and close
    std::string first_frame;  // else: a complete frame, sent like a reply (in order, once durable)
  };
  virtual Decision on_subscribe(uint64_t conn, const nlohmann::json& request, const Peer& peer) = 0;
  // An accepted stream closed (peer gone, write failed, close_stream, shutdown).
  virtual void on_stream_closed(uint64_t conn) = 0;
};

class RpcServer {
 public:
  // `limiter` may be null (no limits). `writer` may be null (replies go out at once).
  RpcServer(uv_loop_t* loop, Dispatcher& dispatcher, log::Writer* writer, RateLimiter* limiter, ServerOptions opts);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Binds and listens. False + error (e.g. "address already in use").
  bool listen(std::string& error);
  // "127.0.0.1:40123" / "[::]:9000": the address actually bound.
  std::string bound_address() const;
  uint16_t bound_port() const;

  // Stops accepting and reading, lets the replies already queued go out (their
  // records are flushed by the caller's Writer::flush + run_callbacks), then closes
  // every connection; `done` runs once all are closed (at most `grace_ms` later).
  void shutdown(uint64_t grace_ms, std::function<void()> done);

  const ServerStats& stats() const { return stats_; }

  // Replies leave only once `gate()` (loop thread) is at least the seq they wait for,
  // as well as durable: sync replication returns the highest seq a follower has
  // acknowledged (or UINT64_MAX when degraded to async). Call release_gated() when the
  // gate may have moved.
  void set_release_gate(std::function<uint64_t()> gate) { gate_ = std::move(gate); }
  void release_gated();

  // Push streams (see StreamHandler). The log position every reply may show: a pushed
  // frame must not show state beyond it.
  uint64_t releasable_seq() const;
  void set_stream_handler(StreamHandler* h) { streams_ = h; }
  enum class PushResult {
    kSent,
    kBusy,  // the first frame has not left yet: try again later
    kGone,  // not an open stream (closed, closing, or never accepted)
  };
  // Writes `frame` (shared, not copied, by every stream it goes to) to stream `conn`.
  PushResult push(uint64_t conn, std::shared_ptr<const std::string> frame);
  // Bytes handed to the socket and not yet written (0 for an unknown connection).
  size_t unsent_bytes(uint64_t conn) const;
  void close_stream(uint64_t conn);

  struct Conn;  // per connection state (server.cc)
  // A request waiting for its signature check on the thread pool (server.cc).
  struct PendingVerify {
    uint64_t conn_id;
    nlohmann::json request;
    Dispatcher::PreVerify pv;
    VerifyCache::Digest digest;
    bool ok;
  };

 private:
  friend struct ConnOps;
  void on_connection(int status);
  void sweep_idle();
  void close_conn(Conn* c);
  void maybe_finish_shutdown();
  void close_grace_timer();

  uv_loop_t* loop_;
  Dispatcher& dispatcher_;
  log::Writer* writer_;
  RateLimiter* limiter_;
  ServerOptions opts_;
  uv_tcp_t listener_{};
  uv_timer_t idle_timer_{};
  uv_timer_t grace_timer_{};
  bool listening_ = false;
  bool shutting_down_ = false;
  bool grace_closing_ = false;
  std::function<void()> shutdown_done_;
  int handles_open_ = 0;  // listener + timers not yet closed (shutdown waits for them)
  uint64_t next_conn_id_ = 1;
  size_t pending_work_ = 0;  // verify batches on the thread pool (shutdown waits)
  static size_t pool_threads();
  size_t verify_threads_ = pool_threads();
  std::vector<PendingVerify> verify_queue_;  // collected during this loop iteration
  uv_check_t verify_check_{};                // hands verify_queue_ to the pool
  std::unordered_map<uint64_t, Conn*> conns_;
  std::function<uint64_t()> gate_;
  StreamHandler* streams_ = nullptr;
  std::unordered_set<uint64_t> gated_;  // connections whose durable replies wait for the gate
  Conn* idle_head_ = nullptr;           // least recently active first
  Conn* idle_tail_ = nullptr;
  ServerStats stats_;
  std::array<char, 64 * 1024> read_buf_{};  // shared by all connections (see start_reading)
};

}  // namespace pilot::rpc
