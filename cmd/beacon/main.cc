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
// Operator surface: -config FILE (JSON, flag names as keys; core/flags_config.h),
// -log-format text|json, -health ADDR (/healthz), -registry HOST:PORT (peers from the
// registry's beacon_list, net/beacon/registry_discovery.h), -gossip-secret (or
// PILOT_GOSSIP_SECRET: authenticated Syncs).
//
// Runs until SIGTERM/SIGINT. With -drain-delay it first keeps serving that long with
// /healthz answering 503 (a second signal cuts it short); then it stops the sockets
// and threads (every thread flushes what it holds), logs the final counters and exits 0.
#include <signal.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "core/flags.h"
#include "core/flags_config.h"
#include "core/log_format.h"
#include "core/logging.h"
#include "net/beacon/beacon_flags.h"
#include "net/beacon/health_server.h"
#include "net/beacon/registry_discovery.h"
#include "net/beacon/replicated_policy.h"
#include "net/beacon/service.h"

int main(int argc, char** argv) {
  using namespace pilot;
  using namespace pilot::beacon;
  BeaconFlags values;
  std::string log_level = "info", log_format = "text", config;
  Flags flags("beacon",
              "Pilot beacon: UDP discovery (STUN + registration), hole-punch coordination, relay, and gossip\n"
              "with peer beacons. Wire-compatible with the Go daemons and beacons.");
  add_beacon_flags(flags, values, BeaconRole::kStandalone);
  flags.add_string(&log_level, "log-level", nullptr, "debug, info, warn or error");
  flags.add_string(&log_format, "log-format", nullptr,
                   "text, or json: one {\"time\",\"level\",\"msg\"} object per line");
  flags.add_string(&config, "config", nullptr,
                   "JSON file of flag values, keys = flag names (hyphen or underscore form), for flags not given here");
  std::string flag_error;
  switch (parse_with_config(flags, "config", argc, argv, flag_error)) {
    case Flags::Result::kHelp: std::fputs(flags.usage().c_str(), stdout); return 0;
    case Flags::Result::kError: std::fprintf(stderr, "beacon: %s\n", flag_error.c_str()); return 2;
    case Flags::Result::kOk: break;
  }
  auto fail = [](const std::string& why) {
    std::fprintf(stderr, "beacon: %s\n", why.c_str());
    return 2;
  };
  if (!flags.positional().empty()) return fail("unexpected argument \"" + flags.positional()[0] + "\" (see --help)");
  if (!set_log_level(log_level.c_str())) return fail("unknown -log-level \"" + log_level + "\"");
  if (!set_log_format(log_format.c_str())) return fail("unknown -log-format \"" + log_format + "\" (text or json)");
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
  if (!setup.engine.gossip_secret.empty()) LOG_INFO("beacon: gossip authenticated (shared secret)");
  std::unique_ptr<HealthServer> health;
  if (!setup.health.empty()) {
    health = std::make_unique<HealthServer>(setup.health);
    if (std::string why = health->start(); !why.empty()) {
      LOG_ERROR("beacon: %s", why.c_str());
      service.stop();
      if (policy) policy->stop();
      return 1;
    }
  }
  std::unique_ptr<RegistryDiscovery> discovery;
  if (!setup.discovery.registry.empty()) {
    DiscoveryOptions d = setup.discovery;
    d.listen_text = service.server().listen_text();
    d.peer_family = d.listen_text.front() == '[' ? AF_UNSPEC : AF_INET;
    discovery = std::make_unique<RegistryDiscovery>(service.engine(), d);
    if (std::string why = discovery->start(); !why.empty()) LOG_WARN("beacon: registry discovery: %s", why.c_str());
    LOG_INFO("beacon: registry discovery via %s every %llds%s", d.registry.c_str(),
             static_cast<long long>(d.interval / kSecond), d.advertise.empty() ? "" : (", as " + d.advertise).c_str());
  }

  int sig = 0;
  sigwait(&sigs, &sig);
  if (health) health->set_healthy(false);
  if (setup.drain_delay > 0) {
    LOG_INFO("beacon: %s, draining for %llds (/healthz 503)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
             static_cast<long long>(setup.drain_delay / kSecond));
    timespec left{static_cast<time_t>(setup.drain_delay / kSecond), static_cast<long>(setup.drain_delay % kSecond)};
    siginfo_t info;
    if (sigtimedwait(&sigs, &info, &left) > 0) LOG_INFO("beacon: second signal, drain cut short");
  }
  LOG_INFO("beacon: %s, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  if (discovery) discovery->stop();
  service.stop();
  if (health) health->stop();
  if (policy) policy->stop();
  return 0;
}
