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
// only, and no reaper runs.
//
// The embedded beacon (rendezvous only, unless --beacon=false): the beacon engine and
// its UDP server on --beacon-addr, with the event-log policy (net/beacon/log_policy.h)
// reading this host's state — on a follower too, where the state is the replicated one.
// It is stopped first on SIGTERM, before the registry drains and the log closes.
#pragma once

#include <cstdint>
#include <string>

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
  std::string log_level = "info";
  // beacon.addr is handed out as the endpoint of relay-only nodes either way; the other
  // values matter only with run_beacon.
  beacon::BeaconFlags beacon;
  bool run_beacon = false;
  rpc::ServiceOptions registry;
  repl::ReplicationConfig replication;
};

// --data-dir, --fsync, --segment-mb, --snapshot-every, --snapshot-interval, --log-level;
// for `rendezvous` (cfg.program) also the replication flags (net/replication/config.h).
void add_storage_flags(Flags& flags, HostConfig& cfg);
// "" if the values make sense, else the message for stderr.
std::string check_storage_flags(const HostConfig& cfg);

// Runs until SIGTERM/SIGINT; returns the process exit code.
int run_host(HostConfig cfg);

}  // namespace pilot
