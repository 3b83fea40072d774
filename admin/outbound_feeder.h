// Feeds one outbound channel (the webhook, or the audit export) from the audit view,
// on the loop thread.
//
// Each tick takes the audit entries after the last one fed (AuditLog::since), stops at
// the first one that is not durable yet — an entry must never leave the process
// before its record is on disk — and pushes the rest to the channel's OutboundQueue
// while it has room.
//
// The channel's target is state (State::settings) and every change of it is an audit
// entry of the channel's configure action (webhook.configured,
// audit_export.configured), so the entry stream itself says where the target
// changes: entries up to and including a configure entry go to the old target, those
// after it to the new one (the queue gets a marker there and drains the old target's
// backlog for at most 5 s). A configure entry that is not the newest one (the target
// was replaced again before a tick saw it) names a target we never knew: the entries
// after it, up to the next configure entry, are dropped and counted.
//
// Restart: resume() starts from the queue's cursor file. If it names the configured
// target, feeding continues right after it; if not (first start, or the target was
// changed), the stream is followed from the cursor as above, so the new target gets
// exactly the entries after its configure entry. Entries the 1000-entry view no longer
// holds are counted as dropped and logged.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "admin/outbound_queue.h"
#include "projections/audit.h"
#include "projections/state.h"

namespace pilot::admin {

// A channel's target as configured in the settings.
struct ChannelTarget {
  std::string key;          // the whole configuration, compared in memory ("" = disabled)
  std::string fingerprint;  // what the cursor file records: no secrets ("" = disabled)
  std::string description;  // for log lines
  // Builds the sink (called when the target becomes active); null = cannot (logged).
  std::function<std::shared_ptr<OutboundSink>()> make;
};

class OutboundFeeder {
 public:
  using TargetOf = std::function<ChannelTarget(const Settings&)>;

  OutboundFeeder(std::string name, AuditAction configure_action, TargetOf target_of, OutboundQueue& queue);

  // Loop thread, once, before the first tick.
  void resume(const State& state, const OutboundCursor& cursor);
  // Loop thread.
  void tick(const State& state, uint64_t durable_seq);

  // Loop thread (tests, logs).
  uint64_t fed_seq() const { return fed_seq_; }
  bool delivering() const { return mode_ == Mode::kDeliver; }

 private:
  enum class Mode {
    kOff,      // no target: entries are passed over
    kDeliver,  // entries go to sink_
    kLost,     // the target was replaced before we knew it: entries are dropped
  };

  // Makes `t` the active target from after (seq, ordinal) on, with a marker in the queue.
  void switch_to(const ChannelTarget& t, uint64_t seq, uint64_t ordinal);
  // "From after (seq, ordinal) on, the target is active_fingerprint_".
  void push_marker(uint64_t seq, uint64_t ordinal);
  void count_dropped(uint64_t n, const char* why);

  const std::string name_;
  const AuditAction configure_;
  const TargetOf target_of_;
  OutboundQueue& queue_;

  Mode mode_ = Mode::kOff;
  std::string active_key_;
  std::string active_fingerprint_;
  std::shared_ptr<OutboundSink> sink_;
  uint64_t fed_seq_ = 0;
  uint64_t fed_ordinal_ = 0;  // 0 = unknown
};

}  // namespace pilot::admin
