// SQLite snapshots of a State (library pilot_snapshot; the projections themselves stay
// free of I/O). One table per projection collection plus
// meta(last_seq, last_hash, term, next_node, next_net, format_version); list-valued
// columns (tags, lan_addrs, allowed_ports) are BLOBs in the core/codec.h encoding.
// Derived indexes (hostname, network names, memberships per node, invites per sender)
// are not stored: load rebuilds them, which also re-checks the invariants they rest on.
#pragma once

#include <optional>
#include <string>

#include "projections/state.h"

namespace pilot {

inline constexpr int kSnapshotFormatVersion = 1;

// Writes `state` to `path` atomically: a fresh `path`.tmp is written in one
// transaction, fsync'd, renamed over `path`, and the directory fsync'd. A crash leaves
// either the old file or the new one (plus maybe a stale .tmp, replaced next time).
// Throws std::runtime_error on any SQLite or file-system failure (`path` is then
// untouched). Reads `state` only, so it may run on a copy in another thread.
void save_snapshot(const State& state, const std::string& path);

// nullopt, with a reason in *error (if non-null), when the file is missing, is not a
// snapshot, has another format_version, or holds inconsistent data.
std::optional<State> load_snapshot(const std::string& path, std::string* error);

}  // namespace pilot
