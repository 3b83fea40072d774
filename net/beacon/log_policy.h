// The embedded beacon's Policy (beacon.h), answered from the rendezvous's projections —
// state that the event log builds — so the beacon decides with what the registry
// knows, without an RPC per packet (ARCHITECTURE.md §6):
//
//   node_key(id)              the node's current Ed25519 key in the directory (live
//                             nodes only; rotations apply at once). Punch grants are
//                             checked against it before the first-write-wins key of a
//                             Discover trailer, so a stranger who won the Discover race
//                             cannot sign grants for a node the registry knows.
//   may_punch(requester, t)   --punch-auth=strict (issue 4 item 5): yes if the target is
//                             public, or the two ids are a trust pair, or both are
//                             members of a custom (non-backbone) network. Trust pairs
//                             and memberships are identity-level, so they count for a
//                             node that expired and came back.
//   breaker_open              the host's breakers beacon.discover / beacon.punch /
//                             beacon.relay (spec §15), when it hands a check in.
//
// Thread safety. The beacon calls these on its reader threads, concurrently, while
// the loop thread applies events to the same projections. Two designs were possible:
// a second, beacon-only projection fed by an event observer, or reading the real one
// under a lock. This reads the real one: a copy of every key, trust pair and
// membership would cost tens of MB at 500,000 nodes and would be one more thing to
// keep exact across restore, snapshots and follower replay. So every read here holds
// `mu` shared, and every apply holds it exclusively — Registry::emit and the follower's
// Applier (net/rpc/registry.h); the loop thread, the only writer, reads without it.
// Readers therefore never see a half-applied event. What a reader holds is short (a
// few hash lookups, O(networks the two ids are in)), the engine asks only after the
// punch rate limits (10/s in all, 1/s per IP) and only in strict or grant mode, and
// `mu` lets a waiting apply in before new readers (core/rw_mutex.h): even a flood from
// whitelisted sources delays an apply by at most the reads in progress.
#pragma once

#include <functional>
#include <optional>

#include "core/rw_mutex.h"
#include "net/beacon/beacon.h"
#include "projections/state.h"

namespace pilot::beacon {

class LogPolicy : public Policy {
 public:
  // `state` and `mu` must outlive the policy; `mu` must be held exclusively by whoever
  // applies events to `state` once the beacon runs.
  // `breaker_open` (may be empty: never open) must be thread-safe.
  LogPolicy(const State& state, RwMutex& mu, std::function<bool(Breaker)> breaker_open = {})
      : state_(state), mu_(mu), breaker_open_(std::move(breaker_open)) {}

  bool may_punch(uint32_t requester, uint32_t target) override;
  std::optional<PublicKey> node_key(uint32_t id) override;
  bool breaker_open(Breaker b) override { return breaker_open_ && breaker_open_(b); }

 private:
  const State& state_;
  RwMutex& mu_;
  std::function<bool(Breaker)> breaker_open_;
};

}  // namespace pilot::beacon
