// The leader's replication listener (--repl-addr, default :9100): followers connect,
// prove the token, say where their log ends, and receive every durable record after
// that — first from the segment files, then live as the writer makes records durable.
//
// One follower, one session (session.h), on its own threads with blocking sockets:
// reading old segments must never stall the registry's loop thread, and followers are
// few (--repl-max-followers). A session reads the log at the follower's pace, so the
// leader keeps nothing in memory for a slow follower but its position and one batch;
// a follower that stops reading fills its socket buffers and is dropped after
// --repl-send-timeout without progress.
//
// Fencing: a hello whose term is above ours (a follower of a newer leader, or the
// newer leader itself fencing us, fencer.h) means this leader has been replaced. It is
// refused, and `on_newer_term` tells the host, which stops taking writes. A hello whose
// position is not on our log gets a rewind frame instead of a refusal (rewind.h).
//
// Acknowledgements come back on the same connection. acked_seq() is the highest seq
// any follower has made durable since this leader started (one follower is enough for
// sync mode, as in a leader/follower pair; an acknowledged record stays on that
// follower's disk when it disconnects); `on_ack` tells the loop when it moves.
// Consumers (a hello with the consumer flag: standalone beacons keeping a projection
// in memory) are streamed the same records but have their own cap and never move
// acked_seq().
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "log/writer.h"

namespace pilot::repl {

class Session;

struct LeaderOptions {
  std::string listen_addr = ":9100";
  std::string token;  // required: an empty token refuses everyone
  size_t max_followers = 4;
  size_t max_consumers = 16;  // consumers (standalone beacons) streamed to, apart from followers
  int64_t hello_timeout_ns = int64_t{5} * 1000000000;  // connect → hello
  int64_t send_timeout_ns = int64_t{10} * 1000000000;  // no byte accepted this long: drop
  int64_t ack_timeout_ns = int64_t{15} * 1000000000;   // nothing heard this long: drop
  int64_t keepalive_ns = int64_t{1} * 1000000000;      // idle stream: a keepalive this often
  size_t batch_bytes = 512 * 1024;                     // records per frame, about
};

class Leader {
 public:
  // `writer` is read from other threads only through its thread-safe side
  // (durable_seq, wait_durable, closed). `on_ack` runs on a session thread.
  Leader(LeaderOptions opts, std::string log_dir, const log::Writer& writer, uint64_t term,
         std::function<void()> on_ack = {});
  ~Leader();  // stop(0)
  Leader(const Leader&) = delete;
  Leader& operator=(const Leader&) = delete;

  // Before start(): called (on a session thread) when a hello shows a term above ours,
  // once per higher term.
  void set_on_newer_term(std::function<void(uint64_t term, const std::string& peer)> fn) {
    on_newer_term_ = std::move(fn);
  }

  // Binds and starts accepting; logs "replication: listening on <addr>".
  bool start(std::string& error);
  std::string bound_address() const { return bound_; }

  // Stops accepting. Sessions first send what is durable now, for at most `drain_ms`
  // (so a follower of a leader shut down cleanly has every record), then are closed.
  void stop(int64_t drain_ms);

  uint64_t acked_seq() const { return acked_.load(std::memory_order_acquire); }
  // Streaming sessions: followers (which count for sync mode) and consumers (which
  // do not: net/replication/consumer.h).
  size_t followers() const;
  size_t consumers() const;
  // Snapshot transfers in progress. They stream no records, so they take no follower
  // or consumer slot; at most max_followers + max_consumers run at once.
  size_t snapshot_transfers() const;
  uint64_t term() const { return term_.load(); }

 private:
  friend class Session;
  size_t streaming(bool consumers) const;
  void accept_main();
  void reap(bool all);
  void note_ack(uint64_t seq);
  // True the first time `term` (above ours) is seen; tells the host.
  bool note_newer_term(uint64_t term, const std::string& peer);

  LeaderOptions opts_;
  std::string log_dir_;
  const log::Writer& writer_;
  std::atomic<uint64_t> term_;
  std::function<void()> on_ack_;
  std::function<void(uint64_t, const std::string&)> on_newer_term_;
  std::atomic<uint64_t> newer_term_{0};  // highest term above ours seen in a hello
  int listen_fd_ = -1;
  int wake_fd_[2] = {-1, -1};  // a pipe: stop() wakes the accept thread
  std::string bound_;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> acked_{0};
  mutable std::mutex mu_;
  std::list<std::unique_ptr<Session>> sessions_;
};

}  // namespace pilot::repl
