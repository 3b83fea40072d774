// Go's time.Duration text ("300ms", "2s", "30m", "1h30m", "336h"), the form the
// reference's flags take (-stale-threshold 30m), so operators' scripts keep working.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pilot {

// Units ns, us (or µs), ms, s, m, h; decimal fractions ("1.5h"); a leading sign; "0".
// nullopt for anything else or a value beyond int64 nanoseconds.
std::optional<int64_t> parse_go_duration(std::string_view text);

// Shortest Go-style form ("30m0s" as Go prints it is written "30m" here).
std::string format_duration(int64_t ns);

}  // namespace pilot
