// The standalone beacon's Policy (beacon.h), fed by a rendezvous leader's replication
// stream: `beacon --rendezvous HOST:PORT --repl-token T` (issue 4, item 5;
// ARCHITECTURE.md §6). The leader's records are checked and applied to a State held in
// memory, and the answers are LogPolicy's (log_policy.h) over that state — the same
// code that answers for the beacon embedded in rendezvous, over the same projections:
//
//   node_key(id)              the node's current key (punch grants; rotations apply
//                             as soon as their record arrives);
//   may_punch(requester, t)   --punch-auth=strict: public target, trust pair, or a
//                             shared custom (non-backbone) network.
//
// The stream: a repl::Follower in consumer mode (net/replication/consumer.h) on a
// libuv loop of its own thread — connect with backoff, hello with the consumer flag
// (the leader neither counts it as a follower nor its acks for sync mode), records,
// acks, reconnect and resume from the last applied (seq, hash, term). Nothing is
// kept on disk: a restarted beacon starts from seq 0 and the leader streams its whole
// log — or, when its --log-retention has deleted the start, its snapshot (loaded into
// memory through a file in a private temporary directory), then the log after it. A rewind (our last record is not on
// the leader's log: a failover cut it, or the leader's data was replaced) rebuilds from seq 0.
//
// Until the first catch-up after start or a rebuild, the state is a prefix of the
// leader's: it could still hold a trust pair the leader has since revoked. So until
// then the policy fails closed: may_punch says no and node_key says "unknown" (the
// engine falls back to the Discover key). Afterwards it answers from what it has,
// also while the leader is unreachable (the last known state; reconnecting resumes).
//
// Threads: the beacon's reader threads call may_punch/node_key with the state's
// RwMutex held shared; the loop thread applies each record holding it exclusively
// (writer-preferring, core/rw_mutex.h, as in LogPolicy's header).
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/rw_mutex.h"
#include "net/beacon/beacon.h"
#include "net/beacon/log_policy.h"
#include "net/replication/consumer.h"
#include "net/replication/follower.h"
#include "projections/state.h"

namespace pilot::beacon {

class ReplicatedPolicy : public Policy {
 public:
  struct Options {
    std::string leader_addr;  // host:port of the leader's --repl-addr
    std::string token;        // its --repl-token
  };
  explicit ReplicatedPolicy(Options opts);
  ~ReplicatedPolicy() override;  // stop()
  ReplicatedPolicy(const ReplicatedPolicy&) = delete;
  ReplicatedPolicy& operator=(const ReplicatedPolicy&) = delete;

  // Starts the loop thread (connecting, streaming). "" or why it cannot start.
  std::string start();
  // Closes the connection and joins the thread; logs the final line ("beacon: log
  // consumer stopped at seq N …"). Idempotent.
  void stop();

  bool may_punch(uint32_t requester, uint32_t target) override;
  std::optional<PublicKey> node_key(uint32_t id) override;

  // Caught up with the leader at least once since the start or the last rebuild.
  bool ready() const { return ready_.load(std::memory_order_acquire); }

 private:
  void on_stop_requested();
  std::string make_snapshot_dir();  // "" or why not

  Options opts_;
  std::string snapshot_dir_;  // the private directory a leader's snapshot is received in
  State state_;
  RwMutex mu_;
  LogPolicy log_policy_;
  repl::StateConsumer consumer_;
  uv_loop_t loop_{};
  uv_async_t stop_async_{};
  std::unique_ptr<repl::Follower> follower_;
  std::thread thread_;
  std::atomic<bool> ready_{false};
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace pilot::beacon
