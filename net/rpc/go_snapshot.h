// The reference's snapshot document (spec §8.1, version 1), rendered from our
// projections: what a Go standby receives inside `replication_snapshot` (spec §9.2)
// and what the Go server would write as its -store file for the same state.
//
// A Go server checks the checksum by re-encoding the decoded document, so the bytes
// must be exactly what Go's encoding/json writes for its snapshot structs: members in
// struct order, `omitempty` members left out when zero, map keys (decimal IDs,
// base64 keys) in byte order as strings ("10" before "9"), HTML escaping off, and
// `checksum` last: the lowercase hex SHA-256 of the document without it.
//
// What we have no equivalent for is left out as Go leaves out a zero value: the
// dashboard counters and history, probe states, `task_exec`, `request_count`. Other
// choices (the document cannot say everything our state says):
//   * nodes: live nodes only (the reference deletes a reaped node); `last_seen` is
//     the later of the last heartbeat (liveness, not state) and the last register;
//   * network members, roles and member tags: live nodes only (an expired node keeps
//     its memberships here, the reference forgets them); network 0 lists every live
//     node, as the reference's backbone does, with the `created` time the caller gives;
//   * `pub_key_idx` holds every key binding, live or not (the reference keeps reaped
//     identities reclaimable the same way);
//   * `rules` and `expr_policy` are written as stored (compact JSON; rules already in
//     the reference's field order).
//
// Pure: reads the state (loop thread, or under the state lock) and nothing else.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "net/rpc/liveness.h"
#include "projections/state.h"

namespace pilot::rpc {

struct GoSnapshotInputs {
  const Liveness* liveness = nullptr;  // last heartbeats; null = last registration only
  int64_t backbone_created_ns = 0;     // `created` of network 0 (unix ns)
};

// The document without `checksum` (what the checksum covers).
std::string go_snapshot_unsigned(const State& s, const GoSnapshotInputs& in);
// Appends `"checksum":"<hex sha256 of doc>"` as the last member of `doc` (a JSON
// object as go_snapshot_unsigned returns it).
void add_go_snapshot_checksum(std::string& doc);
// The full document: go_snapshot_unsigned + add_go_snapshot_checksum.
std::string go_snapshot(const State& s, const GoSnapshotInputs& in);

}  // namespace pilot::rpc
