// The follower's side of log shipping at the byte level: records received from the
// leader become records of the local log and changes of the local state — or are
// refused before anything is written.
//
// For each record of a records frame, in order:
//   1. framing and CRC (log::parse_record): the bytes are what the leader wrote;
//   2. sequence, term and hash chain against the local log's last record
//      (log::check_chain): it continues exactly where this log ends — no gap, no
//      duplicate, no record from another history;
//   3. the payload decodes to an event this build knows;
//   4. Writer::append_raw with the leader's term and time. The writer frames it anew,
//      and since seq, term, time, kind, payload and the previous hash are the leader's,
//      the chain hash must come out the leader's too: that is checked, and a mismatch
//      aborts the process (the local log would hold a record the leader never wrote);
//   5. State::apply, as a restart would replay it — holding `state_mu` exclusively, the
//      registry's state mutex (net/rpc/registry.h), since the embedded beacon reads
//      the same projections from its own threads.
// The first failure stops the frame: earlier records stay (they were valid and are
// in the log), nothing after it is touched, and the caller drops the connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/rw_mutex.h"
#include "log/writer.h"
#include "net/replication/record_sink.h"
#include "projections/state.h"

namespace pilot::repl {

// Steps 1–3 for the record at the front of `bytes`, which must continue the chain
// ending at (last_seq, last_hash, term). "" with `r`, `used` (its size) and `event`
// set, or what is wrong with it. Shared by the Applier and the consumer (consumer.h),
// so a record a consumer takes is exactly one a follower would take.
std::string check_record(std::string_view bytes, uint64_t last_seq, const log::Hash& last_hash, uint64_t term,
                         log::Record& r, size_t& used, std::optional<Event>& event);

class Applier : public RecordSink {
 public:
  Applier(State& state, RwMutex& state_mu, log::Writer& writer) : state_(state), state_mu_(state_mu), writer_(writer) {}

  // Applies every record in `bytes` (a records frame body). Returns "" or what is wrong
  // with the first record that was refused; `applied` counts the records taken.
  std::string apply(std::string_view bytes, uint64_t& applied) override;

  // The local log's end and durability (RecordSink).
  uint64_t last_seq() const override { return writer_.last_seq(); }
  const log::Hash& last_hash() const override { return writer_.last_hash(); }
  uint64_t term() const override { return writer_.term(); }
  uint64_t durable_seq() const override { return writer_.durable_seq(); }
  void on_durable(uint64_t seq, std::function<void(uint64_t)> cb) override { writer_.on_durable(seq, std::move(cb)); }
  bool keeps_log() const override { return true; }

 private:
  State& state_;
  RwMutex& state_mu_;
  log::Writer& writer_;
};

}  // namespace pilot::repl
