// Fuzz target for the registry port's bytes (net/rpc/wire.h): the first input byte
// picks what the rest is fed to — a stream of JSON-mode frames, a stream of binary
// frames, or one binary payload to every request/response decoder. Decoders must not
// crash or over-read, and whatever decodes must re-encode to something that decodes
// to the same value.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "net/rpc/wire.h"

using namespace pilot::wire;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_wire_codec: invariant failed: %s\n", what);
    std::abort();
  }
}

template <class R, class Decode>
void round_trip(const std::optional<R>& r, Decode decode) {
  if (!r) return;
  auto again = decode(encode(*r));
  check(again.has_value() && *again == *r, "decode(encode(x)) != x");
}

void frames(std::string_view b, bool binary) {
  for (int i = 0; i < 10000; ++i) {
    Frame f;
    std::string why;
    FrameStatus st = binary ? next_binary_frame(b, f, why) : next_json_frame(b, f, why);
    if (st != FrameStatus::kFrame) {
      check(st == FrameStatus::kNeedMore || !why.empty(), "bad frame without a reason");
      return;
    }
    check(f.consumed >= 4 && f.consumed <= b.size(), "frame consumed outside the buffer");
    check(f.body.size() + (binary ? 5 : 4) == f.consumed, "frame body and length disagree");
    b.remove_prefix(f.consumed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: frames(rest, false); break;
    case 1: frames(rest, true); break;
    default: {
      std::string err;
      auto hb = decode_heartbeat_request(rest, err);
      check(hb.has_value() == (rest.size() >= 68), "heartbeat length rule");
      auto lk = decode_lookup_request(rest, err);
      check(lk.has_value() == (rest.size() >= 4), "lookup length rule");
      auto rs = decode_resolve_request(rest, err);
      check(rs.has_value() == (rest.size() >= 72), "resolve length rule");
      if (hb) check(encode(*hb) == rest.substr(0, 68), "heartbeat request re-encodes differently");
      if (rs) check(encode(*rs) == rest.substr(0, 72), "resolve request re-encodes differently");
      round_trip(decode_heartbeat_response(rest), decode_heartbeat_response);
      round_trip(decode_lookup_response(rest), decode_lookup_response);
      round_trip(decode_resolve_response(rest), decode_resolve_response);
      if (auto e = decode_error(rest)) check(decode_error(encode_error(*e)) == e, "error message round trip");
    }
  }
  return 0;
}
