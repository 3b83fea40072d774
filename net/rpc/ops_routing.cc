// Punch coordination and the beacon directory (spec §6.12, §6.13).
//
// punch only reads: it hands both raw endpoints to a participant, who then punches
// through a beacon. beacon_register records a BeaconRegistered event; beacon_list
// reads the projection and applies the TTL itself (apply never drops a beacon).
#include <string>
#include <string_view>

#include "net/rpc/auth.h"
#include "net/rpc/fields.h"
#include "net/rpc/ops.h"

namespace pilot::rpc {

namespace {

std::string node_not_found(uint32_t id) { return "node " + std::to_string(id) + " not found"; }

nlohmann::json punch(Registry& reg, const Request& r) {
  const uint32_t requester = u32_field(r.body, "requester_id");
  const uint32_t a = u32_field(r.body, "node_a");
  const uint32_t b = u32_field(r.body, "node_b");
  if (requester != a && requester != b) throw OpError("punch denied: requester must be participant");
  const Directory& dir = reg.state().directory;
  const Node* rn = dir.find(requester);
  if (!rn) throw OpError(node_not_found(requester));
  verify_signature_or_admin(reg, *rn, r.body, "punch:" + std::to_string(a) + ":" + std::to_string(b));
  const Node* na = dir.find(a);
  if (!na) throw OpError(node_not_found(a));
  const Node* nb = dir.find(b);
  if (!nb) throw OpError(node_not_found(b));
  if (reg.options().strict_directory_auth && !reg.state().trust.trusted(a, b) &&
      !reg.state().networks.share_custom_network(a, b)) {
    // No relationship: the requester is told the other side does not exist, the same
    // answer as for a node that really is absent (spec §4.5).
    throw OpError(node_not_found(requester == a ? b : a));
  }
  // Raw stored endpoints, never the beacon address of a relay-only node: the daemons
  // decide how to reach each other.
  return {{"type", "punch_ok"},
          {"node_a", a},
          {"node_a_addr", na->real_addr},
          {"node_b", b},
          {"node_b_addr", nb->real_addr}};
}

// What Go's net.SplitHostPort says about `hp` ("" = it splits), in its words, so the
// `beacon addr invalid: …` text matches the reference. Note it accepts an empty host
// or port (":9001", "host:").
std::string host_port_problem(std::string_view hp) {
  auto why = [&](const char* reason) { return "address " + std::string(hp) + ": " + reason; };
  const size_t last_colon = hp.rfind(':');
  if (last_colon == std::string_view::npos) return why("missing port in address");
  size_t no_open_from = 0;   // a '[' from here on is stray
  size_t no_close_from = 0;  // a ']' from here on is stray
  if (hp.front() == '[') {
    const size_t close = hp.find(']');
    if (close == std::string_view::npos) return why("missing ']' in address");
    if (close + 1 == hp.size()) return why("missing port in address");
    if (close + 1 != last_colon)  // the port's colon must follow the ']' directly
      return why(hp[close + 1] == ':' ? "too many colons in address" : "missing port in address");
    no_open_from = 1;
    no_close_from = close + 1;
  } else if (hp.substr(0, last_colon).find(':') != std::string_view::npos) {
    return why("too many colons in address");  // a bare IPv6 address needs brackets
  }
  if (hp.find('[', no_open_from) != std::string_view::npos) return why("unexpected '[' in address");
  if (hp.find(']', no_close_from) != std::string_view::npos) return why("unexpected ']' in address");
  return {};
}

std::string duration_text(int64_t ns) {
  // Whole seconds when exact (the default 5 s), else milliseconds.
  if (ns % 1000000000 == 0) return std::to_string(ns / 1000000000) + "s";
  return std::to_string(ns / 1000000) + "ms";
}

nlohmann::json beacon_register(Registry& reg, const Request& r) {
  require_admin(reg, r.body);
  const uint32_t id = u32_field(r.body, "beacon_id");
  if (id == 0) throw OpError("beacon_id required");
  std::string addr = str_field(r.body, "addr");
  if (addr.empty()) throw OpError("addr required");
  if (std::string problem = host_port_problem(addr); !problem.empty()) throw OpError("beacon addr invalid: " + problem);
  // A beacon re-registers to stay listed; a flood for one ID is refused so it cannot
  // fill the log. Other IDs are unaffected.
  const auto& beacons = reg.state().settings.beacons;
  if (auto it = beacons.find(id);
      it != beacons.end() && reg.now_ns() - it->second.registered_ns < reg.options().beacon_cooldown_ns) {
    throw OpError("beacon " + std::to_string(id) + " already registered: retry after the " +
                  duration_text(reg.options().beacon_cooldown_ns) + " cooldown");
  }
  reg.emit(BeaconRegistered{id, std::move(addr)});
  return {{"type", "beacon_register_ok"}, {"beacon_id", id}};
}

nlohmann::json beacon_list(Registry& reg, const Request&) {
  const int64_t now = reg.now_ns();
  nlohmann::json out = nlohmann::json::array();
  // The map is ordered by ID, so the list is too (the reference's order is random).
  for (const auto& [id, b] : reg.state().settings.beacons)
    if (now - b.registered_ns <= reg.options().beacon_ttl_ns) out.push_back({{"id", id}, {"addr", b.addr}});
  return {{"type", "beacon_list_ok"}, {"beacons", std::move(out)}};
}

}  // namespace

void add_routing_ops(OpTable& t) {
  t.add({"punch", punch, false, "registry.punch"});
  t.add({"beacon_register", beacon_register, false, "registry.beacon_register"});
  t.add({"beacon_list", beacon_list, true, "registry.beacon_register"});
}

}  // namespace pilot::rpc
