// The beacon as one unit a binary runs: the engine on its UDP server, with the peers
// and the policy the binary has, and the start and stop log lines every deployment
// prints. cmd/beacon runs one with no policy; rendezvous runs one with the event-log
// policy (log_policy.h).
#pragma once

#include <memory>
#include <string>

#include "net/beacon/beacon.h"
#include "net/beacon/beacon_flags.h"
#include "net/beacon/udp_server.h"
#include "net/beacon/wss_server.h"

namespace pilot::beacon {

class Service {
 public:
  // `policy` (may be null) must outlive the service.
  Service(const BeaconSetup& setup, Policy* policy);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Binds and starts the threads; logs "beacon: listening on <addr> (…)" and, with
  // the WebSocket bridge, "beacon: wss listening on <addr> …". "" on success, else
  // why not (nothing left running).
  std::string start();
  // Stops reading, lets every thread flush, joins them; logs the final stats line and
  // "beacon: stopped". Idempotent; the destructor stops too (without the lines).
  void stop();

  Engine& engine() { return engine_; }
  UdpServer& server() { return server_; }
  WssServer* wss() { return wss_.get(); }  // null without -wss-addr

 private:
  Engine engine_;
  UdpServer server_;
  std::unique_ptr<WssServer> wss_;
  const bool has_policy_;
  std::string advertise_;
  bool running_ = false;
};

}  // namespace pilot::beacon
