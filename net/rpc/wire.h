// Every byte the registry port speaks (spec/rendezvous.md §2.2–§2.4, §6.2), in one
// place: the two framings and the binary `PILT` messages. Pure functions, no sockets;
// the listener (issue 3) feeds them bytes and writes what they return.
//
//   JSON mode    [u32 BE length][JSON object]                    length <= 64 MiB
//   binary mode  "PILT" 0x01 once, then per frame:
//                [u32 BE length L][u8 type][L-1 bytes payload]    1 <= L <= 64 MiB
//
//   type  dir   payload (integers big-endian, keys/signatures raw)
//   0x00  both  JSON object bytes (dispatched like a JSON-mode request)
//   0x01  C→S   heartbeat  [4 node_id][64 sig over "heartbeat:<node_id>"]         >= 68 B
//   0x81  S→C             [8 unix seconds][1 flags: bit0 key_expiry_warning]
//   0x02  C→S   lookup     [4 node_id]                                             >= 4 B
//   0x82  S→C             [4 id][1 flags: 1 public, 2 task_exec][4 reserved 0]
//                         [2 n][n × 2 net][1 len][key][1 len][hostname]
//                         [1 n][n × (1 len + tag)][2 len][real_addr][1 len][ext id, always 0]
//   0x03  C→S   resolve    [4 node_id][4 requester_id][64 sig over
//                          "resolve:<requester_id>:<node_id>"]                     >= 72 B
//   0x83  S→C             [4 id][2 len][real_addr][2 n][n × (2 len + lan addr)]
//                         [4 key_age_days, 0xFFFFFFFF = unknown]
//   0xFF  S→C   error      [2 len][message, at most 65,000 bytes]
//
// Items with a 1-byte length or count are truncated to 255 when encoding; decoders
// refuse counts above 1024 and any truncated payload.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "core/ed25519.h"

namespace pilot::wire {

inline constexpr char kMagic[4] = {'P', 'I', 'L', 'T'};
inline constexpr uint8_t kVersion = 1;
inline constexpr uint32_t kMaxFrame = 64u << 20;  // 67,108,864
inline constexpr size_t kMaxItems = 1024;
inline constexpr size_t kMaxErrorMessage = 65000;
inline constexpr uint32_t kUnknownKeyAge = 0xFFFFFFFF;

enum class MsgType : uint8_t {
  kJson = 0x00,
  kHeartbeat = 0x01,
  kLookup = 0x02,
  kResolve = 0x03,
  kHeartbeatResponse = 0x81,
  kLookupResponse = 0x82,
  kResolveResponse = 0x83,
  kError = 0xFF,
};

// ---- mode detection (§2.2) --------------------------------------------------------

enum class Mode { kUndecided, kJson, kBinary };
// kUndecided until 4 bytes are there. Binary consumes the 4 magic bytes; the version
// byte that follows is checked with check_version().
Mode detect_mode(std::string_view first_bytes);
// "" if `v` is supported, else the error message for the 0xFF frame.
std::string check_version(uint8_t v);

// ---- framing ----------------------------------------------------------------------

enum class FrameStatus { kNeedMore, kFrame, kBad };

struct Frame {
  MsgType type = MsgType::kJson;  // always kJson in JSON mode
  std::string_view body;          // JSON text, or the binary payload after the type byte
  size_t consumed = 0;            // bytes of `buf` the frame took
};

// kBad (with `why`) means: close the connection.
FrameStatus next_json_frame(std::string_view buf, Frame& out, std::string& why);
FrameStatus next_binary_frame(std::string_view buf, Frame& out, std::string& why);

std::string json_frame(std::string_view json);
std::string binary_frame(MsgType type, std::string_view payload);

// ---- binary messages --------------------------------------------------------------

struct HeartbeatRequest {
  uint32_t node_id = 0;
  Signature signature{};
  bool operator==(const HeartbeatRequest&) const = default;
};
struct LookupRequest {
  uint32_t node_id = 0;
  bool operator==(const LookupRequest&) const = default;
};
struct ResolveRequest {
  uint32_t node_id = 0;
  uint32_t requester_id = 0;
  Signature signature{};
  bool operator==(const ResolveRequest&) const = default;
};
struct HeartbeatResponse {
  int64_t unix_time = 0;
  bool key_expiry_warning = false;
  bool operator==(const HeartbeatResponse&) const = default;
};
struct LookupResponse {
  uint32_t node_id = 0;
  bool is_public = false;
  bool task_exec = false;
  std::vector<uint16_t> networks;
  PublicKey public_key{};
  std::string hostname;
  std::vector<std::string> tags;
  std::string real_addr;  // empty for private nodes
  bool operator==(const LookupResponse&) const = default;
};
struct ResolveResponse {
  uint32_t node_id = 0;
  std::string real_addr;
  std::vector<std::string> lan_addrs;
  uint32_t key_age_days = kUnknownKeyAge;
  bool operator==(const ResolveResponse&) const = default;
};

// Server side: requests in, responses out. Decoders put the spec's error text
// ("heartbeat request too short: N bytes", …) in `error`.
std::optional<HeartbeatRequest> decode_heartbeat_request(std::string_view payload, std::string& error);
std::optional<LookupRequest> decode_lookup_request(std::string_view payload, std::string& error);
std::optional<ResolveRequest> decode_resolve_request(std::string_view payload, std::string& error);
std::string encode(const HeartbeatResponse& r);
std::string encode(const LookupResponse& r);
std::string encode(const ResolveResponse& r);
std::string encode_error(std::string_view message);

// Client side (tests, pilot-bench): the mirror images.
std::string encode(const HeartbeatRequest& r);
std::string encode(const LookupRequest& r);
std::string encode(const ResolveRequest& r);
std::optional<HeartbeatResponse> decode_heartbeat_response(std::string_view payload);
std::optional<LookupResponse> decode_lookup_response(std::string_view payload);
std::optional<ResolveResponse> decode_resolve_response(std::string_view payload);
std::optional<std::string> decode_error(std::string_view payload);

// The challenge strings these messages sign (Appendix A).
std::string heartbeat_challenge(uint32_t node_id);
std::string resolve_challenge(uint32_t requester_id, uint32_t node_id);

// `heartbeat_ok`, byte-exact as the reference (§6.2: keys sorted as Go's encoder does).
std::string heartbeat_ok_json(int64_t unix_time, bool key_expiry_warning);

}  // namespace pilot::wire
