// Timestamps as text: RFC 3339 in UTC, the form pilot-log prints and accepts.
//
// Pure functions over unix nanoseconds (the int64 the log records carry), so they
// cover 1677-09-21 .. 2262-04-11 and never read the clock or the local time zone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pilot {

// "2026-03-03T12:34:56.1234Z": like Go's RFC3339Nano — the fraction keeps up to 9
// digits, trailing zeros are dropped, and a whole second has no fraction at all.
std::string format_rfc3339_nano(int64_t unix_ns);

// "2026-03-03T12:34:56Z": whole seconds, rounded towards the past.
std::string format_rfc3339(int64_t unix_ns);

// Parses "YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|+HH:MM|-HH:MM)" ('t' and 'z' also accepted)
// into unix nanoseconds. nullopt for anything else: bad syntax, an impossible date or
// time (Feb 30, 24:00, leap second 60), more than 9 fraction digits, or a value
// outside the int64 nanosecond range.
std::optional<int64_t> parse_rfc3339(std::string_view text);

}  // namespace pilot
