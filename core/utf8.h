// Well-formed UTF-8 (RFC 3629), as Go's encoding/json and log shippers judge it: no
// overlong forms, no surrogates, nothing past U+10FFFF. Shared by the Go-compatible
// JSON encoder (net/rpc/go_json.h) and the JSON log lines (core/logging.cc), which both
// replace each byte outside such a sequence by U+FFFD.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pilot {

// Length (2-4) of the multi-byte sequence starting at s[i], with its code point in
// *cp; 0 if the bytes there are not one (ASCII included: callers handle it first).
size_t utf8_sequence(std::string_view s, size_t i, uint32_t* cp = nullptr);

}  // namespace pilot
