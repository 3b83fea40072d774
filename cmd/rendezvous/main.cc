// rendezvous: the Pilot control-plane server (spec/rendezvous.md §17.1). The work is
// in cmd/host (data directory, loop, snapshots, shutdown), net/rpc (the registry) and
// net/beacon (the embedded beacon; its flags are shared with cmd/beacon).
#include <cstdio>
#include <string_view>

#include "cmd/host/host.h"
#include "cmd/rendezvous/promote_command.h"

int main(int argc, char** argv) {
  using namespace pilot;
  // `rendezvous promote ...`: a client of a running server, not a server.
  if (argc > 1 && std::string_view(argv[1]) == "promote") return run_promote_command(argc - 1, argv + 1);
  HostConfig cfg;
  cfg.run_beacon = true;
  cfg.run_admin = true;
  Flags flags("rendezvous",
              "Pilot Protocol rendezvous server (control plane): the registry on TCP (JSON and binary RPC) and the\n"
              "embedded beacon on UDP (discovery, hole punching, relay), its punch policy fed by the registry's\n"
              "state, and the admin HTTP server (dashboard, REST API, /metrics, /healthz, /readyz). State lives in an\n"
              "event log with SQLite snapshots in the data directory. SIGTERM/SIGINT:\n"
              "stop the beacon, answer requests in flight, sync the log, snapshot, exit 0.\n"
              "`rendezvous promote --help`: make a running follower the leader.");
  add_storage_flags(flags, cfg);
  flags.add_bool(&cfg.run_beacon, "beacon", nullptr,
                 "run the embedded beacon on --beacon-addr (false: no UDP port; --beacon-addr is still handed out "
                 "for relay-only nodes)");
  beacon::add_beacon_flags(flags, cfg.beacon, beacon::BeaconRole::kEmbedded);
  rpc::add_registry_flags(flags, cfg.registry, "registry-addr");
  admin::add_admin_flags(flags, cfg.admin);
  admin::add_outbound_flags(flags, cfg.outbound);
  switch (flags.parse(argc, argv)) {
    case Flags::Result::kHelp: std::fputs(flags.usage().c_str(), stdout); return 0;
    case Flags::Result::kError: std::fprintf(stderr, "rendezvous: %s\n", flags.error().c_str()); return 2;
    case Flags::Result::kOk: break;
  }
  if (!flags.positional().empty()) {
    std::fprintf(stderr, "rendezvous: unexpected argument \"%s\" (see --help)\n", flags.positional()[0].c_str());
    return 2;
  }
  if (std::string why = check_storage_flags(cfg); !why.empty()) {
    std::fprintf(stderr, "rendezvous: %s\n", why.c_str());
    return 2;
  }
  return run_host(cfg);
}
