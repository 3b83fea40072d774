// The bytes of the replication port, shared by the leader and the follower.
// net/replication/PROTOCOL.md tells the same story with the exchange in order.
//
// A follower opens a TCP connection to the leader's replication listener
// (--repl-addr, default :9100) and both sides send frames:
//
//   0  u32  length of the body (little-endian, like the log)
//   4  u8   message type
//   5  ...  body
//
//   follower → leader   hello      magic "PILOTREP", version, token, last seq/term/hash
//   leader → follower   welcome    the leader's term and durable seq; streaming begins
//                       refuse     a code and a reason; the leader closes
//                       records    whole log records exactly as on the leader's disk
//                       keepalive  the leader's term and durable seq, when idle
//                       rewind     the follower's last record is not on the leader's log:
//                                  the leader's term and hashes at a few seqs, so the
//                                  follower can find the last record both logs share
//                                  and cut what follows it; the leader closes
//   follower → leader   ack        the follower's durable seq
//
// Record bytes are never re-encoded: a records body is a run of log/FORMAT.md records,
// each carrying its own CRC and chain hash, which the follower checks against its own
// log before appending it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "log/format.h"

namespace pilot::repl {

inline constexpr char kHelloMagic[8] = {'P', 'I', 'L', 'O', 'T', 'R', 'E', 'P'};
inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr size_t kFrameHeaderSize = 5;
inline constexpr size_t kMaxTokenBytes = 1024;
// Every frame but records is small; the cap makes garbage fail fast.
inline constexpr uint32_t kMaxControlBody = 2048;
// A records body holds up to about kRecordsBatchBytes, plus one record that may be as
// large as the log allows (a single record over the batch size is sent alone).
inline constexpr size_t kRecordsBatchBytes = 512 * 1024;
inline constexpr uint32_t kMaxRecordsBody =
    static_cast<uint32_t>(kRecordsBatchBytes + log::kRecordHeaderSize + log::kMaxPayload);

enum class MsgType : uint8_t {
  kHello = 1,
  kWelcome = 2,
  kRefuse = 3,
  kRecords = 4,
  kAck = 5,
  kKeepalive = 6,
  kRewind = 7,
  // A snapshot transfer (snapshot_messages.h): a follower behind the retained log.
  kSnapshotRequest = 8,
  kSnapshotChunk = 9,
  kSnapshotEnd = 10,
};

// Why a leader refused a follower (then closed). The text says the rest.
enum class RefuseCode : uint16_t {
  kBadFrame = 1,      // not a hello, or a malformed one
  kBadVersion = 2,    // a protocol version this leader does not speak
  kBadToken = 3,      // the replication token does not match
  kStaleTerm = 4,     // the follower has seen a higher term than this leader's
  kDiverged = 5,      // the follower's last record is not on this leader's log
  kNeedSnapshot = 6,  // the follower is behind the leader's oldest retained record
  kBusy = 7,          // too many followers
  kLogError = 8,      // the leader cannot read its own log
  kShuttingDown = 9,
};
const char* to_string(RefuseCode c);

struct Hello {
  uint16_t version = kProtocolVersion;
  std::string token;
  uint64_t last_seq = 0;  // the follower's last appended record (0 = empty log)
  uint64_t term = 0;      // the highest term the follower has seen
  log::Hash last_hash{};  // chain hash of last_seq (zeros for an empty log)
  // A consumer (consumer.h: no log of its own, e.g. the standalone beacon): not counted
  // against --repl-max-followers, and its acks do not count for sync mode. Sent as one
  // flags byte after the hash (bit 0), only when set: a follower's hello is unchanged.
  bool consumer = false;
};
inline constexpr uint8_t kHelloFlagConsumer = 0x01;

struct Welcome {
  uint16_t version = kProtocolVersion;
  uint64_t term = 0;         // the leader's current term
  uint64_t durable_seq = 0;  // the leader's durable seq when the stream starts
};

struct Refuse {
  RefuseCode code = RefuseCode::kBadFrame;
  std::string reason;
};

struct Ack {
  uint64_t durable_seq = 0;
};

struct Keepalive {
  uint64_t term = 0;
  uint64_t durable_seq = 0;
};

// One record of the leader's log: its seq and chain hash.
struct LogPoint {
  uint64_t seq = 0;
  log::Hash hash{};
  bool operator==(const LogPoint&) const = default;
};

// The answer to a hello whose (last seq, hash) is not on the leader's log and whose
// term is not above the leader's (net/replication/rewind.h has the story). Points are
// strictly descending, every seq >= 1, at most kMaxRewindPoints of them.
inline constexpr size_t kMaxRewindPoints = 48;
struct Rewind {
  uint64_t term = 0;  // the leader's term: records cut must all be older
  std::vector<LogPoint> points;
};
static_assert(8 + 2 + kMaxRewindPoints * (8 + 32) <= kMaxControlBody, "a rewind frame is a control frame");

// Whole frames (header + body).
std::string encode(const Hello& m);
std::string encode(const Welcome& m);
std::string encode(const Refuse& m);
std::string encode(const Ack& m);
std::string encode(const Keepalive& m);
std::string encode(const Rewind& m);  // at most kMaxRewindPoints points are sent
// Only the header of a records frame: the body (record bytes) is sent as it is.
std::string records_header(size_t body_bytes);

// Bodies → messages. nullopt if the body is malformed (wrong size, bad magic, an
// over-long token or reason).
std::optional<Hello> decode_hello(std::string_view body);
std::optional<Welcome> decode_welcome(std::string_view body);
std::optional<Refuse> decode_refuse(std::string_view body);
std::optional<Ack> decode_ack(std::string_view body);
std::optional<Keepalive> decode_keepalive(std::string_view body);
// Also nullopt for points out of order, a seq 0, or more than kMaxRewindPoints.
std::optional<Rewind> decode_rewind(std::string_view body);

struct Frame {
  MsgType type = MsgType::kHello;
  std::string_view body;  // points into the buffer given to next_frame
  size_t consumed = 0;    // header + body
};

enum class FrameStatus { kFrame, kNeedMore, kBad };
// Splits the next frame off the front of `buf`. kBad (with `why`) for an unknown type or
// a length over that type's limit — the stream cannot be resynchronised after that.
FrameStatus next_frame(std::string_view buf, Frame& out, std::string& why);

// Constant-time comparison of a presented token with the configured one (the time
// taken does not depend on where they differ, nor on their lengths' relation).
bool token_matches(std::string_view presented, std::string_view configured);

}  // namespace pilot::repl
