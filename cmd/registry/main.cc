// registry: the minimal registry used by test fixtures (spec §17.2) — the same
// registry as `rendezvous`, without beacon or admin HTTP. With no --data-dir it keeps
// its state in a fresh temporary directory that is removed on exit.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cmd/host/host.h"

int main(int argc, char** argv) {
  using namespace pilot;
  HostConfig cfg;
  cfg.program = "registry";
  cfg.data_dir = "";
  cfg.beacon.addr = "34.71.57.205:9001";
  Flags flags("registry",
              "Minimal Pilot registry for test fixtures: the registry port only (JSON and binary RPC), state in\n"
              "an event log. Without --data-dir the state lives in a temporary directory removed at exit.");
  add_storage_flags(flags, cfg);
  flags.add_string(&cfg.beacon.addr, "beacon", "PILOT_BEACON", "beacon address handed out for relay-only nodes");
  rpc::add_registry_flags(flags, cfg.registry, "addr");
  switch (flags.parse(argc, argv)) {
    case Flags::Result::kHelp: std::fputs(flags.usage().c_str(), stdout); return 0;
    case Flags::Result::kError: std::fprintf(stderr, "registry: %s\n", flags.error().c_str()); return 2;
    case Flags::Result::kOk: break;
  }
  if (!flags.positional().empty()) {
    std::fprintf(stderr, "registry: unexpected argument \"%s\" (see --help)\n", flags.positional()[0].c_str());
    return 2;
  }
  if (std::string why = check_storage_flags(cfg); !why.empty()) {
    std::fprintf(stderr, "registry: %s\n", why.c_str());
    return 2;
  }
  std::string temp;
  if (cfg.data_dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pilot-registry-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      std::perror("registry: cannot create a temporary data directory");
      return 1;
    }
    temp = cfg.data_dir = tmpl;
  }
  int rc = run_host(cfg);
  if (!temp.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp, ec);
  }
  return rc;
}
