// What every server binary does around its services: open the data directory
// (recover the log, load the snapshot, replay the tail), run the registry on a libuv
// loop with its durability wake-ups, keep snapshots fresh in the background, and shut
// down cleanly on SIGTERM/SIGINT (stop accepting, answer what was asked, sync the log,
// snapshot, exit 0). `rendezvous` and the `registry` fixture differ only in flags and
// defaults.
//
// Replication (rendezvous only, net/replication/README.md): with --repl-token the
// host is a leader and also runs the replication listener; with --follow it is a
// follower — the log and state come from the leader, the registry answers read ops
// only, and no reaper runs — until POST /api/admin/promote makes it the leader of a
// new term. A leader that hears of a higher term is fenced (refuses writes); a
// follower whose log diverged cuts its tail (net/replication/README.md, "Failover").
//
// The embedded beacon (rendezvous only, unless --beacon=false): the beacon engine and
// its UDP server on --beacon-addr, with the event-log policy (net/beacon/log_policy.h)
// reading this host's state — on a follower too, where the state is the replicated one.
// It is stopped first on SIGTERM, before the registry drains and the log closes.
//
// The admin HTTP server (rendezvous only, --http): its handlers read through a
// LoopBridge posted to this loop (admin/loop_bridge.h). On SIGTERM /readyz turns 503,
// the bridge closes (queries in flight get 503) and the server stops before anything
// else, so no HTTP thread waits on a loop that is winding down.
//
// The outbound side (rendezvous only, not on a follower; admin/outbound.h): the audit
// webhook and the live audit export, fed from this loop. It drains (at most 5 s) once
// the log is closed on SIGTERM, so everything durable has had its chance to go out.
#pragma once

#include <cstdint>
#include <string>

#include "admin/admin_server.h"
#include "admin/outbound.h"
#include "core/flags.h"
#include "net/beacon/beacon_flags.h"
#include "net/replication/config.h"
#include "net/rpc/service.h"

namespace pilot {

struct HostConfig {
  std::string program = "rendezvous";  // for log lines
  std::string data_dir = "pilot-data";
  std::string fsync = "always";
  uint64_t segment_mb = 64;
  uint64_t snapshot_every = 100000;
  uint64_t snapshot_interval_s = 300;
  // Segments fully covered by snapshot.db: "all" kept, or how many of them to keep
  // (log/retention.h).
  std::string log_retention = "all";
  std::string log_level = "info";
  std::string log_format = "text";  // or json (core/log_format.h)
  // beacon.addr is handed out as the endpoint of relay-only nodes either way; the other
  // values matter only with run_beacon.
  beacon::BeaconFlags beacon;
  bool run_beacon = false;
  rpc::ServiceOptions registry;
  repl::ReplicationConfig replication;
  // The admin HTTP server (rendezvous only; admin.http_addr "" = off).
  bool run_admin = false;
  admin::AdminOptions admin;
  // The audit webhook and live audit export (rendezvous only, never on a follower).
  admin::OutboundOptions outbound;
};

// --data-dir, --fsync, --segment-mb, --snapshot-every, --snapshot-interval, --log-retention,
// --log-level;
// for `rendezvous` (cfg.program) also the replication flags (net/replication/config.h).
void add_storage_flags(Flags& flags, HostConfig& cfg);
// "" if the values make sense, else the message for stderr.
std::string check_storage_flags(const HostConfig& cfg);

// Runs until SIGTERM/SIGINT; returns the process exit code.
int run_host(HostConfig cfg);

}  // namespace pilot
