#include "net/beacon/service.h"

#include "core/logging.h"

namespace pilot::beacon {

Service::Service(const BeaconSetup& setup, Policy* policy)
    : engine_(setup.engine, policy), server_(engine_, setup.server), advertise_(setup.advertise) {
  engine_.set_peers(setup.peers);
}

Service::~Service() { server_.stop(); }

std::string Service::start() {
  if (std::string why = server_.start(); !why.empty()) return why;
  running_ = true;
  const Config& cfg = engine_.config();
  const std::vector<Endpoint> peers = engine_.peers();
  LOG_INFO("beacon: listening on %s (%zu sockets%s, beacon id %u, %zu peers, punch auth %s)",
           server_.listen_text().c_str(), server_.socket_count(), server_.reuseport() ? ", SO_REUSEPORT" : "",
           cfg.beacon_id, peers.size(), cfg.punch_auth == PunchAuth::kStrict ? "strict" : "open");
  for (const Endpoint& p : peers) LOG_INFO("beacon: peer %s", p.to_string().c_str());
  if (!advertise_.empty()) LOG_INFO("beacon: advertise address %s", advertise_.c_str());
  return "";
}

void Service::stop() {
  if (!running_) return;
  running_ = false;
  server_.stop();
  LOG_INFO("%s", server_.stats_line().c_str());
  LOG_INFO("beacon: stopped");
}

}  // namespace pilot::beacon
