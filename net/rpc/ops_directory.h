// The directory ops' business logic that the binary frames share with JSON (spec §2.4:
// same logic, same metrics). Errors are thrown as OpError with the binary wording when
// `binary` is set ("node N: not found" instead of "node N: node not found").
#pragma once

#include <cstdint>
#include <optional>

#include "core/ed25519.h"
#include "net/rpc/registry.h"
#include "net/rpc/wire.h"

namespace pilot::rpc {

struct HeartbeatOk {
  int64_t time = 0;  // unix seconds
  bool key_expiry_warning = false;
};
// `ts`: the strict-freshness timestamp (JSON only; binary frames carry none).
HeartbeatOk heartbeat(Registry& reg, uint32_t node_id, const Signature& sig, std::optional<int64_t> ts, bool binary);

wire::LookupResponse binary_lookup(Registry& reg, uint32_t node_id);
wire::ResolveResponse binary_resolve(Registry& reg, uint32_t node_id, uint32_t requester_id, const Signature& sig);

// The address a peer is told for `node`: its endpoint, or the beacon's when relay-only.
std::string advertised_addr(const Registry& reg, const Node& node);

// Spec §7.3: "" if valid, else the validation message.
std::string validate_hostname(const std::string& h);

}  // namespace pilot::rpc
