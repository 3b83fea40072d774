// `rendezvous --follow HOST:PORT`: the client side of log shipping, on the server's
// libuv loop (the state and the writer belong to the loop thread).
//
// The life of a connection:
//   1. resolve and connect to the leader; send hello with the local log's last seq,
//      term and hash (what was appended, durable or not: the writer will make those
//      durable, so resuming after them leaves no gap and repeats nothing);
//   2. a refuse frame is logged and retried later (the operator may fix a token); a
//      rewind frame (our last record is not on the leader's log: we were a leader
//      that has been replaced) goes to the rewind handler, which cuts our divergent
//      tail (rewind.h), and we say hello again; a welcome starts the stream;
//   3. each records frame goes through the Applier (checked, appended, applied); a
//      record that fails a check drops the connection before anything after it is
//      touched;
//   4. whenever the local durable seq moves, an ack says so (and at least every
//      ack_interval, which is also how the leader knows we are alive);
//   5. if more than max_unsynced records wait for the disk, reading pauses until the
//      writer catches up (bounded memory under a slow disk);
//   6. EOF, an error, or nothing from the leader for read_timeout (it sends a keepalive
//      every second when idle): close, and connect again after a backoff that doubles
//      from min_backoff to max_backoff and starts over after a welcome.
//
// Terms: the hello says the highest term this node has seen (the writer's, or the term
// file's, term_store.h). A welcome, keepalive or rewind below it comes from a leader
// that has been replaced: it is refused (logged) and retried later. A higher one is
// remembered in the term file before anything else happens.
//
// Where records go is a RecordSink (record_sink.h): the Applier of a follower's log
// (`rendezvous --follow`), or a consumer with no log (the standalone beacon,
// consumer.h), whose hello says so. The connection logic is the same for both.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/rw_mutex.h"
#include "log/writer.h"
#include "net/replication/applier.h"
#include "net/replication/messages.h"
#include "net/replication/record_sink.h"
#include "net/replication/term_store.h"
#include "projections/state.h"

namespace pilot::repl {

class SnapshotReceiver;  // snapshot_transfer.h
struct SnapshotEnd;      // snapshot_messages.h

struct FollowerOptions {
  std::string leader_addr;  // host:port of the leader's replication listener
  std::string token;
  int64_t min_backoff_ns = int64_t{100} * 1000000;
  int64_t max_backoff_ns = int64_t{2} * 1000000000;
  int64_t read_timeout_ns = int64_t{10} * 1000000000;
  int64_t ack_interval_ns = int64_t{1} * 1000000000;
  uint64_t max_unsynced = 65536;
};

class Follower {
 public:
  // `state_mu`: held exclusively around every apply (the registry's state mutex,
  // net/rpc/registry.h: the embedded beacon reads the state from other threads).
  Follower(uv_loop_t* loop, State& state, RwMutex& state_mu, log::Writer& writer, FollowerOptions opts);
  // Records go to `sink` (which must outlive the follower), e.g. a StateConsumer.
  Follower(uv_loop_t* loop, RecordSink& sink, FollowerOptions opts);
  ~Follower();
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  // Before start(). `terms` (may be null: the writer's term only) is raised by
  // welcomes and rewinds. `on_rewind` carries out a rewind on the loop thread and says
  // whether the log was cut (then hello again at once) or not (logged; retried later).
  void set_terms(TermStore* terms) { terms_ = terms; }
  void set_rewind_handler(std::function<bool(const Rewind&)> on_rewind) { on_rewind_ = std::move(on_rewind); }
  // Called on the loop thread each time this follower has caught up with the leader
  // after a welcome (it holds every record the leader had reported durable).
  void set_on_caught_up(std::function<void(uint64_t seq)> fn) { on_caught_up_ = std::move(fn); }
  // When the leader no longer has the records after ours (refuse `need snapshot`), ask
  // for its snapshot, assemble it in `receive_path`, and once verified hand it to
  // `install` on the loop thread (a follower: snapshot_transfer.h install_snapshot; a
  // consumer: load it into its state); then hello again from the snapshot's seq.
  void set_snapshot_handler(std::string receive_path,
                            std::function<bool(const std::string& path, const SnapshotEnd& end)> install) {
    snapshot_path_ = std::move(receive_path);
    on_snapshot_ = std::move(install);
  }
  // From the rewind handler: the cut is legitimate but our state at the common record
  // cannot be rebuilt (log retention deleted what it needs): the next connection asks
  // for the leader's snapshot instead, which replaces the whole log.
  void request_snapshot() {
    if (on_snapshot_) want_snapshot_ = true;
  }

  void start();
  // Closes the connection and the timers; `done` once every handle is closed. For
  // good: a promoted node stops its follower this way (it then reports no lag).
  void stop(std::function<void()> done);

  bool streaming() const;
  // Welcomes received: connections that started streaming.
  uint64_t connections() const { return connections_; }
  // The leader's durable seq as last heard (welcome, keepalive): lag = this − ours.
  uint64_t leader_durable_seq() const { return leader_durable_; }
  // Steady-clock ns when this follower last held every record the leader had reported
  // durable (start() counts as such a moment). While behind or not streaming, now −
  // this is how many seconds it lags (/metrics): it keeps growing while the leader is
  // unreachable.
  int64_t caught_up_ns() const { return caught_up_ns_; }

  struct Conn;  // one connection attempt (follower.cc)

 private:
  void connect();
  void on_resolved(int status, addrinfo* res);
  void on_connected(Conn* c, int status);
  void start_reading(Conn* c);
  void on_read(Conn* c, ssize_t n, const uv_buf_t* buf);
  void process(Conn* c);
  bool on_frame(Conn* c, uint8_t type, std::string_view body);
  void write(Conn* c, std::string bytes);
  void send_ack(bool force);
  // The highest term we know of: a leader below it has been replaced.
  uint64_t local_term() const;
  // False (connection closed) if `term` is below ours; else remembers it.
  bool accept_term(uint64_t term, const char* what);
  void on_rewind(const std::string_view body);
  bool on_snapshot_frame(MsgType t, std::string_view body);  // false: closed
  void want_durable();
  void close_conn(const std::string& why, bool warn, int64_t retry_ns);
  void schedule_retry(int64_t delay_ns);
  void tick();
  void maybe_done();

  uv_loop_t* loop_;
  std::unique_ptr<Applier> own_applier_;  // the log's, for the first constructor
  RecordSink& sink_;
  FollowerOptions opts_;
  TermStore* terms_ = nullptr;
  std::function<bool(const Rewind&)> on_rewind_;
  std::function<void(uint64_t)> on_caught_up_;
  std::string snapshot_path_;
  std::function<bool(const std::string&, const SnapshotEnd&)> on_snapshot_;
  std::unique_ptr<SnapshotReceiver> snapshot_;  // while a transfer's connection is open
  bool want_snapshot_ = false;                  // the next connection asks for the snapshot
  uint64_t connections_ = 0;
  uv_timer_t retry_timer_{};
  uv_timer_t tick_timer_{};
  uv_getaddrinfo_t* resolving_ = nullptr;
  Conn* conn_ = nullptr;
  int64_t backoff_ns_ = 0;
  uint64_t leader_durable_ = 0;
  int64_t caught_up_ns_ = 0;
  uint64_t acked_ = 0;         // last durable seq sent in an ack on this connection
  int64_t last_ack_ns_ = 0;    // when it was sent
  bool durable_wait_ = false;  // a Writer::on_durable callback is pending
  bool paused_ = false;        // reading stopped until the writer catches up
  bool caught_up_logged_ = false;
  uint64_t failures_ = 0;     // connection attempts failed in a row
  std::string last_refusal_;  // logged once while it repeats
  bool started_ = false;
  bool stopping_ = false;
  int open_handles_ = 0;
  std::function<void()> done_;
  char read_buf_[64 * 1024];
};

}  // namespace pilot::repl
