// The registry as a whole, ready to run on a loop: the Registry (business context),
// its Dispatcher, the rate limiter with its whitelist file, the circuit breakers, the TCP server and the
// reaper timer. `rendezvous` and the minimal `registry` fixture both run this; they
// differ only in what else they run around it.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "core/flags.h"
#include "net/rpc/breakers.h"
#include "net/rpc/dispatcher.h"
#include "net/rpc/rate_limit.h"
#include "net/rpc/registry.h"
#include "net/rpc/server.h"
#include "net/rpc/whitelist.h"

namespace pilot::rpc {

struct ServiceOptions {
  RegistryOptions registry;
  ServerOptions server;
  RateLimitConfig limits;
  std::string whitelist_path;  // "" = none
  std::string breakers_path;   // "" = breakers in memory only
  int64_t reap_interval_ns = int64_t{10} * 1000000000;
  // A follower: read ops only, no reaper (Registry::standby).
  bool standby = false;
};

// The registry flags shared by the binaries (spec §17.1 names and env variables).
// `listen_flag` is "registry-addr" for rendezvous and "addr" for the fixture.
void add_registry_flags(Flags& flags, ServiceOptions& opts, const char* listen_flag);
// Reads the env switches that are not flags (PILOT_REGISTRY_NORATELIMIT).
void apply_registry_env(ServiceOptions& opts);

class RegistryService {
 public:
  RegistryService(uv_loop_t* loop, State& state, log::Writer* writer, ServiceOptions opts);
  ~RegistryService();

  // Listens and starts the timers; logs "registry: listening on <addr>".
  bool start(std::string& error);
  // Stops accepting, answers what was asked, closes connections; `done` when all is
  // closed. The caller flushes the log meanwhile (replies wait for durability).
  void shutdown(uint64_t grace_ms, std::function<void()> done);

  Registry& registry() { return registry_; }
  Dispatcher& dispatcher() { return dispatcher_; }
  RpcServer& server() { return server_; }
  RateLimiter& limiter() { return limiter_; }
  Breakers& breakers() { return breakers_; }

 private:
  uv_loop_t* loop_;
  ServiceOptions opts_;
  Registry registry_;
  Dispatcher dispatcher_;
  RateLimiter limiter_;
  Breakers breakers_;
  std::unique_ptr<WhitelistFile> whitelist_;
  RpcServer server_;
  uv_timer_t reap_timer_{};
  uv_timer_t config_timer_{};  // whitelist and breakers files, every 2 s
  bool timers_started_ = false;
};

}  // namespace pilot::rpc
