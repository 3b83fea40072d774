// Fuzz target for the WebSocket bridge's parsers (net/beacon/ws_codec.h, wss_auth.h).
//
// Input: [mode byte] then the bytes.
//   mode % 3 == 0  an HTTP request head: parse_request_head, and check_upgrade on
//                  what parses (the accept key is 28 base64 characters)
//   mode % 3 == 1  a client byte stream: MessageReader (limit 1024 bytes) over all of
//                  it at once, and again fed in two pieces split at (mode >> 2); both
//                  must give the same messages and the same end. Each message is
//                  within the limit (control ≤ 125); a data message re-encoded as a
//                  client frame reads back as itself.
//   mode % 3 == 2  an auth reply: check_auth_reply against a fixed challenge, with a
//                  registry that knows node 7; only a correct signature can pass, and
//                  this input has none.
//
// No crash, no exception, no runaway memory.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "net/beacon/ws_codec.h"
#include "net/beacon/wss_auth.h"

using namespace pilot::beacon;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_ws_codec: invariant failed: %s\n", what);
    std::abort();
  }
}

constexpr size_t kLimit = 1024;

struct Run {
  std::vector<ws::Message> messages;
  ws::MessageReader::Status end;
  uint16_t code = 0;
};

Run read_in_pieces(const std::string& all, size_t split) {
  ws::MessageReader r(kLimit);
  Run run;
  std::string buf;
  ws::Message m;
  for (const std::string& piece : {all.substr(0, split), all.substr(std::min(split, all.size()))}) {
    buf += piece;
    while ((run.end = r.next(buf, m)) == ws::MessageReader::Status::kMessage) run.messages.push_back(m);
    if (run.end == ws::MessageReader::Status::kError) break;
  }
  run.code = r.error_code();
  return run;
}

void fuzz_head(const std::string& in) {
  ws::RequestHead req;
  ws::HeadStatus st = ws::parse_request_head(in, req);
  if (st != ws::HeadStatus::kDone) return;
  check(req.size <= in.size() && req.size <= ws::kMaxRequestHead, "head size within the input and the limit");
  check(!req.target.empty() && req.target[0] == '/', "target starts with /");
  ws::UpgradeCheck up = ws::check_upgrade(req);
  if (up.status == 101) {
    check(up.accept.size() == 28, "accept key is 28 base64 characters");
    check(up.subprotocol.empty() || up.subprotocol == ws::kSubprotocol, "only pilot.v1 is echoed");
  } else {
    check(!up.error.empty(), "a refusal says why");
  }
}

void fuzz_frames(const std::string& in, size_t split) {
  Run whole = read_in_pieces(in, in.size());
  Run pieces = read_in_pieces(in, split);
  check(whole.end == pieces.end && whole.code == pieces.code, "same end whole or in pieces");
  check(whole.messages.size() == pieces.messages.size(), "same messages whole or in pieces");
  for (size_t i = 0; i < whole.messages.size(); ++i) {
    const ws::Message& m = whole.messages[i];
    check(m.kind == pieces.messages[i].kind && m.payload == pieces.messages[i].payload, "same message");
    const bool control = m.kind & 0x8;
    check(m.payload.size() <= (control ? ws::kMaxControlPayload : kLimit), "message within its limit");
    if (m.kind == ws::kText || m.kind == ws::kBinary) {
      std::string again = ws::encode_client_frame(m.kind, m.payload, {9, 8, 7, 6});
      Run back = read_in_pieces(again, again.size());
      check(back.messages.size() == 1 && back.messages[0].payload == m.payload, "re-encoded message reads back");
      std::string server = ws::encode_frame(m.kind, m.payload);
      check(server.size() >= m.payload.size() + 2, "server frame carries the payload");
    }
  }
}

void fuzz_auth(const std::string& in) {
  static const AuthChallenge ch{std::string(64, 'a'), 1'700'000'000};
  static const pilot::PublicKey key{1, 2, 3};
  AuthResult r = check_auth_reply(in, ch, ch.ts + 1, [](uint32_t id) -> std::optional<pilot::PublicKey> {
    if (id == 7) return key;
    return std::nullopt;
  });
  check(!r.ok(), "no signature by an unknown secret key passes");
  check(r.node_id == 0, "a failure names no node");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (mode % 3) {
    case 0: fuzz_head(in); break;
    case 1: fuzz_frames(in, mode >> 2); break;
    case 2: fuzz_auth(in); break;
  }
  return 0;
}
