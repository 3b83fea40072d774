// Request-signature envelopes and registry verdicts (spec §10.3, the reference's
// `reqsig`): how a third-party service asks the registry "was this request really
// signed by Pilot node X?".
//
//   envelope  pilot-req-v1|<addr12>|<ts>|<nonce16>|<bodyhash64>|<audience>
//   verdict   pilot-verdict-v1|<sha256hex(envelope)>|<addr12>|<v>|<o>|<m>|<last_seen>|<keygen>|<verified_at>
//
// addr12 = 4 lowercase hex digits of network + 8 of node; numbers are canonical
// decimal (no sign, no leading zeros); nonce/hashes lowercase hex; audience
// [a-z0-9.-]{1,64}; v/o/m are 0 or 1. Parsing accepts only the exact canonical form:
// a string that would print differently is refused, so one request has one signature
// input and no field can smuggle a '|'.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pilot {

struct RequestEnvelope {
  uint16_t network = 0;
  uint32_t node = 0;
  int64_t timestamp = 0;  // unix seconds
  std::string nonce;      // 16 lowercase hex
  std::string body_hash;  // 64 lowercase hex (SHA-256 of the request body)
  std::string audience;   // [a-z0-9.-]{1,64}

  // "" if a field breaks its rule, else the canonical string.
  std::string canonical() const;
  static std::optional<RequestEnvelope> parse(std::string_view s);
};

struct Verdict {
  std::string envelope_hash;  // 64 lowercase hex: SHA-256 of the canonical envelope
  uint16_t network = 0;
  uint32_t node = 0;
  bool valid = false;
  bool online = false;
  bool network_member = false;
  int64_t last_seen_unix = 0;
  int64_t key_generation = 0;
  int64_t verified_at = 0;

  std::string canonical() const;  // "" if a field breaks its rule
  static std::optional<Verdict> parse(std::string_view s);
};

// Lowercase hex SHA-256.
std::string sha256_hex(std::string_view data);

}  // namespace pilot
