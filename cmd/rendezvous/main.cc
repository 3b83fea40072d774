// rendezvous: the Pilot control-plane server (spec/rendezvous.md §17.1). The work is
// in cmd/host (data directory, loop, snapshots, shutdown) and net/rpc (the registry).
#include <cstdio>

#include "cmd/host/host.h"

int main(int argc, char** argv) {
  using namespace pilot;
  HostConfig cfg;
  Flags flags("rendezvous",
              "Pilot Protocol rendezvous server (control plane): the registry on TCP (JSON and binary RPC).\n"
              "State lives in an event log with SQLite snapshots in the data directory. SIGTERM/SIGINT: answer\n"
              "requests in flight, sync the log, snapshot, exit 0.");
  add_storage_flags(flags, cfg);
  flags.add_string(&cfg.beacon_addr, "beacon-addr", nullptr,
                   "beacon address; also the endpoint handed out for relay-only nodes (use the public ip:port)");
  rpc::add_registry_flags(flags, cfg.registry, "registry-addr");
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
