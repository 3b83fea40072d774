// The server side of RFC 6455 (WebSocket) as pure functions over bytes, for the
// beacon's compat bridge (spec/beacon.md §10; the server around it is wss_server.h).
// No sockets, no clock: everything here is fuzzed (test/fuzz/fuzz_ws_codec.cc).
//
//   parse_request_head   the HTTP/1.1 request line and headers, up to "\r\n\r\n"
//   check_upgrade        is it a valid version-13 upgrade? → Sec-WebSocket-Accept and
//                        the subprotocol to echo (`pilot.v1` when offered)
//   MessageReader        client frames → whole messages: unmasking, fragmentation,
//                        control frames between fragments, the size limit counted
//                        on the frame header before a payload byte is buffered
//   encode_frame / encode_close   server frames (never masked, never fragmented)
//
// Only what the bridge needs: no extensions (a frame with RSV bits is a protocol
// error, and permessage-deflate is never negotiated), no UTF-8 validation of text
// messages (the only text the bridge reads is the auth reply, which the JSON parser
// rejects when it is not UTF-8; later text messages are ignored, §10.3).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pilot::beacon::ws {

inline constexpr size_t kMaxRequestHead = 8192;  // request line + headers
inline constexpr size_t kMaxControlPayload = 125;
inline constexpr std::string_view kSubprotocol = "pilot.v1";

// base64(SHA-1(key ‖ "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), RFC 6455 §4.2.2.
std::string accept_key(std::string_view client_key);

struct RequestHead {
  std::string method, target, version;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  size_t size = 0;                                           // bytes consumed, "\r\n\r\n" included
  // The first header named `lower_name` ("" if none); `all` joins repeats with ", ".
  std::string header(std::string_view lower_name) const;
  std::string path() const;  // target without "?query"
};

enum class HeadStatus { kIncomplete, kDone, kBad, kTooLarge };
// Parses from the start of `buf`. kIncomplete: no "\r\n\r\n" yet (and under the limit).
HeadStatus parse_request_head(std::string_view buf, RequestHead& out);

struct UpgradeCheck {
  int status = 0;           // 101 to upgrade, else the HTTP error to answer (400, 403, 426)
  std::string error;        // why not, for the log
  std::string accept;       // Sec-WebSocket-Accept
  std::string subprotocol;  // to echo ("" when the client offered none we speak)
};
// A GET with Upgrade: websocket, Connection: upgrade, Sec-WebSocket-Version: 13 and a
// key of 16 base64 bytes. Origin: absent (daemons send none), `pilot://…`, or the
// request's own host — as the reference's library with OriginPatterns "pilot://*".
UpgradeCheck check_upgrade(const RequestHead& req);

// "HTTP/1.1 101 Switching Protocols" with the accept key (and subprotocol).
std::string upgrade_response(const UpgradeCheck& up);
// A complete non-upgrade answer with Connection: close.
std::string http_response(int status, std::string_view body, std::string_view extra_headers = {});

enum Opcode : uint8_t { kContinuation = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9, kPong = 0xA };

// Close status codes the bridge sends (RFC 6455 §7.4.1).
enum CloseCode : uint16_t {
  kNormal = 1000,           // "replaced" (a newer session for the id)
  kGoingAway = 1001,        // "beacon shutting down"
  kProtocolError = 1002,    // a frame that breaks RFC 6455
  kPolicyViolation = 1008,  // "auth failed"
  kMessageTooBig = 1009,    // over the 65,536-byte limit
};

// A server frame: FIN set, unmasked, the shortest length form.
std::string encode_frame(Opcode op, std::string_view payload);
// Header only, for a payload the caller appends itself (head ‖ body without a copy).
size_t encode_frame_header(Opcode op, uint64_t length, uint8_t out[10]);
std::string encode_close(uint16_t code, std::string_view reason);
// A client frame (masked with `mask`), for tests and the fuzz target's round trip.
std::string encode_client_frame(Opcode op, std::string_view payload, std::array<uint8_t, 4> mask, bool fin = true,
                                uint8_t rsv = 0);

struct Message {
  Opcode kind = kBinary;  // kText, kBinary, kClose, kPing or kPong
  std::string payload;    // unmasked; for kClose the raw body (code ‖ reason)
  // kClose: the status code (1005 "no status" when the body is empty).
  uint16_t close_code() const;
};

// Client frames → messages. Feed it bytes as they arrive; take messages out.
class MessageReader {
 public:
  explicit MessageReader(size_t max_message) : max_(max_message) {}

  enum class Status { kMessage, kNeedMore, kError };
  // Consumes from the front of `buf` what it has used. kMessage: `out` is a whole
  // message (data or control). kError: error_code()/error() say why; the reader is
  // then done (every later call returns kError).
  Status next(std::string& buf, Message& out);

  uint16_t error_code() const { return error_code_; }  // kProtocolError or kMessageTooBig
  const std::string& error() const { return error_; }
  // Bytes of a frame or message that has started but not finished (EOF now = truncated).
  bool mid_message() const { return fragmented_; }
  // Memory held for a fragmented message (its capacity).
  size_t buffered() const { return frag_.capacity(); }

 private:
  Status fail(uint16_t code, std::string why);

  size_t max_;
  bool fragmented_ = false;  // a text/binary message is waiting for continuations
  Opcode frag_kind_ = kBinary;
  std::string frag_;
  uint16_t error_code_ = 0;
  std::string error_;
};

}  // namespace pilot::beacon::ws
