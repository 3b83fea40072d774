// The op table: every JSON `type` the registry answers, with its handler and the
// dispatch facts the spec attaches to it (§5: allowed on a standby, breaker name).
//
// One handler file per op family registers its ops:
//   ops_directory.cc  register heartbeat lookup resolve resolve_hostname list_nodes
//                     set_visibility set_hostname set_tags deregister rotate_key get_key_info
//   ops_trust.cc      report_trust revoke_trust check_trust
//                     request_handshake poll_handshakes respond_handshake
//   ops_networks.cc   create_network join_network leave_network delete_network
//                     rename_network set_network_enterprise list_networks
//   ops_routing.cc    punch beacon_register beacon_list
//   ops_audit.cc      get_audit_log
//   ops_outbound.cc   set_webhook get_webhook get_webhook_dlq set_audit_export get_audit_export
//
// A handler returns the success object (with its "type") or throws OpError; it never
// writes to a socket and never waits. Mutations go through Registry::emit.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>

#include "net/rpc/registry.h"

namespace pilot::rpc {

struct Request {
  std::string_view type;
  const nlohmann::json& body;
  const Peer& peer;
};

using Handler = nlohmann::json (*)(Registry& reg, const Request& req);

struct OpSpec {
  std::string name;
  Handler handler = nullptr;
  bool standby_ok = false;  // §3.2 standby gate
  std::string breaker;      // §15 breaker name ("" = ungated)
};

class OpTable {
 public:
  void add(OpSpec spec) { ops_[spec.name] = std::move(spec); }
  const OpSpec* find(std::string_view name) const {
    auto it = ops_.find(std::string(name));
    return it == ops_.end() ? nullptr : &it->second;
  }
  const std::unordered_map<std::string, OpSpec>& all() const { return ops_; }

 private:
  std::unordered_map<std::string, OpSpec> ops_;
};

void add_directory_ops(OpTable& t);
void add_trust_ops(OpTable& t);
void add_network_ops(OpTable& t);
void add_routing_ops(OpTable& t);
void add_audit_ops(OpTable& t);
void add_outbound_ops(OpTable& t);

// Every family above.
OpTable all_ops();

}  // namespace pilot::rpc
