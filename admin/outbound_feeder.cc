#include "admin/outbound_feeder.h"

#include <algorithm>

#include "core/logging.h"

namespace pilot::admin {

namespace {

// Never equal to a configured key: "whatever the target was, it is not the current one".
const std::string kUnknownKey = std::string("\x01unknown");

}  // namespace

OutboundFeeder::OutboundFeeder(std::string name, AuditAction configure_action, TargetOf target_of, OutboundQueue& queue)
    : name_(std::move(name)), configure_(configure_action), target_of_(std::move(target_of)), queue_(queue) {}

void OutboundFeeder::count_dropped(uint64_t n, const char* why) {
  if (n == 0 || mode_ == Mode::kOff) return;
  queue_.add_dropped(n);
  LOG_WARN("%s: %llu audit entries dropped: %s", name_.c_str(), (unsigned long long)n, why);
}

void OutboundFeeder::push_marker(uint64_t seq, uint64_t ordinal) {
  OutboundItem marker;
  marker.entry.seq = seq;
  marker.ordinal = ordinal;
  marker.target = active_fingerprint_;
  queue_.push(std::move(marker));  // the caller made room
}

void OutboundFeeder::switch_to(const ChannelTarget& t, uint64_t seq, uint64_t ordinal) {
  active_key_ = t.key;
  active_fingerprint_ = t.fingerprint;
  sink_.reset();
  mode_ = Mode::kOff;
  if (!t.key.empty()) {
    sink_ = t.make ? t.make() : nullptr;
    mode_ = sink_ ? Mode::kDeliver : Mode::kLost;
  }
  push_marker(seq, ordinal);
  switch (mode_) {
    case Mode::kDeliver:
      LOG_INFO("%s: delivering to %s (audit entries after seq %llu)", name_.c_str(), t.description.c_str(),
               (unsigned long long)seq);
      break;
    case Mode::kOff: LOG_INFO("%s: disabled after seq %llu", name_.c_str(), (unsigned long long)seq); break;
    case Mode::kLost:
      LOG_ERROR("%s: cannot deliver to %s: its entries are dropped until it is reconfigured", name_.c_str(),
                t.description.c_str());
      break;
  }
}

void OutboundFeeder::resume(const State& state, const OutboundCursor& cursor) {
  fed_seq_ = cursor.seq;
  fed_ordinal_ = cursor.ordinal;
  const ChannelTarget want = target_of_(state.settings);
  const AuditLog& log = state.audit;
  if (cursor.target == want.fingerprint) {
    active_key_ = want.key;
    active_fingerprint_ = want.fingerprint;
    if (want.key.empty()) return;
    sink_ = want.make ? want.make() : nullptr;
    mode_ = sink_ ? Mode::kDeliver : Mode::kLost;
    LOG_INFO("%s: resuming delivery to %s after seq %llu", name_.c_str(), want.description.c_str(),
             (unsigned long long)cursor.seq);
    return;
  }
  // The cursor belongs to another target (or there is none): follow the stream from
  // it, so the configured target starts right after its configure entry.
  active_key_ = kUnknownKey;
  active_fingerprint_ = cursor.target;
  mode_ = cursor.target.empty() ? Mode::kOff : Mode::kLost;
  const std::vector<AuditEntry> entries = log.since(cursor.seq);
  const bool configured_since =
      std::any_of(entries.begin(), entries.end(), [&](const AuditEntry& e) { return e.action == configure_; });
  if (configured_since) return;
  // The configure entry has left the view: start after the newest entry.
  uint64_t seq = cursor.seq;
  uint64_t ordinal = cursor.ordinal;
  if (const AuditEntry* newest = log.newest(); newest && newest->seq > seq) {
    if (ordinal) count_dropped(log.total() - ordinal, "their target is no longer configured");
    seq = newest->seq;
    ordinal = log.total();
  }
  fed_seq_ = seq;
  fed_ordinal_ = ordinal;
  switch_to(want, seq, ordinal);
}

void OutboundFeeder::tick(const State& state, uint64_t durable_seq) {
  const AuditLog& log = state.audit;
  const AuditEntry* newest = log.newest();
  if (!newest || newest->seq <= fed_seq_ || queue_.room() < 2) return;
  std::vector<AuditEntry> entries = log.since(fed_seq_);
  const uint64_t first_ordinal = log.total() - entries.size() + 1;
  if (fed_ordinal_ != 0 && first_ordinal > fed_ordinal_ + 1) {
    count_dropped(first_ordinal - fed_ordinal_ - 1, "the audit view moved past them before they were fed");
    fed_ordinal_ = first_ordinal - 1;
  }
  size_t last_configure = entries.size();
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].action == configure_) last_configure = i;

  uint64_t lost = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const uint64_t seq = entries[i].seq;
    const bool configures = entries[i].action == configure_;
    // Room for the entry and a marker after it.
    if (seq > durable_seq || queue_.room() < 2) break;
    const uint64_t ordinal = first_ordinal + i;
    if (mode_ == Mode::kDeliver) {
      OutboundItem item;
      item.entry = std::move(entries[i]);
      item.ordinal = ordinal;
      item.target = active_fingerprint_;
      item.sink = sink_;
      queue_.push(std::move(item));
    } else if (mode_ == Mode::kLost) {
      ++lost;
    }
    fed_seq_ = seq;
    fed_ordinal_ = ordinal;
    if (!configures) continue;
    if (i == last_configure) {
      // The newest configure entry: the settings say what it configured.
      const ChannelTarget want = target_of_(state.settings);
      if (want.key != active_key_) switch_to(want, seq, ordinal);
    } else if (active_key_ != kUnknownKey) {
      // Replaced again before we saw it: whatever it pointed at is unknown.
      LOG_WARN("%s: the target set at seq %llu was replaced before it was used", name_.c_str(),
               (unsigned long long)seq);
      active_key_ = kUnknownKey;
      active_fingerprint_.clear();
      sink_.reset();
      mode_ = Mode::kLost;
      push_marker(seq, ordinal);
    }
  }
  count_dropped(lost, "their target was replaced before it was used");
}

}  // namespace pilot::admin
