// The numbers the dashboard, /healthz and the stats routes show, gathered in one pass
// on the loop thread (through the LoopBridge) and then handed to HTTP threads as a
// plain value.
//
// Counting online nodes and versions walks every node (1M nodes: a few ms), so a
// collected Overview is reused for up to a second: fifty dashboards polling cost the
// loop one walk per second, not fifty.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "admin/admin_server.h"

namespace pilot::admin {

struct Overview {
  int64_t collected_unix_ns = 0;
  uint64_t total_nodes = 0;   // ever registered (next_node − 1), as the reference
  uint64_t live_nodes = 0;    // registered and not expired
  uint64_t online_nodes = 0;  // heartbeat within the stale threshold
  uint64_t networks = 0;      // excluding the backbone
  uint64_t enterprise_networks = 0;
  uint64_t trust_links = 0;
  uint64_t total_requests = 0;
  uint64_t total_errors = 0;
  std::map<std::string, uint64_t> versions;  // live nodes by reported version
  uint64_t last_seq = 0;
  uint64_t durable_seq = 0;
  uint64_t term = 0;
  std::string role;  // leader | follower | standalone
  bool standby = false;
  bool follower_streaming = false;
  uint64_t leader_durable_seq = 0;  // follower: what the leader last said it had
  uint64_t followers = 0;           // leader: connected followers
  uint64_t consumers = 0;           // leader: connected log consumers (standalone beacons)
  uint64_t go_standbys = 0;         // leader: Go standbys on subscribe_replication
  uint64_t follower_acked_seq = 0;  // leader: highest seq a follower acknowledged
  uint64_t registry_connections = 0;
  // Embedded beacon (zero without it).
  bool beacon = false;
  uint64_t beacon_nodes = 0;
  uint64_t relay_forwarded = 0;
  uint64_t relay_dropped = 0;
  uint64_t relay_not_found = 0;
};

// Loop thread only. `cache` keeps the last result (owned by the caller, loop thread).
const Overview& collect_overview(const AdminContext& ctx, Overview& cache, int64_t now_unix_ns);

}  // namespace pilot::admin
