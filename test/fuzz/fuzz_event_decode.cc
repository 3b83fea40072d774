// Fuzzes the event payload codec: the first 2 bytes are the kind (little-endian), the
// rest the payload. Whatever decodes must re-encode to something that decodes to the
// same event (and re-encodes identically), and must dump as JSON.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/events.h"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_event_decode: invariant failed: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pilot;
  if (size < 2) return 0;
  const uint16_t raw = static_cast<uint16_t>(data[0] | data[1] << 8);
  const auto kind = static_cast<EventKind>(raw);
  const std::string_view payload(reinterpret_cast<const char*>(data) + 2, size - 2);

  const std::optional<Event> ev = decode_payload(kind, payload);
  if (!is_known_kind(raw)) check(!ev.has_value(), "an unknown kind decoded");
  if (!ev) return 0;
  check(kind_of(*ev) == kind, "decoded as another kind");

  // Encoding is canonical: a decoded event re-encodes to bytes that decode to it.
  // (The input itself may differ: trailing fields may be missing, varints padded.)
  const std::string encoded = encode_payload(*ev);
  const std::optional<Event> again = decode_payload(kind, encoded);
  check(again.has_value(), "re-encoded event does not decode");
  check(*again == *ev, "re-encoded event decodes differently");
  check(encode_payload(*again) == encoded, "encoding is not stable");

  // Strings are arbitrary bytes: the JSON dump must not throw with the replace handler.
  const nlohmann::json j = event_to_json(*ev);
  check(j.at("kind") == std::string(kind_name(kind)), "json kind");
  const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  check(!nlohmann::json::parse(text, nullptr, false).is_discarded(), "json dump does not parse back");
  return 0;
}
