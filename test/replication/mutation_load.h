// A seeded random mutation load through the registry port, the way daemons and an
// operator would change state: registrations (new and returning keys), hostnames,
// tags, visibility, trust, the handshake relay, networks, key rotation,
// deregistration — plus heartbeats, which are not state. Requests the registry refuses
// (a taken hostname, a duplicate network name) are part of the load: they must not
// change anything anywhere.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "net/rpc/client.h"

namespace pilot::repltest {

class MutationLoad {
 public:
  MutationLoad(uint64_t seed, std::string admin_token) : rng_(seed), admin_(std::move(admin_token)) {}

  // Sends `n` requests to the registry at `addr` on one connection; returns how many
  // were accepted (answered with something other than an error).
  size_t run(const std::string& addr, size_t n) {
    auto c = rpc::Client::connect(addr);
    size_t accepted = 0;
    for (size_t i = 0; i < n; ++i) accepted += step(c);
    return accepted;
  }

 private:
  struct Node {
    rpc::Identity id;
    uint32_t node_id = 0;
  };
  using json = nlohmann::json;

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  Node& any() { return nodes_[pick(nodes_.size())]; }
  std::string word() { return "w" + std::to_string(pick(40)); }

  bool call(rpc::Client& c, const json& req) {
    json r = c.call(req);
    return r.value("type", "") != "error";
  }

  bool step(rpc::Client& c) {
    const size_t r = pick(100);
    if (nodes_.size() < 3 || r < 20) {
      Node n;
      json req = n.id.register_req("0.0.0.0:" + std::to_string(4000 + pick(1000)));
      if (pick(3) == 0) req["hostname"] = "host-" + std::to_string(pick(60));
      json resp = c.call(req);
      if (resp.value("type", "") != "register_ok") return false;
      n.node_id = resp.value("node_id", 0u);
      nodes_.push_back(std::move(n));
      return true;
    }
    Node& a = any();
    Node& b = any();
    if (r < 28) return call(c, a.id.register_req("0.0.0.0:" + std::to_string(5000 + pick(1000))));  // returning key
    if (r < 36) return call(c, a.id.set_hostname_req(a.node_id, "host-" + std::to_string(pick(60))));
    if (r < 42) return call(c, a.id.set_tags_req(a.node_id, {word(), word()}));
    if (r < 48) return call(c, a.id.set_visibility_req(a.node_id, pick(2) == 0));
    if (r < 55) return call(c, a.id.report_trust_req(a.node_id, b.node_id));
    if (r < 58) return call(c, a.id.revoke_trust_req(a.node_id, b.node_id));
    if (r < 64) return call(c, a.id.request_handshake_req(a.node_id, b.node_id, "hello " + word()));
    if (r < 68) return call(c, a.id.poll_handshakes_req(a.node_id));
    if (r < 72) return call(c, a.id.respond_handshake_req(a.node_id, b.node_id, pick(2) == 0));
    if (r < 75) return call(c, a.id.deregister_req(a.node_id));
    if (r < 78)
      return call(c, {{"type", "create_network"},
                      {"node_id", a.node_id},
                      {"name", "net-" + std::to_string(pick(30))},
                      {"admin_token", admin_}});
    if (r < 85) return call(c, a.id.join_network_req(a.node_id, static_cast<uint32_t>(1 + pick(8))));
    if (r < 88) return call(c, a.id.leave_network_req(a.node_id, static_cast<uint32_t>(1 + pick(8))));
    if (r < 90) {
      rpc::Identity next;
      if (!call(c, a.id.rotate_key_req(a.node_id, next.pub_b64()))) return false;
      a.id = next;
      return true;
    }
    return call(c, a.id.heartbeat_req(a.node_id));  // liveness only: no record
  }

  std::mt19937_64 rng_;
  std::string admin_;
  std::vector<Node> nodes_;
};

}  // namespace pilot::repltest
