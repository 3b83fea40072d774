#include "net/replication/snapshot_messages.h"

#include <cstring>

namespace pilot::repl {
namespace {

void put_le(std::string& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A frame: u32 body length, u8 type, body (messages.h).
std::string frame(MsgType type, std::string_view body) {
  std::string out;
  out.reserve(kFrameHeaderSize + body.size());
  put_le(out, body.size(), 4);
  out.push_back(static_cast<char>(type));
  out.append(body);
  return out;
}

class Cursor {
 public:
  explicit Cursor(std::string_view b) : b_(b) {}
  bool le(uint64_t& v, int n) {
    if (b_.size() - pos_ < static_cast<size_t>(n)) return false;
    v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(b_[pos_ + i])) << (8 * i);
    pos_ += static_cast<size_t>(n);
    return true;
  }
  bool raw(size_t n, std::string_view& v) {
    if (b_.size() - pos_ < n) return false;
    v = b_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool hash(log::Hash& h) {
    std::string_view v;
    if (!raw(h.size(), v)) return false;
    std::memcpy(h.data(), v.data(), h.size());
    return true;
  }
  std::string_view rest() {
    std::string_view r = b_.substr(pos_);
    pos_ = b_.size();
    return r;
  }
  bool at_end() const { return pos_ == b_.size(); }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

std::string_view as_bytes(const log::Hash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

}  // namespace

std::string encode(const SnapshotRequest& m) {
  std::string body(kHelloMagic, sizeof kHelloMagic);
  put_le(body, m.version, 2);
  const size_t n = std::min(m.token.size(), kMaxTokenBytes);
  put_le(body, n, 2);
  body.append(m.token, 0, n);
  put_le(body, m.term, 8);
  put_le(body, m.last_seq, 8);
  return frame(MsgType::kSnapshotRequest, body);
}

std::string encode(const SnapshotChunk& m) {
  std::string body;
  body.reserve(kSnapshotChunkHeader + m.data.size());
  put_le(body, m.offset, 8);
  body.append(as_bytes(m.running_hash));
  body.append(m.data);
  return frame(MsgType::kSnapshotChunk, body);
}

std::string encode(const SnapshotEnd& m) {
  std::string body;
  put_le(body, m.size, 8);
  put_le(body, m.last_seq, 8);
  put_le(body, m.term, 8);
  body.append(as_bytes(m.last_hash));
  body.append(as_bytes(m.file_hash));
  return frame(MsgType::kSnapshotEnd, body);
}

std::optional<SnapshotRequest> decode_snapshot_request(std::string_view body) {
  Cursor in(body);
  std::string_view magic, token;
  uint64_t version = 0, len = 0;
  SnapshotRequest m;
  if (!in.raw(sizeof kHelloMagic, magic) || std::memcmp(magic.data(), kHelloMagic, sizeof kHelloMagic) != 0)
    return std::nullopt;
  if (!in.le(version, 2) || !in.le(len, 2) || len > kMaxTokenBytes || !in.raw(len, token)) return std::nullopt;
  if (!in.le(m.term, 8) || !in.le(m.last_seq, 8) || !in.at_end()) return std::nullopt;
  m.version = static_cast<uint16_t>(version);
  m.token = std::string(token);
  return m;
}

std::optional<SnapshotChunk> decode_snapshot_chunk(std::string_view body) {
  Cursor in(body);
  SnapshotChunk m;
  if (!in.le(m.offset, 8) || !in.hash(m.running_hash)) return std::nullopt;
  m.data = in.rest();
  if (m.data.empty() || m.data.size() > kSnapshotChunkBytes) return std::nullopt;
  if (m.offset > UINT64_MAX - m.data.size()) return std::nullopt;
  return m;
}

std::optional<SnapshotEnd> decode_snapshot_end(std::string_view body) {
  Cursor in(body);
  SnapshotEnd m;
  if (!in.le(m.size, 8) || !in.le(m.last_seq, 8) || !in.le(m.term, 8) || !in.hash(m.last_hash) ||
      !in.hash(m.file_hash) || !in.at_end())
    return std::nullopt;
  return m;
}

}  // namespace pilot::repl
