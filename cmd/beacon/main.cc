// beacon: the standalone Pilot beacon (spec/beacon.md §13.1) — UDP discovery, hole
// punching, relay and gossip between beacons, no registry port. The same engine runs
// embedded in `rendezvous`; this binary is the multi-beacon-mesh deployment. Its flags
// are shared with rendezvous (net/beacon/beacon_flags.h).
//
// With --rendezvous HOST:PORT (a rendezvous leader's --repl-addr) and its
// --repl-token, the beacon keeps node keys, trust pairs and memberships from the
// leader's event log (net/beacon/replicated_policy.h): --punch-auth=strict and
// --punch-grants then decide with what the registry knows. Without it there is no
// policy: open punches as the Go beacon, and strict refuses every punch.
//
// Runs until SIGTERM/SIGINT, then stops the sockets and threads (every thread flushes
// what it holds), logs the final counters and exits 0.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "core/flags.h"
#include "core/logging.h"
#include "net/beacon/beacon_flags.h"
#include "net/beacon/replicated_policy.h"
#include "net/beacon/service.h"

int main(int argc, char** argv) {
  using namespace pilot;
  using namespace pilot::beacon;
  BeaconFlags values;
  std::string log_level = "info";
  Flags flags("beacon",
              "Pilot beacon: UDP discovery (STUN + registration), hole-punch coordination, relay, and gossip\n"
              "with peer beacons. Wire-compatible with the Go daemons and beacons.");
  add_beacon_flags(flags, values, BeaconRole::kStandalone);
  flags.add_string(&log_level, "log-level", nullptr, "debug, info, warn or error");
  switch (flags.parse(argc, argv)) {
    case Flags::Result::kHelp: std::fputs(flags.usage().c_str(), stdout); return 0;
    case Flags::Result::kError: std::fprintf(stderr, "beacon: %s\n", flags.error().c_str()); return 2;
    case Flags::Result::kOk: break;
  }
  auto fail = [](const std::string& why) {
    std::fprintf(stderr, "beacon: %s\n", why.c_str());
    return 2;
  };
  if (!flags.positional().empty()) return fail("unexpected argument \"" + flags.positional()[0] + "\" (see --help)");
  if (!set_log_level(log_level.c_str())) return fail("unknown -log-level \"" + log_level + "\"");
  BeaconSetup setup;
  if (std::string why = make_beacon_setup(values, BeaconRole::kStandalone, setup); !why.empty()) return fail(why);

  // Block the signals before any thread exists so only sigwait below sees them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  // The policy outlives the service (declared first, destroyed last).
  std::unique_ptr<ReplicatedPolicy> policy;
  if (!setup.rendezvous.empty())
    policy = std::make_unique<ReplicatedPolicy>(ReplicatedPolicy::Options{setup.rendezvous, setup.repl_token});
  Service service(setup, policy.get());
  if (std::string why = service.start(); !why.empty()) {
    LOG_ERROR("beacon: %s", why.c_str());
    return 1;
  }
  if (policy) {
    if (std::string why = policy->start(); !why.empty()) {
      LOG_ERROR("beacon: %s", why.c_str());
      service.stop();
      return 1;
    }
  } else if (setup.engine.punch_auth == PunchAuth::kStrict) {
    LOG_WARN("beacon: -punch-auth=strict without the event log (-rendezvous): every punch is refused");
  }

  int sig = 0;
  sigwait(&sigs, &sig);
  LOG_INFO("beacon: %s, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  service.stop();
  if (policy) policy->stop();
  return 0;
}
