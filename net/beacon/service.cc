#include "net/beacon/service.h"

#include "core/logging.h"

namespace pilot::beacon {

Service::Service(const BeaconSetup& setup, Policy* policy)
    : engine_(setup.engine, policy),
      server_(engine_, setup.server),
      has_policy_(policy != nullptr),
      advertise_(setup.advertise) {
  engine_.set_peers(setup.peers);
  if (!setup.wss.addr.empty()) wss_ = std::make_unique<WssServer>(engine_, policy, setup.wss);
}

// The bridge first: the UDP threads may be delivering to it until they are joined.
Service::~Service() {
  if (wss_) wss_->stop();
  server_.stop();
}

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
  if (wss_) {
    if (std::string why = wss_->start(server_.make_sender()); !why.empty()) {
      server_.stop();
      running_ = false;
      return why;
    }
    engine_.set_bridge(wss_.get());
    LOG_INFO("beacon: wss listening on %s (%s; /v1/compat, /health)%s", wss_->listen_text().c_str(),
             wss_->tls() ? "TLS" : "plain",
             has_policy_ ? "" : "; no registry keys here, so every WebSocket auth fails (1008)");
  }
  return "";
}

void Service::stop() {
  if (!running_) return;
  running_ = false;
  if (wss_) wss_->stop();  // peers get 1001 "beacon shutting down"
  server_.stop();
  engine_.set_bridge(nullptr);
  LOG_INFO("%s", server_.stats_line().c_str());
  if (wss_) LOG_INFO("%s", wss_->stats_line().c_str());
  LOG_INFO("beacon: stopped");
}

}  // namespace pilot::beacon
