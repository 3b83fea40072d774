// One follower connection on the leader, from hello to close (PROTOCOL.md):
//
//   1. read the hello (bounded in size and time), check the version, the token
//      (constant time), the term (a follower that has seen a higher term than ours
//      must not take records from us — and we have been replaced: the leader is told)
//      and that the follower's last record is on our log with the same hash; any
//      failure is a refuse frame and a close — except a follower whose last record is
//      not on our log, which gets a rewind frame (rewind.h) and a close;
//   2. send welcome, then records: a RecordSource reads durable records from the
//      segments and they go out in frames of about batch_bytes, catch-up and live
//      alike; keepalives when there is nothing to send;
//   3. a second thread reads acks; anything else from the follower ends the session.
//      A consumer's acks (the hello's consumer flag) keep the session alive but do not
//      move the leader's acknowledged seq: it keeps no log, so they prove no copy.
//
// Dropping is shutdown(2) on the socket, which wakes whichever thread is blocked;
// the descriptor is closed only after both threads are joined.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include "net/replication/messages.h"

namespace pilot::repl {

class Leader;

class Session {
 public:
  Session(Leader& leader, int fd, std::string peer);
  ~Session();  // kill() + join
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // Send what is durable now, then end; give up at `deadline_ns` (steady clock).
  void request_stop(int64_t deadline_ns);
  // Ends the session now (shutdown of the socket).
  void kill();
  bool finished() const { return finished_.load(); }
  bool streaming() const { return streaming_.load(); }
  // Its hello had the consumer flag (consumer.h): counted apart from followers, acks
  // not counted for sync mode.
  bool consumer() const { return consumer_.load(); }
  // It is sending the snapshot (a snapshot request instead of a hello).
  bool transferring() const { return transferring_.load(); }

 private:
  void main();
  bool read_hello(Hello& out);
  bool admit(const Hello& h);
  void stream(const Hello& h);
  void receive_main();
  // Blocks until sent; false (reason in send_error_) after `timeout_ns` without the
  // kernel taking a byte, or on error.
  bool send(int64_t timeout_ns, std::string_view header, std::string_view body = {});
  void refuse(RefuseCode code, const std::string& reason, bool quiet = false);
  void rewind(const Hello& h, uint64_t durable);
  // The answer to a snapshot request (snapshot_transfer.h): snapshot.db in chunks, the
  // end frame, close.
  void send_snapshot(const Hello& h);
  // Sends one last frame, half-closes and lets the peer read it before closing.
  void send_and_close(const std::string& frame);
  void drop(const std::string& why, bool warn = true);

  Leader& leader_;
  int fd_;
  std::string peer_;
  std::thread thread_, receiver_;
  std::atomic<bool> finished_{false};
  std::atomic<bool> streaming_{false};
  std::atomic<bool> consumer_{false};
  std::atomic<bool> transferring_{false};
  std::atomic<bool> dropped_{false};
  bool snapshot_request_ = false;  // the first frame was a snapshot request, not a hello
  std::atomic<bool> stop_requested_{false};
  std::atomic<int64_t> stop_deadline_ns_{0};
  std::atomic<uint64_t> sent_seq_{0};
  std::atomic<uint64_t> acked_seq_{0};
  std::string send_error_;
};

}  // namespace pilot::repl
