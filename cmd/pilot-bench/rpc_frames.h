// The registry-port requests the benches send, as whole frames ([u32 BE length][JSON
// body], spec §2), and the little reading of replies they need. Keys are derived from
// (domain, index), so two runs send the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ed25519.h"

namespace pilot::bench {

// Node i's key pair in `domain` (the domains keep separate pools apart: rpc's node
// pool, its registrations, repl's registrations …).
KeyPair key_from(uint64_t domain, uint64_t i);

std::string heartbeat_json(uint32_t id, const Signature& sig);
std::string lookup_json(uint32_t id);
std::string resolve_json(uint32_t requester, uint32_t target, const Signature& sig);
std::string set_public_json(uint32_t id, const Signature& sig);
// What a daemon sends (spec §2.5): its UDP endpoint as it sees it (the server substitutes
// the TCP source IP for 0.0.0.0), its key, LAN candidates and version; signed unless
// `key` is null (an unsigned registration needs no key pair, just 32 bytes).
std::string register_json(const std::string& pub_b64, uint64_t i, const KeyPair* key);
// Signed registrations of new nodes: keys (domain, first) … (domain, first + count − 1),
// built on every CPU (a key pair and a signature each: tens of us).
std::vector<std::string> signed_registrations(uint64_t domain, uint64_t first, size_t count);

// The value of `"key":` in a flat JSON reply (enough for the fields we read back).
std::string json_value(std::string_view body, std::string_view key);
// A frame's big-endian u32 length prefix.
uint32_t be32(const char* p);

}  // namespace pilot::bench
