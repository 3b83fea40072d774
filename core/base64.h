// Base64 as the wire uses it (spec §4.1): standard alphabet with '=' padding, strict —
// no whitespace, no missing padding, no non-zero bits in the last group. URL-safe
// decoding exists for the few ops that accept it (rotate_key, recovery helpers).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot {

std::string base64_encode(const uint8_t* data, size_t n);
inline std::string base64_encode(std::string_view s) {
  return base64_encode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// nullopt unless `text` is exactly one canonical standard-base64 string.
std::optional<std::vector<uint8_t>> base64_decode_std(std::string_view text);
// Padded URL-safe alphabet ('-', '_'); also accepted without padding, as Go's
// URLEncoding/RawURLEncoding callers in the reference produce both.
std::optional<std::vector<uint8_t>> base64_decode_url(std::string_view text);
// Standard first, then URL-safe (spec §20.9).
std::optional<std::vector<uint8_t>> base64_decode_std_or_url(std::string_view text);

}  // namespace pilot
