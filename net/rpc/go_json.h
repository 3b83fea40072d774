// JSON output the way the reference's Go encoder writes it (spec §20.1), so responses
// are byte-compatible where clients or golden tests compare bytes:
//   * object keys sorted (Go sorts map keys; nlohmann::json objects are already sorted);
//   * `<`, `>`, `&` escaped as \u003c, \u003e, \u0026 (HTML-safe mode, used for
//     responses; the reference's snapshot checksum turns it off); U+2028 and U+2029
//     always escaped;
//   * control characters as \n \r \t \b \f or \u00XX (lowercase hex), `"` and `\`;
//   * invalid UTF-8 replaced by \ufffd, as Go does, instead of failing.
// Integers print as integers; non-integral numbers use nlohmann's shortest form
// (Go's float formatting differs for exponents — only `requests_per_sec` is a float).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace pilot::gojson {

std::string dump(const nlohmann::json& v, bool html_escape = true);
void append_string(std::string& out, std::string_view s, bool html_escape = true);

// The reference's error filter (§3.2): the text reaches the client only if it contains
// one of a fixed list of substrings; otherwise the client sees "request failed".
std::string sanitize_error(std::string_view message);
// {"error":"<sanitised>","type":"error"}
std::string error_response(std::string_view message);

}  // namespace pilot::gojson
