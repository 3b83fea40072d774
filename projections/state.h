// The whole in-memory state of a rendezvous: every projection plus the position in the
// log it reflects. state = fold(apply, snapshot, events after the snapshot).
//
// apply is deterministic (no clock, randomness or I/O: times come from EventMeta) and
// total (any event, including one naming unknown nodes or networks, leaves a valid
// state; see README.md for what each projection does with such events).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/events.h"
#include "projections/audit.h"
#include "projections/directory.h"
#include "projections/networks.h"
#include "projections/settings.h"
#include "projections/trust.h"

namespace pilot {

struct State {
  Directory directory;
  Networks networks;
  Trust trust;
  Settings settings;
  AuditLog audit;                       // the audit view (spec §12): last entries, chain head, counts
  uint64_t last_seq = 0;                // seq of the last applied record (0 = none)
  std::array<uint8_t, 32> last_hash{};  // its chain hash: set by the log layer, not by apply
  uint64_t term = 0;                    // term of the last applied record

  // Applies one event to every projection it concerns (the audit view first: it
  // reads the state before the event), then sets last_seq and term from `m`. Does
  // not check that seq follows last_seq (the log reader does).
  void apply(const EventMeta& m, const Event& e);

  bool operator==(const State&) const = default;

  // Everything, as sorted text, one fact per line: for tests and debugging (it is
  // large for a big state).
  std::string debug_dump() const;
};

}  // namespace pilot
