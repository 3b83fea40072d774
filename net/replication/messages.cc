#include "net/replication/messages.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "net/replication/snapshot_messages.h"

namespace pilot::repl {
namespace {

// Little-endian fields, appended or read at a cursor.
class Out {
 public:
  explicit Out(MsgType t) : bytes_(kFrameHeaderSize, '\0') { bytes_[4] = static_cast<char>(t); }
  Out& u8(uint8_t v) { return le(v, 1); }
  Out& u16(uint16_t v) { return le(v, 2); }
  Out& u64(uint64_t v) { return le(v, 8); }
  Out& raw(std::string_view b) {
    bytes_.append(b);
    return *this;
  }
  std::string done() {
    const uint64_t n = bytes_.size() - kFrameHeaderSize;
    for (int i = 0; i < 4; ++i) bytes_[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return std::move(bytes_);
  }

 private:
  Out& le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string bytes_;
};

class In {
 public:
  explicit In(std::string_view b) : b_(b) {}
  bool u16(uint16_t& v) {
    uint64_t x;
    if (!le(x, 2)) return false;
    v = static_cast<uint16_t>(x);
    return true;
  }
  bool u8(uint8_t& v) {
    uint64_t x;
    if (!le(x, 1)) return false;
    v = static_cast<uint8_t>(x);
    return true;
  }
  bool u64(uint64_t& v) { return le(v, 8); }
  bool raw(size_t n, std::string_view& v) {
    if (b_.size() - pos_ < n) return false;
    v = b_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool at_end() const { return pos_ == b_.size(); }

 private:
  bool le(uint64_t& v, int n) {
    if (b_.size() - pos_ < static_cast<size_t>(n)) return false;
    v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(b_[pos_ + i])) << (8 * i);
    pos_ += static_cast<size_t>(n);
    return true;
  }
  std::string_view b_;
  size_t pos_ = 0;
};

uint32_t max_body(MsgType t) {
  if (t == MsgType::kSnapshotChunk) return kMaxSnapshotChunkBody;
  return t == MsgType::kRecords ? kMaxRecordsBody : kMaxControlBody;
}

bool known_type(uint8_t t) { return t >= 1 && t <= 10; }

}  // namespace

const char* to_string(RefuseCode c) {
  switch (c) {
    case RefuseCode::kBadFrame: return "bad frame";
    case RefuseCode::kBadVersion: return "unsupported protocol version";
    case RefuseCode::kBadToken: return "invalid replication token";
    case RefuseCode::kStaleTerm: return "stale term";
    case RefuseCode::kDiverged: return "diverged";
    case RefuseCode::kNeedSnapshot: return "snapshot needed";
    case RefuseCode::kBusy: return "too many followers";
    case RefuseCode::kLogError: return "leader log error";
    case RefuseCode::kShuttingDown: return "leader shutting down";
  }
  return "unknown";
}

std::string encode(const Hello& m) {
  // An over-long token cannot be valid; cut it so the frame stays well-formed and the
  // leader answers "invalid replication token" rather than "bad frame".
  std::string_view tok(m.token);
  if (tok.size() > kMaxTokenBytes) tok = tok.substr(0, kMaxTokenBytes);
  Out out(MsgType::kHello);
  out.raw(std::string_view(kHelloMagic, sizeof kHelloMagic))
      .u16(m.version)
      .u16(static_cast<uint16_t>(tok.size()))
      .raw(tok)
      .u64(m.last_seq)
      .u64(m.term)
      .raw(std::string_view(reinterpret_cast<const char*>(m.last_hash.data()), m.last_hash.size()));
  // The flags byte only when a flag is set: a follower's hello is the version-1 hello
  // every leader knows.
  if (m.consumer) out.u8(kHelloFlagConsumer);
  return out.done();
}

std::string encode(const Welcome& m) {
  return Out(MsgType::kWelcome).u16(m.version).u64(m.term).u64(m.durable_seq).done();
}

std::string encode(const Refuse& m) {
  std::string_view why(m.reason);
  if (why.size() > kMaxControlBody - 4) why = why.substr(0, kMaxControlBody - 4);
  return Out(MsgType::kRefuse)
      .u16(static_cast<uint16_t>(m.code))
      .u16(static_cast<uint16_t>(why.size()))
      .raw(why)
      .done();
}

std::string encode(const Ack& m) { return Out(MsgType::kAck).u64(m.durable_seq).done(); }

std::string encode(const Keepalive& m) { return Out(MsgType::kKeepalive).u64(m.term).u64(m.durable_seq).done(); }

std::string encode(const Rewind& m) {
  const size_t n = std::min(m.points.size(), kMaxRewindPoints);
  Out out(MsgType::kRewind);
  out.u64(m.term).u16(static_cast<uint16_t>(n));
  for (size_t i = 0; i < n; ++i)
    out.u64(m.points[i].seq)
        .raw(std::string_view(reinterpret_cast<const char*>(m.points[i].hash.data()), m.points[i].hash.size()));
  return out.done();
}

std::string records_header(size_t body_bytes) {
  std::string h(kFrameHeaderSize, '\0');
  for (int i = 0; i < 4; ++i) h[i] = static_cast<char>((body_bytes >> (8 * i)) & 0xff);
  h[4] = static_cast<char>(MsgType::kRecords);
  return h;
}

std::optional<Hello> decode_hello(std::string_view body) {
  In in(body);
  std::string_view magic, token, hash;
  Hello m;
  uint16_t token_len = 0;
  if (!in.raw(sizeof kHelloMagic, magic) || std::memcmp(magic.data(), kHelloMagic, sizeof kHelloMagic) != 0)
    return std::nullopt;
  if (!in.u16(m.version) || !in.u16(token_len) || token_len > kMaxTokenBytes || !in.raw(token_len, token) ||
      !in.u64(m.last_seq) || !in.u64(m.term) || !in.raw(m.last_hash.size(), hash))
    return std::nullopt;
  if (!in.at_end()) {
    // The optional flags byte: present only when a flag is set (a zero byte is not
    // what any encoder sends), unknown bits refused, and nothing after it.
    uint8_t flags = 0;
    if (!in.u8(flags) || flags == 0 || (flags & ~kHelloFlagConsumer) != 0 || !in.at_end()) return std::nullopt;
    m.consumer = (flags & kHelloFlagConsumer) != 0;
  }
  m.token.assign(token);
  std::memcpy(m.last_hash.data(), hash.data(), hash.size());
  return m;
}

std::optional<Welcome> decode_welcome(std::string_view body) {
  In in(body);
  Welcome m;
  if (!in.u16(m.version) || !in.u64(m.term) || !in.u64(m.durable_seq) || !in.at_end()) return std::nullopt;
  return m;
}

std::optional<Refuse> decode_refuse(std::string_view body) {
  In in(body);
  Refuse m;
  uint16_t code = 0, len = 0;
  std::string_view why;
  if (!in.u16(code) || !in.u16(len) || !in.raw(len, why) || !in.at_end()) return std::nullopt;
  m.code = static_cast<RefuseCode>(code);
  m.reason.assign(why);
  return m;
}

std::optional<Ack> decode_ack(std::string_view body) {
  In in(body);
  Ack m;
  if (!in.u64(m.durable_seq) || !in.at_end()) return std::nullopt;
  return m;
}

std::optional<Keepalive> decode_keepalive(std::string_view body) {
  In in(body);
  Keepalive m;
  if (!in.u64(m.term) || !in.u64(m.durable_seq) || !in.at_end()) return std::nullopt;
  return m;
}

std::optional<Rewind> decode_rewind(std::string_view body) {
  In in(body);
  Rewind m;
  uint16_t n = 0;
  if (!in.u64(m.term) || !in.u16(n) || n > kMaxRewindPoints) return std::nullopt;
  for (uint16_t i = 0; i < n; ++i) {
    LogPoint p;
    std::string_view hash;
    if (!in.u64(p.seq) || !in.raw(p.hash.size(), hash)) return std::nullopt;
    if (p.seq == 0 || (!m.points.empty() && p.seq >= m.points.back().seq)) return std::nullopt;
    std::memcpy(p.hash.data(), hash.data(), hash.size());
    m.points.push_back(p);
  }
  if (!in.at_end()) return std::nullopt;
  return m;
}

FrameStatus next_frame(std::string_view buf, Frame& out, std::string& why) {
  if (buf.size() < kFrameHeaderSize) return FrameStatus::kNeedMore;
  uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len |= static_cast<uint32_t>(static_cast<uint8_t>(buf[i])) << (8 * i);
  const uint8_t type = static_cast<uint8_t>(buf[4]);
  if (!known_type(type)) {
    why = "unknown frame type " + std::to_string(type);
    return FrameStatus::kBad;
  }
  out.type = static_cast<MsgType>(type);
  if (len > max_body(out.type)) {
    why = "frame of " + std::to_string(len) + " bytes over the limit for type " + std::to_string(type);
    return FrameStatus::kBad;
  }
  if (buf.size() - kFrameHeaderSize < len) return FrameStatus::kNeedMore;
  out.body = buf.substr(kFrameHeaderSize, len);
  out.consumed = kFrameHeaderSize + len;
  return FrameStatus::kFrame;
}

bool token_matches(std::string_view presented, std::string_view configured) {
  // Hash both to a fixed size first, so neither the length of the configured token nor
  // a common prefix shows in the timing; then compare the digests in constant time.
  uint8_t a[32], b[32];
  crypto_generichash(a, sizeof a, reinterpret_cast<const uint8_t*>(presented.data()), presented.size(), nullptr, 0);
  crypto_generichash(b, sizeof b, reinterpret_cast<const uint8_t*>(configured.data()), configured.size(), nullptr, 0);
  return !configured.empty() && sodium_memcmp(a, b, sizeof a) == 0;
}

}  // namespace pilot::repl
