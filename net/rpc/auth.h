// The authentication rules shared by the op handlers (spec §4): node signatures,
// the global admin token, and the combinations ops accept. Each throws OpError with
// the reference's text on failure.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "net/rpc/registry.h"
#include "projections/directory.h"

namespace pilot::rpc {

// True if the request's `admin_token` equals the configured global token (constant
// time); false if none is configured or it differs.
bool admin_token_valid(const Registry& reg, const nlohmann::json& req);
// Throws "no admin token configured" / "invalid admin token" (the second also when the
// request carries none).
void require_admin(const Registry& reg, const nlohmann::json& req);

// Spec §4.2: the node's own signature over `challenge` in the `signature` field. A
// node with no stored key (legacy records) needs the admin token instead.
void verify_node_signature(Registry& reg, const Node& node, const nlohmann::json& req, std::string_view challenge);

// Spec §4.2 "sig|adm": the signature, or, if it fails, a valid admin token; when both
// fail the signature's error is reported.
void verify_signature_or_admin(Registry& reg, const Node& node, const nlohmann::json& req, std::string_view challenge);

// The ops with their own wording for a missing or bad signature (handshakes): throws
// `missing` when there is no signature and `failed` when it does not verify.
void verify_signature_worded(Registry& reg, const Node& node, const nlohmann::json& req, std::string_view challenge,
                             const char* missing, const char* failed);

// Node by ID or OpError("node N: node not found").
const Node& node_or_not_found(const Registry& reg, uint32_t id);

bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace pilot::rpc
