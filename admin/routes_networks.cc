// Operator views and actions on networks (spec §10.2 /api/admin/networks...) and the
// audit view (/api/admin/audit/recent). The two
// actions — kick a member, set a member's role — are events like every other change:
// they run on the loop thread through Registry::emit and answer once durable.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "admin/routes.h"
#include "core/logging.h"
#include "net/rpc/service.h"
#include "projections/state.h"

namespace pilot::admin {

namespace {

using nlohmann::json;

template <class T>
std::optional<T> parse_uint(const std::string& s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A member without an RBAC role is listed as "member".
std::string role_text(Role role) { return role == Role::kNone ? "member" : std::string(role_name(role)); }

// What an action on the loop thread decided: an HTTP status and the body to send.
struct Outcome {
  int status = 200;
  json body;
  std::string error;  // plain-text error when status != 200
};

void send(httplib::Response& res, const std::optional<Outcome>& o) {
  if (!o) return reply_unavailable(res);
  if (o->status != 200) return reply_error(res, o->status, o->error);
  reply_json(res, o->body);
}

Outcome fail(int status, std::string error) { return {status, {}, std::move(error)}; }

}  // namespace

void register_network_routes(httplib::Server& http, AdminServer::Routes& r) {
  // The audit view (a projection of the log, spec §12): the newest entries first.
  r.on(http, "GET", "/api/admin/audit/recent", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res)) return;
    size_t n = 100;
    if (req.has_param("n")) {
      auto v = parse_uint<size_t>(req.get_param_value("n"));
      if (!v || *v == 0) return reply_error(res, 400, "invalid n");
      n = std::min<size_t>(*v, 1000);
    }
    auto body = r.ctx.bridge->call_durable([&r, n] { return audit_recent_json(r.ctx.state->audit, n); });
    if (!body) return reply_unavailable(res);
    res.set_content(*body + "\n", "application/json");
  });

  r.on(http, "GET", "/api/admin/networks", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res)) return;
    auto out = r.ctx.bridge->call_durable([&r] {
      json list = json::array();
      for (const auto& [id, net] : r.ctx.state->networks.all()) {
        if (id == 0) continue;
        size_t admins = 0, owners = 0;
        for (const auto& [node, role] : net.roles) admins += role == Role::kAdmin, owners += role == Role::kOwner;
        list.push_back({{"id", id},
                        {"name", net.name},
                        {"members_count", net.members.size()},
                        {"admins_count", admins},
                        {"owners_count", owners},
                        {"enterprise", net.enterprise},
                        {"policy_set", !net.expr_policy_json.empty() || net.policy.max_members != 0 ||
                                           !net.policy.allowed_ports.empty()}});
      }
      return list;
    });
    if (!out) return reply_unavailable(res);
    const size_t n = out->size();
    reply_json(res, {{"count", n}, {"networks", std::move(*out)}});
  });

  r.on(http, "GET", R"(/api/admin/networks/([^/]+)/members)",
       [&r](const httplib::Request& req, httplib::Response& res) {
         if (!r.is_admin(req, res)) return;
         auto id = parse_uint<uint16_t>(req.matches[1]);
         if (!id) return reply_error(res, 400, "invalid network id");
         size_t limit = 200, offset = 0;
         if (req.has_param("limit")) {
           auto v = parse_uint<size_t>(req.get_param_value("limit"));
           if (!v || *v == 0) return reply_error(res, 400, "invalid limit");
           limit = std::min<size_t>(*v, 5000);
         }
         if (req.has_param("offset")) {
           auto v = parse_uint<size_t>(req.get_param_value("offset"));
           if (!v) return reply_error(res, 400, "invalid offset");
           offset = *v;
         }
         const std::string q = lower(req.get_param_value("q"));
         auto out = r.ctx.bridge->call_durable([&r, id = *id, limit, offset, &q]() -> Outcome {
           const Network* net = r.ctx.state->networks.find(id);
           if (!net || id == 0) return fail(404, "network not found");
           const auto& nodes = r.ctx.state->directory.nodes();
           rpc::Registry& reg = r.ctx.registry->registry();
           json members = json::array();
           size_t matched = 0;
           for (uint32_t m : net->members) {
             const Node* node = nodes.find(m);
             if (!q.empty()) {
               const bool hit = std::to_string(m).find(q) != std::string::npos ||
                                (node && lower(node->hostname).find(q) != std::string::npos);
               if (!hit) continue;
             }
             if (matched++ < offset || members.size() >= limit) continue;
             json j = {{"node_id", m}, {"role", role_text(net->role_of(m))}};
             if (node && !node->hostname.empty()) j["hostname"] = node->hostname;
             if (int64_t seen = reg.liveness().last_seen_ns(m)) j["last_seen_unix"] = seen / 1000000000;
             members.push_back(std::move(j));
           }
           const size_t count = members.size();
           return {200,
                   {{"network_id", id},
                    {"count", count},
                    {"total", net->members.size()},
                    {"filtered_total", matched},
                    {"offset", offset},
                    {"limit", limit},
                    {"members", std::move(members)}},
                   ""};
         });
         send(res, out);
       });

  r.on(http, "DELETE", R"(/api/admin/networks/([^/]+)/members/([^/]+))",
       [&r](const httplib::Request& req, httplib::Response& res) {
         if (!r.is_admin(req, res)) return;
         auto id = parse_uint<uint16_t>(req.matches[1]);
         auto node = parse_uint<uint32_t>(req.matches[2]);
         if (!id || !node) return reply_error(res, 400, "invalid network or node id");
         const std::string reason = req.get_param_value("reason");
         if (reason.empty()) return reply_error(res, 400, "reason is required");
         auto out = r.ctx.bridge->call_durable([&r, id = *id, node = *node, &reason]() -> Outcome {
           rpc::Registry& reg = r.ctx.registry->registry();
           if (reg.standby()) return fail(503, "this server is a standby: send writes to the leader");
           if (!reg.write_refusal().empty()) return fail(503, reg.write_refusal());
           const Network* net = r.ctx.state->networks.find(id);
           if (!net || id == 0) return fail(404, "network not found");
           if (!r.ctx.state->networks.is_member(id, node)) return fail(400, "node is not a member of the network");
           if (net->role_of(node) == Role::kOwner) return fail(400, "cannot kick the network owner");
           reg.emit(MemberLeft{id, node, LeaveReason::kKicked, reason});
           LOG_INFO("admin: node %u kicked from network %u by an operator: %s", node, unsigned(id), reason.c_str());
           return {200, {{"ok", true}, {"network_id", id}, {"node_id", node}}, ""};
         });
         send(res, out);
       });

  r.on(http, "PUT, POST", R"(/api/admin/networks/([^/]+)/members/([^/]+)/role)",
       [&r](const httplib::Request& req, httplib::Response& res) {
         if (!r.is_admin(req, res)) return;
         auto id = parse_uint<uint16_t>(req.matches[1]);
         auto node = parse_uint<uint32_t>(req.matches[2]);
         if (!id || !node) return reply_error(res, 400, "invalid network or node id");
         if (req.body.size() > 8192) return reply_error(res, 413, "request body too large");
         json body = json::parse(req.body, nullptr, false);
         if (!body.is_object() || !body.contains("role") || !body["role"].is_string())
           return reply_error(res, 400, "body must be {\"role\": \"admin\" | \"member\", \"reason\": \"...\"}");
         const std::string role_in = lower(body["role"].get<std::string>());
         if (role_in != "admin" && role_in != "member") return reply_error(res, 400, "role must be admin or member");
         const Role role = role_in == "admin" ? Role::kAdmin : Role::kMember;
         const std::string reason =
             body.contains("reason") && body["reason"].is_string() ? body["reason"].get<std::string>() : "";
         auto out = r.ctx.bridge->call_durable([&r, id = *id, node = *node, role, &reason, &role_in]() -> Outcome {
           rpc::Registry& reg = r.ctx.registry->registry();
           if (reg.standby()) return fail(503, "this server is a standby: send writes to the leader");
           if (!reg.write_refusal().empty()) return fail(503, reg.write_refusal());
           const Network* net = r.ctx.state->networks.find(id);
           if (!net || id == 0) return fail(404, "network not found");
           if (!r.ctx.state->networks.is_member(id, node)) return fail(400, "node is not a member of the network");
           if (net->role_of(node) == Role::kOwner) return fail(400, "cannot change the owner's role");
           reg.emit(MemberRoleSet{id, node, role, reason.empty() ? "operator" : reason});
           LOG_INFO("admin: node %u in network %u set to %s by an operator%s%s", node, unsigned(id), role_in.c_str(),
                    reason.empty() ? "" : ": ", reason.c_str());
           return {200, {{"ok", true}, {"network_id", id}, {"node_id", node}, {"role", role_in}}, ""};
         });
         send(res, out);
       });
}

}  // namespace pilot::admin
