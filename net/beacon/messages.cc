#include "net/beacon/messages.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace pilot::beacon {
namespace {

uint8_t byte_at(std::string_view d, size_t i) { return static_cast<uint8_t>(d[i]); }

uint32_t be32(std::string_view d, size_t at) {
  return (uint32_t{byte_at(d, at)} << 24) | (uint32_t{byte_at(d, at + 1)} << 16) | (uint32_t{byte_at(d, at + 2)} << 8) |
         uint32_t{byte_at(d, at + 3)};
}

uint64_t be64(std::string_view d, size_t at) { return (uint64_t{be32(d, at)} << 32) | be32(d, at + 4); }

void put8(Head& h, uint8_t v) { h.b[h.n++] = static_cast<char>(v); }
void put16(Head& h, uint16_t v) {
  put8(h, static_cast<uint8_t>(v >> 8));
  put8(h, static_cast<uint8_t>(v));
}
void put32(Head& h, uint32_t v) {
  put16(h, static_cast<uint16_t>(v >> 16));
  put16(h, static_cast<uint16_t>(v));
}

void append32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool has_type(std::string_view d, MsgType t) { return !d.empty() && byte_at(d, 0) == static_cast<uint8_t>(t); }

std::string with_payload(const Head& h, std::string_view payload) {
  std::string s(h.view());
  s.append(payload);
  return s;
}

}  // namespace

uint32_t Sync::id(size_t i) const { return be32(ids, 4 * i); }

std::optional<Endpoint> decode_addr(std::string_view b) {
  if (b.empty()) return std::nullopt;
  size_t iplen = byte_at(b, 0);
  if ((iplen != 4 && iplen != 16) || b.size() < 1 + iplen + 2) return std::nullopt;
  Endpoint e;
  if (iplen == 4) {
    e.ip[10] = e.ip[11] = 0xff;
    std::memcpy(e.ip.data() + 12, b.data() + 1, 4);
  } else {
    std::memcpy(e.ip.data(), b.data() + 1, 16);
  }
  e.port = static_cast<uint16_t>((byte_at(b, 1 + iplen) << 8) | byte_at(b, 2 + iplen));
  return e;
}

Head addr_head(MsgType type, const Endpoint& ep) {
  Head h;
  put8(h, static_cast<uint8_t>(type));
  if (ep.is_v4()) {
    put8(h, 4);
    for (int i = 12; i < 16; ++i) put8(h, ep.ip[i]);
  } else {
    put8(h, 16);
    for (uint8_t c : ep.ip) put8(h, c);
  }
  put16(h, ep.port);
  return h;
}

Head relay_head(uint32_t sender, uint32_t dest) {
  Head h;
  put8(h, static_cast<uint8_t>(MsgType::kRelay));
  put32(h, sender);
  put32(h, dest);
  return h;
}

Head relay_deliver_head(uint32_t sender) {
  Head h;
  put8(h, static_cast<uint8_t>(MsgType::kRelayDeliver));
  put32(h, sender);
  return h;
}

Head relay_deliver_dest_head(uint32_t sender, uint32_t dest) {
  Head h;
  put8(h, static_cast<uint8_t>(MsgType::kRelayDeliverDest));
  put32(h, sender);
  put32(h, dest);
  return h;
}

Head notify_head(uint8_t kind) {
  Head h;
  put8(h, static_cast<uint8_t>(MsgType::kNotify));
  put8(h, kind);
  return h;
}

std::optional<Discover> decode_discover(std::string_view d) {
  if (d.size() < kDiscoverMin) return std::nullopt;
  if (!has_type(d, MsgType::kDiscover) && !has_type(d, MsgType::kDiscoverEx)) return std::nullopt;
  Discover m;
  m.ex = has_type(d, MsgType::kDiscoverEx);
  m.node_id = be32(d, 1);
  if (d.size() >= kDiscoverWithKey) {
    PublicKey k;
    std::memcpy(k.data(), d.data() + kDiscoverMin, k.size());
    m.key = k;
  }
  return m;
}

std::optional<Endpoint> decode_discover_reply(std::string_view d) {
  if (!has_type(d, MsgType::kDiscoverReply)) return std::nullopt;
  return decode_addr(d.substr(1));
}

std::optional<PunchRequest> decode_punch_request(std::string_view d) {
  if (d.size() < kPunchRequestMin || !has_type(d, MsgType::kPunchRequest)) return std::nullopt;
  PunchRequest m;
  m.requester = be32(d, 1);
  m.target = be32(d, 5);
  if (d.size() >= kPunchRequestWithGrant) {
    Grant g;
    g.expiry_unix = static_cast<int64_t>(be64(d, kPunchRequestMin));
    std::memcpy(g.sig.data(), d.data() + kPunchRequestMin + 8, g.sig.size());
    m.grant = g;
  }
  return m;
}

std::optional<Endpoint> decode_punch_command(std::string_view d) {
  if (!has_type(d, MsgType::kPunchCommand)) return std::nullopt;
  return decode_addr(d.substr(1));
}

std::optional<Relay> decode_relay(std::string_view d) {
  if (d.size() < kRelayMin || !has_type(d, MsgType::kRelay)) return std::nullopt;
  return Relay{be32(d, 1), be32(d, 5), d.substr(kRelayMin)};
}

std::optional<RelayDeliver> decode_relay_deliver(std::string_view d) {
  if (d.size() < kRelayDeliverMin || !has_type(d, MsgType::kRelayDeliver)) return std::nullopt;
  return RelayDeliver{be32(d, 1), d.substr(kRelayDeliverMin)};
}

std::optional<RelayDeliverDest> decode_relay_deliver_dest(std::string_view d) {
  if (d.size() < kRelayDeliverDestMin || !has_type(d, MsgType::kRelayDeliverDest)) return std::nullopt;
  return RelayDeliverDest{be32(d, 1), be32(d, 5), d.substr(kRelayDeliverDestMin)};
}

std::optional<Sync> decode_sync(std::string_view d) {
  if (d.size() < kSyncMin || !has_type(d, MsgType::kSync)) return std::nullopt;
  size_t count = (size_t{byte_at(d, 5)} << 8) | byte_at(d, 6);
  if (d.size() < kSyncMin + 4 * count) return std::nullopt;
  return Sync{be32(d, 1), d.substr(kSyncMin, 4 * count)};
}

std::optional<uint8_t> decode_notify(std::string_view d) {
  if (d.size() < kNotifyMin || !has_type(d, MsgType::kNotify)) return std::nullopt;
  return byte_at(d, 1);
}

std::string encode(const Discover& m) {
  std::string s(1, static_cast<char>(m.ex ? MsgType::kDiscoverEx : MsgType::kDiscover));
  append32(s, m.node_id);
  if (m.key) s.append(reinterpret_cast<const char*>(m.key->data()), m.key->size());
  return s;
}

std::string encode(const PunchRequest& m) {
  std::string s(1, static_cast<char>(MsgType::kPunchRequest));
  append32(s, m.requester);
  append32(s, m.target);
  if (m.grant) {
    auto e = static_cast<uint64_t>(m.grant->expiry_unix);
    append32(s, static_cast<uint32_t>(e >> 32));
    append32(s, static_cast<uint32_t>(e));
    s.append(reinterpret_cast<const char*>(m.grant->sig.data()), m.grant->sig.size());
  }
  return s;
}

std::string encode(const Relay& m) { return with_payload(relay_head(m.sender, m.dest), m.payload); }
std::string encode(const RelayDeliver& m) { return with_payload(relay_deliver_head(m.sender), m.payload); }
std::string encode(const RelayDeliverDest& m) {
  return with_payload(relay_deliver_dest_head(m.sender, m.dest), m.payload);
}
std::string encode_discover_reply(const Endpoint& observed) {
  return std::string(addr_head(MsgType::kDiscoverReply, observed).view());
}
std::string encode_punch_command(const Endpoint& peer) {
  return std::string(addr_head(MsgType::kPunchCommand, peer).view());
}
std::string encode_notify(uint8_t kind) { return std::string(notify_head(kind).view()); }

std::string encode_sync(uint32_t beacon_id, std::span<const uint32_t> ids) {
  size_t n = std::min(ids.size(), kMaxSyncCount);
  std::string s;
  s.reserve(kSyncMin + 4 * n);
  s.push_back(static_cast<char>(MsgType::kSync));
  append32(s, beacon_id);
  s.push_back(static_cast<char>(n >> 8));
  s.push_back(static_cast<char>(n & 0xff));
  for (size_t i = 0; i < n; ++i) append32(s, ids[i]);
  return s;
}

namespace {
constexpr char kSyncAuthMagic[4] = {'P', 'G', 'A', '1'};

std::array<unsigned char, crypto_auth_hmacsha256_BYTES> sync_mac(std::string_view secret,
                                                                 std::string_view signed_part) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size());
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256_final(&st, mac.data());
  return mac;
}
}  // namespace

std::string sync_auth_trailer(std::string_view secret, std::string_view sync, uint64_t stamp_ns) {
  std::string signed_part(sync);
  signed_part.append(kSyncAuthMagic, sizeof kSyncAuthMagic);
  append32(signed_part, static_cast<uint32_t>(stamp_ns >> 32));
  append32(signed_part, static_cast<uint32_t>(stamp_ns));
  const auto mac = sync_mac(secret, signed_part);
  std::string trailer = signed_part.substr(sync.size());
  trailer.append(reinterpret_cast<const char*>(mac.data()), mac.size());
  return trailer;
}

std::optional<SyncAuth> verify_sync_auth(std::string_view secret, std::string_view d) {
  auto m = decode_sync(d);
  if (!m) return std::nullopt;
  const size_t body = kSyncMin + 4 * m->count();
  if (d.size() != body + kSyncAuthTrailer) return std::nullopt;
  if (std::memcmp(d.data() + body, kSyncAuthMagic, sizeof kSyncAuthMagic) != 0) return std::nullopt;
  const std::string_view signed_part = d.substr(0, d.size() - crypto_auth_hmacsha256_BYTES);
  const auto want = sync_mac(secret, signed_part);
  if (sodium_memcmp(want.data(), d.data() + signed_part.size(), want.size()) != 0) return std::nullopt;
  return SyncAuth{d.substr(0, body), be64(d, body + sizeof kSyncAuthMagic)};
}

std::string punch_grant_message(uint32_t requester, uint32_t target, int64_t expiry_unix) {
  return "punch-grant:" + std::to_string(requester) + ":" + std::to_string(target) + ":" + std::to_string(expiry_unix);
}

}  // namespace pilot::beacon
