// Where the records a Follower receives go. Two kinds of receiver speak the same
// protocol (PROTOCOL.md):
//
//   * a follower's Applier (applier.h): each record is checked, appended to the local
//     log and applied to the state; acks say what the local log has made durable, and
//     a sync-mode leader counts them;
//   * a consumer (consumer.h): each record is checked and applied to an in-memory
//     state, nothing is written anywhere. The standalone beacon is one
//     (net/beacon/replicated_policy.h). Its hello says so, and the leader neither
//     counts it as a follower nor its acks as durability.
//
// Both check a record the same way before taking it (check_record, applier.h). All of
// it runs on the Follower's loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "log/format.h"

namespace pilot::repl {

class RecordSink {
 public:
  virtual ~RecordSink() = default;

  // Where the chain ends: what the hello announces (resume after it).
  virtual uint64_t last_seq() const = 0;
  virtual const log::Hash& last_hash() const = 0;
  virtual uint64_t term() const = 0;
  // What an ack may say: records up to here survive a crash of this process (for a
  // consumer: records applied, which is all it promises).
  virtual uint64_t durable_seq() const = 0;
  // Calls `cb` once durable_seq() >= seq (only asked while durable_seq() < seq).
  virtual void on_durable(uint64_t seq, std::function<void(uint64_t)> cb) = 0;
  // Checks and takes every record of a records frame, in order. "" or what is wrong
  // with the first record refused (nothing after it is touched); `applied` counts the
  // records taken.
  virtual std::string apply(std::string_view records, uint64_t& applied) = 0;
  // False for a consumer (no log of its own): its hello carries the consumer flag.
  virtual bool keeps_log() const = 0;
};

}  // namespace pilot::repl
