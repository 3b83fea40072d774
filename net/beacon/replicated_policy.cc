#include "net/beacon/replicated_policy.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/logging.h"
#include "net/replication/snapshot_messages.h"
#include "projections/snapshot.h"

namespace pilot::beacon {

ReplicatedPolicy::ReplicatedPolicy(Options opts)
    : opts_(std::move(opts)), log_policy_(state_, mu_), consumer_(state_, mu_) {}

ReplicatedPolicy::~ReplicatedPolicy() { stop(); }

std::string ReplicatedPolicy::start() {
  if (started_) return "";
  if (int rc = uv_loop_init(&loop_); rc != 0) return std::string("uv_loop_init: ") + uv_strerror(rc);
  started_ = true;
  uv_async_init(&loop_, &stop_async_,
                [](uv_async_t* a) { static_cast<ReplicatedPolicy*>(a->data)->on_stop_requested(); });
  stop_async_.data = this;
  repl::FollowerOptions fo;
  fo.leader_addr = opts_.leader_addr;
  fo.token = opts_.token;
  follower_ = std::make_unique<repl::Follower>(&loop_, consumer_, fo);
  follower_->set_on_caught_up([this](uint64_t seq) {
    if (!ready_.exchange(true, std::memory_order_acq_rel))
      LOG_INFO("beacon: policy ready: the log is applied up to seq %llu", (unsigned long long)seq);
  });
  follower_->set_rewind_handler([this](const repl::Rewind& m) {
    // No log to cut: what we hold is a state, and the leader says our last record is
    // not on its log. Start over from its first record (the stream repeats the state).
    LOG_WARN(
        "beacon: the leader's log (term %llu) does not hold our seq %llu: rebuilding the policy's state from seq 0 "
        "(strict punches refused until caught up)",
        (unsigned long long)m.term, (unsigned long long)consumer_.last_seq());
    ready_.store(false, std::memory_order_release);
    consumer_.reset();
    return true;
  });
  // A leader with --log-retention may no longer have our next record (a fresh beacon
  // wants seq 1): it sends its snapshot instead, received into a temporary file and
  // loaded into memory; the stream goes on from the snapshot's seq.
  if (std::string why = make_snapshot_dir(); !why.empty())
    LOG_WARN("beacon: %s: a leader whose retention deleted the start of its log cannot be followed", why.c_str());
  else
    follower_->set_snapshot_handler(snapshot_dir_ + "/snapshot.db", [this](const std::string& path,
                                                                           const repl::SnapshotEnd& end) {
      std::string err;
      std::optional<State> loaded = load_snapshot(path, &err);
      ::unlink(path.c_str());
      if (!loaded || loaded->last_seq != end.last_seq || loaded->last_hash != end.last_hash) {
        LOG_ERROR("beacon: the leader's snapshot at seq %llu does not load: %s; retrying",
                  (unsigned long long)end.last_seq, loaded ? "its meta differs from the transfer's end" : err.c_str());
        return false;
      }
      consumer_.replace(std::move(*loaded));
      LOG_INFO("beacon: loaded the leader's snapshot at seq %llu (term %llu); streaming the log from there",
               (unsigned long long)end.last_seq, (unsigned long long)end.term);
      return true;
    });
  // Handles are set up here, before the thread runs the loop: from now on only the
  // loop thread touches them (stop() wakes it through the async handle).
  follower_->start();
  thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  return "";
}

// A private directory (0700, from mkdtemp) under $TMPDIR or /tmp for the snapshot a
// leader may send: the beacon has no data directory, and a fixed name in a shared
// /tmp could be a symlink planted by another user.
std::string ReplicatedPolicy::make_snapshot_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/pilot-beacon-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    return "cannot create a directory for the leader's snapshot: " + std::string(strerror(errno));
  snapshot_dir_ = tmpl;
  return "";
}

void ReplicatedPolicy::on_stop_requested() {
  follower_->stop([this] { uv_close(reinterpret_cast<uv_handle_t*>(&stop_async_), nullptr); });
}

void ReplicatedPolicy::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  uv_async_send(&stop_async_);
  thread_.join();
  uv_loop_close(&loop_);
  if (!snapshot_dir_.empty()) {
    ::unlink((snapshot_dir_ + "/snapshot.db").c_str());  // a transfer cut short by the stop
    ::rmdir(snapshot_dir_.c_str());
  }
  LOG_INFO(
      "beacon: log consumer stopped at seq %llu, term %llu (%llu records applied since start, %llu connections, "
      "%llu rebuilds)",
      (unsigned long long)consumer_.last_seq(), (unsigned long long)consumer_.term(),
      (unsigned long long)consumer_.applied_total(), (unsigned long long)follower_->connections(),
      (unsigned long long)consumer_.resets());
}

bool ReplicatedPolicy::may_punch(uint32_t requester, uint32_t target) {
  return ready() && log_policy_.may_punch(requester, target);
}

std::optional<PublicKey> ReplicatedPolicy::node_key(uint32_t id) {
  if (!ready()) return std::nullopt;
  return log_policy_.node_key(id);
}

}  // namespace pilot::beacon
