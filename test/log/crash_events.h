// The event the crash test writes at each sequence number, so the checker can tell
// exactly what every surviving record must contain.
#pragma once

#include <string>

#include "core/events.h"

namespace pilot::testsupport {

inline Event crash_event(uint64_t seq) {
  TagsChanged t;
  t.node_id = static_cast<uint32_t>(seq);
  t.tags = {std::to_string(seq * 7), std::string(seq % 300, static_cast<char>('a' + seq % 26))};
  return t;
}

}  // namespace pilot::testsupport
