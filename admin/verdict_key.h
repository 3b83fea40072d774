// The registry's verdict-signing key (spec §8.4 `verdict-key.json`, kid "vfy-v1"):
// {"kid": "vfy-v1", "private_key": "<base64 of the 64-byte Ed25519 secret key>"},
// generated on first use and kept in the data directory (mode 0600), so verdicts
// signed before a restart still verify after it.
#pragma once

#include <optional>
#include <string>

#include "core/ed25519.h"

namespace pilot::admin {

inline constexpr const char* kVerdictKid = "vfy-v1";

// Loads `<data_dir>/verdict-key.json`, creating it if absent. nullopt + error if the
// file exists but is not a valid key (never overwritten: an operator must look).
std::optional<KeyPair> load_or_create_verdict_key(const std::string& data_dir, std::string& error);

}  // namespace pilot::admin
