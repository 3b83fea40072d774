#include "net/rpc/wire.h"

#include <algorithm>
#include <cstring>

namespace pilot::wire {
namespace {

// Big-endian writer for the binary payloads (the event codec is little-endian; the
// wire is not ours to choose).
class Out {
 public:
  void u8(uint8_t v) { s_.push_back(static_cast<char>(v)); }
  void u16(uint16_t v) { be(v, 2); }
  void u32(uint32_t v) { be(v, 4); }
  void u64(uint64_t v) { be(v, 8); }
  void raw(const void* p, size_t n) { s_.append(static_cast<const char*>(p), n); }
  // Length-prefixed string; the prefix is 1 or 2 bytes and the string is cut to fit.
  void str8(std::string_view v) {
    v = v.substr(0, 255);
    u8(static_cast<uint8_t>(v.size()));
    raw(v.data(), v.size());
  }
  void str16(std::string_view v) {
    v = v.substr(0, 65535);
    u16(static_cast<uint16_t>(v.size()));
    raw(v.data(), v.size());
  }
  std::string take() { return std::move(s_); }

 private:
  void be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) s_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string s_;
};

// Big-endian reader; the first short read latches ok() == false.
class In {
 public:
  explicit In(std::string_view s) : s_(s) {}
  bool ok() const { return ok_; }
  uint8_t u8() { return static_cast<uint8_t>(be(1)); }
  uint16_t u16() { return static_cast<uint16_t>(be(2)); }
  uint32_t u32() { return static_cast<uint32_t>(be(4)); }
  uint64_t u64() { return be(8); }
  std::string_view raw(size_t n) {
    if (!ok_ || s_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::string_view v = s_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::string str8() { return std::string(raw(u8())); }
  std::string str16() { return std::string(raw(u16())); }
  size_t count(size_t n) {
    if (n > kMaxItems) ok_ = false;
    return ok_ ? n : 0;
  }

 private:
  uint64_t be(int n) {
    std::string_view b = raw(static_cast<size_t>(n));
    uint64_t v = 0;
    for (char c : b) v = (v << 8) | static_cast<uint8_t>(c);
    return v;
  }
  std::string_view s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

uint32_t be32(std::string_view b) {
  return (uint32_t{static_cast<uint8_t>(b[0])} << 24) | (uint32_t{static_cast<uint8_t>(b[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(b[2])} << 8) | uint32_t{static_cast<uint8_t>(b[3])};
}

std::string too_short(const char* what, size_t n) {
  return std::string(what) + " request too short: " + std::to_string(n) + " bytes";
}

template <size_t N>
void copy_to(std::array<uint8_t, N>& dst, std::string_view src) {
  std::memcpy(dst.data(), src.data(), N);
}

std::string frame_header(uint32_t len) {
  Out o;
  o.u32(len);
  return o.take();
}

}  // namespace

Mode detect_mode(std::string_view b) {
  if (b.size() < 4) return Mode::kUndecided;
  return std::memcmp(b.data(), kMagic, 4) == 0 ? Mode::kBinary : Mode::kJson;
}

std::string check_version(uint8_t v) {
  if (v == kVersion) return {};
  return "unsupported wire version " + std::to_string(v);
}

FrameStatus next_json_frame(std::string_view buf, Frame& out, std::string& why) {
  if (buf.size() < 4) return FrameStatus::kNeedMore;
  const uint32_t len = be32(buf);
  if (len > kMaxFrame) {
    why = "message too large: " + std::to_string(len) + " bytes";
    return FrameStatus::kBad;
  }
  if (buf.size() - 4 < len) return FrameStatus::kNeedMore;
  out.type = MsgType::kJson;
  out.body = buf.substr(4, len);
  out.consumed = 4 + size_t{len};
  return FrameStatus::kFrame;
}

FrameStatus next_binary_frame(std::string_view buf, Frame& out, std::string& why) {
  if (buf.size() < 4) return FrameStatus::kNeedMore;
  const uint32_t len = be32(buf);
  if (len < 1 || len > kMaxFrame) {
    why = "invalid frame length " + std::to_string(len);
    return FrameStatus::kBad;
  }
  if (buf.size() - 4 < len) return FrameStatus::kNeedMore;
  out.type = static_cast<MsgType>(static_cast<uint8_t>(buf[4]));
  out.body = buf.substr(5, len - 1);
  out.consumed = 4 + size_t{len};
  return FrameStatus::kFrame;
}

std::string json_frame(std::string_view json) {
  return frame_header(static_cast<uint32_t>(json.size())) + std::string(json);
}

std::string binary_frame(MsgType type, std::string_view payload) {
  std::string f = frame_header(static_cast<uint32_t>(payload.size() + 1));
  f.push_back(static_cast<char>(type));
  f.append(payload);
  return f;
}

std::optional<HeartbeatRequest> decode_heartbeat_request(std::string_view p, std::string& error) {
  if (p.size() < 68) {
    error = too_short("heartbeat", p.size());
    return std::nullopt;
  }
  HeartbeatRequest r;
  r.node_id = be32(p);
  copy_to(r.signature, p.substr(4, 64));
  return r;
}

std::optional<LookupRequest> decode_lookup_request(std::string_view p, std::string& error) {
  if (p.size() < 4) {
    error = too_short("lookup", p.size());
    return std::nullopt;
  }
  return LookupRequest{be32(p)};
}

std::optional<ResolveRequest> decode_resolve_request(std::string_view p, std::string& error) {
  if (p.size() < 72) {
    error = too_short("resolve", p.size());
    return std::nullopt;
  }
  ResolveRequest r;
  r.node_id = be32(p);
  r.requester_id = be32(p.substr(4));
  copy_to(r.signature, p.substr(8, 64));
  return r;
}

std::string encode(const HeartbeatResponse& r) {
  Out o;
  o.u64(static_cast<uint64_t>(r.unix_time));
  o.u8(r.key_expiry_warning ? 1 : 0);
  return o.take();
}

std::string encode(const LookupResponse& r) {
  Out o;
  o.u32(r.node_id);
  o.u8((r.is_public ? 0x01 : 0) | (r.task_exec ? 0x02 : 0));
  o.u32(0);  // reserved (the old polo_score)
  const size_t nets = std::min<size_t>(r.networks.size(), 65535);
  o.u16(static_cast<uint16_t>(nets));
  for (size_t i = 0; i < nets; ++i) o.u16(r.networks[i]);
  o.u8(static_cast<uint8_t>(r.public_key.size()));
  o.raw(r.public_key.data(), r.public_key.size());
  o.str8(r.hostname);
  const size_t tags = std::min<size_t>(r.tags.size(), 255);
  o.u8(static_cast<uint8_t>(tags));
  for (size_t i = 0; i < tags; ++i) o.str8(r.tags[i]);
  o.str16(r.real_addr);
  o.u8(0);  // external id: never disclosed
  return o.take();
}

std::string encode(const ResolveResponse& r) {
  Out o;
  o.u32(r.node_id);
  o.str16(r.real_addr);
  const size_t lans = std::min<size_t>(r.lan_addrs.size(), 65535);
  o.u16(static_cast<uint16_t>(lans));
  for (size_t i = 0; i < lans; ++i) o.str16(r.lan_addrs[i]);
  o.u32(r.key_age_days);
  return o.take();
}

std::string encode_error(std::string_view message) {
  Out o;
  message = message.substr(0, kMaxErrorMessage);
  o.u16(static_cast<uint16_t>(message.size()));
  o.raw(message.data(), message.size());
  return o.take();
}

std::string encode(const HeartbeatRequest& r) {
  Out o;
  o.u32(r.node_id);
  o.raw(r.signature.data(), r.signature.size());
  return o.take();
}

std::string encode(const LookupRequest& r) {
  Out o;
  o.u32(r.node_id);
  return o.take();
}

std::string encode(const ResolveRequest& r) {
  Out o;
  o.u32(r.node_id);
  o.u32(r.requester_id);
  o.raw(r.signature.data(), r.signature.size());
  return o.take();
}

std::optional<HeartbeatResponse> decode_heartbeat_response(std::string_view p) {
  In in(p);
  HeartbeatResponse r;
  r.unix_time = static_cast<int64_t>(in.u64());
  r.key_expiry_warning = (in.u8() & 0x01) != 0;
  if (!in.ok()) return std::nullopt;
  return r;
}

std::optional<LookupResponse> decode_lookup_response(std::string_view p) {
  In in(p);
  LookupResponse r;
  r.node_id = in.u32();
  uint8_t flags = in.u8();
  r.is_public = flags & 0x01;
  r.task_exec = flags & 0x02;
  in.u32();  // reserved
  for (size_t i = 0, n = in.count(in.u16()); i < n; ++i) r.networks.push_back(in.u16());
  std::string_view key = in.raw(in.u8());
  if (in.ok() && key.size() != r.public_key.size()) return std::nullopt;
  if (in.ok()) copy_to(r.public_key, key);
  r.hostname = in.str8();
  for (size_t i = 0, n = in.count(in.u8()); i < n; ++i) r.tags.push_back(in.str8());
  r.real_addr = in.str16();
  in.str8();  // external id
  if (!in.ok()) return std::nullopt;
  return r;
}

std::optional<ResolveResponse> decode_resolve_response(std::string_view p) {
  In in(p);
  ResolveResponse r;
  r.node_id = in.u32();
  r.real_addr = in.str16();
  for (size_t i = 0, n = in.count(in.u16()); i < n; ++i) r.lan_addrs.push_back(in.str16());
  r.key_age_days = in.u32();
  if (!in.ok()) return std::nullopt;
  return r;
}

std::optional<std::string> decode_error(std::string_view p) {
  In in(p);
  std::string m = in.str16();
  if (!in.ok()) return std::nullopt;
  return m;
}

std::string heartbeat_challenge(uint32_t node_id) { return "heartbeat:" + std::to_string(node_id); }

std::string resolve_challenge(uint32_t requester_id, uint32_t node_id) {
  return "resolve:" + std::to_string(requester_id) + ":" + std::to_string(node_id);
}

std::string heartbeat_ok_json(int64_t unix_time, bool key_expiry_warning) {
  std::string t = std::to_string(unix_time);
  if (key_expiry_warning) return "{\"key_expiry_warning\":true,\"time\":" + t + ",\"type\":\"heartbeat_ok\"}";
  return "{\"time\":" + t + ",\"type\":\"heartbeat_ok\"}";
}

}  // namespace pilot::wire
