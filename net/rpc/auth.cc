#include "net/rpc/auth.h"

#include <sodium.h>

#include "net/rpc/fields.h"

namespace pilot::rpc {

namespace {

bool has_key(const Node& n) {
  for (uint8_t b : n.public_key)
    if (b) return true;
  return false;
}

// Empty string: the signature verified; else the reference's error text.
std::string check_signature(Registry& reg, const Node& node, const nlohmann::json& req, std::string_view challenge,
                            const char* missing, const char* bad_encoding, const char* failed) {
  const nlohmann::json* v = field(req, "signature");
  if (!v || !v->is_string() || v->get_ref<const std::string&>().empty()) return missing;
  auto sig = decode_signature(v->get_ref<const std::string&>());
  if (!sig) return bad_encoding;
  if (!reg.verify(node.public_key, challenge, *sig)) return failed;
  return {};
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool admin_token_valid(const Registry& reg, const nlohmann::json& req) {
  const std::string& configured = reg.options().admin_token;
  if (configured.empty()) return false;
  const nlohmann::json* v = field(req, "admin_token");
  if (!v || !v->is_string()) return false;
  return constant_time_equal(v->get_ref<const std::string&>(), configured);
}

void require_admin(const Registry& reg, const nlohmann::json& req) {
  if (reg.options().admin_token.empty()) throw OpError("no admin token configured");
  if (!admin_token_valid(reg, req)) throw OpError("invalid admin token");
}

void verify_node_signature(Registry& reg, const Node& node, const nlohmann::json& req, std::string_view challenge) {
  if (!has_key(node)) {
    if (reg.options().admin_token.empty()) throw OpError("node has no public key: signature or admin token required");
    require_admin(reg, req);
    return;
  }
  std::string err = check_signature(reg, node, req, challenge, "signature required for authenticated node",
                                    "invalid signature encoding", "signature verification failed");
  if (!err.empty()) throw OpError(err);
}

void verify_signature_or_admin(Registry& reg, const Node& node, const nlohmann::json& req, std::string_view challenge) {
  if (!has_key(node)) {
    verify_node_signature(reg, node, req, challenge);
    return;
  }
  std::string err = check_signature(reg, node, req, challenge, "signature required for authenticated node",
                                    "invalid signature encoding", "signature verification failed");
  if (err.empty() || admin_token_valid(reg, req)) return;
  throw OpError(err);
}

void verify_signature_worded(Registry& reg, const Node& node, const nlohmann::json& req, std::string_view challenge,
                             const char* missing, const char* failed) {
  if (!has_key(node)) {
    verify_node_signature(reg, node, req, challenge);
    return;
  }
  std::string err = check_signature(reg, node, req, challenge, missing, failed, failed);
  if (!err.empty()) throw OpError(err);
}

const Node& node_or_not_found(const Registry& reg, uint32_t id) {
  const Node* n = reg.state().directory.find(id);
  if (!n) throw OpError("node " + std::to_string(id) + ": node not found");
  return *n;
}

}  // namespace pilot::rpc
