#include "net/rpc/registry.h"

#include <chrono>
#include <mutex>

#include "log/writer.h"

namespace pilot::rpc {

Registry::Registry(State& state, log::Writer* writer, RegistryOptions opts, Clock clock)
    : state_(state), writer_(writer), opts_(std::move(opts)), clock_(std::move(clock)) {
  // Nodes restored from the log get a full stale window from now: their last
  // heartbeat was not logged, and a restart must not expire everyone at once.
  const int64_t now = now_ns();
  for (auto [id, node] : state_.directory.nodes()) live_.touch(id, now);
}

int64_t Registry::system_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t Registry::emit(const Event& e) {
  if (standby_) throw OpError(kStandbyError);
  if (!refusal_.empty()) {
    ++refusals_;
    throw OpError(refusal_);
  }
  const int64_t t = now_ns();
  uint64_t seq;
  uint64_t term;
  if (writer_) {
    seq = writer_->append(e, t);
    term = writer_->term();
  } else {
    seq = state_.last_seq + 1;
    term = state_.term;
  }
  std::unique_lock lock(state_mu_);
  state_.apply(EventMeta{seq, term, t}, e);
  if (writer_) state_.last_hash = writer_->last_hash();
  return seq;
}

uint64_t Registry::visible_seq() const { return writer_ ? writer_->last_seq() : state_.last_seq; }

bool Registry::verify(const PublicKey& key, std::string_view challenge, const Signature& sig) {
  const auto d = VerifyCache::digest(key, challenge, sig);
  if (cache_.contains(d)) {
    ++cache_.hits;
    ++counters_.signatures_ok;
    return true;
  }
  ++cache_.misses;
  if (!ed25519_verify(key, challenge, sig)) {
    ++counters_.signatures_failed;
    return false;
  }
  ++counters_.signatures_ok;
  cache_.insert(d);
  return true;
}

}  // namespace pilot::rpc
