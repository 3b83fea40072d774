// The node reaper (spec §16): a node not heard from (heartbeat or register) for longer
// than the stale threshold is expired by a NodeExpired event. Expiry frees its
// hostname and backbone membership; its ID stays bound to its key and owner, and its
// custom-network memberships stay, so the same identity gets them back on return.
// The server runs this every --reap-interval (default 10 s) on the loop thread.
#pragma once

#include <cstddef>

#include "net/rpc/registry.h"

namespace pilot::rpc {

// Expires at most `max` stale nodes (the reference's 10,000 per tick, so a mass expiry
// is spread over several ticks instead of stalling the loop). Returns how many.
size_t reap_stale_nodes(Registry& reg, size_t max = 10000);

}  // namespace pilot::rpc
