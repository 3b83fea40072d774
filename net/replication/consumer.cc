#include "net/replication/consumer.h"

#include <mutex>

#include "core/logging.h"
#include "net/replication/applier.h"

namespace pilot::repl {

std::string StateConsumer::apply(std::string_view bytes, uint64_t& applied) {
  applied = 0;
  std::string bad = apply_records(bytes, applied);
  // A debug line per frame: what an operator (or a test) follows the stream by.
  if (applied)
    LOG_DEBUG("replication: applied records %llu..%llu", (unsigned long long)(state_.last_seq - applied + 1),
              (unsigned long long)state_.last_seq);
  return bad;
}

std::string StateConsumer::apply_records(std::string_view bytes, uint64_t& applied) {
  if (bytes.empty()) return "empty records frame";
  log::Record r;
  std::optional<Event> event;
  for (size_t pos = 0; pos < bytes.size();) {
    size_t used = 0;
    if (std::string bad =
            check_record(bytes.substr(pos), state_.last_seq, state_.last_hash, state_.term, r, used, event);
        !bad.empty())
      return bad;
    {
      std::unique_lock lock(mu_);
      state_.apply(r.meta(), *event);
      state_.last_hash = r.hash;
    }
    ++applied;
    applied_total_.fetch_add(1, std::memory_order_relaxed);
    pos += used;
  }
  return "";
}

void StateConsumer::on_durable(uint64_t seq, std::function<void(uint64_t)> cb) {
  // Applied is durable here, and the Follower asks only about records it has applied.
  if (cb) cb(seq);
}

void StateConsumer::reset() {
  std::unique_lock lock(mu_);
  state_ = State{};
  resets_.fetch_add(1, std::memory_order_relaxed);
}

void StateConsumer::replace(State&& snapshot) {
  std::unique_lock lock(mu_);
  state_ = std::move(snapshot);
}

}  // namespace pilot::repl
