// Every byte and every number of the beacon protocol (spec/beacon.md §3–§5, §11), in
// one place. Pure functions, no sockets: the engine (beacon.h) and the tests build and
// read datagrams only through this header.
//
// All integers big-endian; node ids u32, ports u16. Each datagram starts with a type
// byte < 0x10 (daemons demultiplex their one UDP socket on it: tunnel frames start
// with 'P' = 0x50). No version or checksum; authentication only by the optional Sync
// trailer below.
//
//   type  name               dir          after the type byte                     min total
//   0x01  Discover           node→beacon  id:4 [pubkey:32] [ignored…]                  5
//   0x02  DiscoverReply      beacon→node  addr (observed source)                    8 / 20
//   0x03  PunchRequest       node→beacon  requester:4 target:4 [expiry:8 sig:64]  9 (81)
//   0x04  PunchCommand       beacon→node  addr (endpoint to punch toward)           8 / 20
//   0x05  Relay              node→beacon, beacon→beacon  sender:4 dest:4 payload…      9
//   0x06  RelayDeliver       beacon→node  sender:4 payload…                             5
//   0x07  Sync               beacon→beacon  beacon_id:4 count:2 id:4 × count            7
//   0x08  DiscoverEx         node→beacon  as 0x01; relays to the id then arrive as 0x09 5
//   0x09  RelayDeliverDest   beacon→node  sender:4 dest:4 payload…                      9
//   0x0A  Notify             beacon→node  kind:1 (0x01 = handshake waiting)             2
//
//   addr = [iplen:1][ip:iplen][port:2], iplen 4 for IPv4 and IPv4-mapped IPv6, else 16.
//
// Gossip authentication (ours, optional: `-gossip-secret`). With a shared secret every
// Sync carries, right after its count × 4 id bytes, a 44-byte trailer:
//
//   "PGA1":4  stamp:8  mac:32      mac = HMAC-SHA256(secret, every byte before it:
//                                        the whole Sync, the magic and the stamp)
//
// stamp = the sender's Unix time in ns, strictly increasing per sender (a clock step
// back sends last + 1). A receiver with the secret drops (`gossip_auth`) a Sync without
// the trailer, with extra bytes after it, with a wrong mac, with a stamp more than
// kSyncAuthWindow from its own clock, or with a stamp it already accepted from that
// beacon id (from any address: a captured Sync replayed from another port or host is
// still a replay). So every beacon of an authenticated mesh needs its own
// -beacon-id. Go beacons ignore trailing bytes, so they would install our routes,
// but their untagged Syncs are dropped here: a mesh with a secret is ours only.
//
// Decoders take the whole datagram (type byte included), check the type and the
// minimum length, and ignore trailing bytes the way the reference does (the pubkey of
// Discover and the grant of PunchRequest are the only defined trailers). Decoded
// payloads are views into the input.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "core/ed25519.h"
#include "net/beacon/endpoint.h"

namespace pilot::beacon {

enum class MsgType : uint8_t {
  kDiscover = 0x01,
  kDiscoverReply = 0x02,
  kPunchRequest = 0x03,
  kPunchCommand = 0x04,
  kRelay = 0x05,
  kRelayDeliver = 0x06,
  kSync = 0x07,
  kDiscoverEx = 0x08,
  kRelayDeliverDest = 0x09,
  kNotify = 0x0A,
};
inline constexpr uint8_t kFirstNonBeaconType = 0x10;  // new types must stay below

// ---- minimum total lengths (type byte included) --------------------------------------
inline constexpr size_t kDiscoverMin = 5;
inline constexpr size_t kDiscoverWithKey = 37;  // id + Ed25519 public key
inline constexpr size_t kAddrMsgMinV4 = 8;      // type + iplen + 4 + port
inline constexpr size_t kAddrMsgMinV6 = 20;
inline constexpr size_t kPunchRequestMin = 9;
inline constexpr size_t kGrantBytes = 72;                                         // expiry:8 + sig:64
inline constexpr size_t kPunchRequestWithGrant = kPunchRequestMin + kGrantBytes;  // 81
inline constexpr size_t kRelayMin = 9;
inline constexpr size_t kRelayDeliverMin = 5;
inline constexpr size_t kSyncMin = 7;
inline constexpr size_t kRelayDeliverDestMin = 9;
inline constexpr size_t kNotifyMin = 2;
inline constexpr uint8_t kNotifyHandshakeWaiting = 0x01;

// ---- limits (§2, §5, §6, §11) --------------------------------------------------------
inline constexpr uint16_t kDefaultPort = 9001;
inline constexpr size_t kNodeShards = 64;  // shard = id & 63
inline constexpr size_t kMaxNodes = 500000;
inline constexpr size_t kShardCapacity = kMaxNodes / kNodeShards;  // 7812
inline constexpr int64_t kSecond = 1'000'000'000;
inline constexpr int64_t kNodeTtl = 600 * kSecond;             // no Discover for 10 min → reaped
inline constexpr int64_t kReapInterval = 60 * kSecond;         // so eviction happens 10–11 min after
inline constexpr int64_t kDiscoverMinInterval = 30 * kSecond;  // endpoint moves at most once per 30 s per id
inline constexpr int64_t kPunchGlobalInterval = kSecond / 10;  // 10 punches/s overall
inline constexpr int64_t kPunchPerSourceInterval = kSecond;    // 1 punch/s per source IP
inline constexpr int64_t kLimiterIdle = 300 * kSecond;         // punch/relay limiter entries swept after 5 min
inline constexpr uint32_t kRelaysPerSourcePerWindow = 4000;    // fixed window, per transport source
inline constexpr int64_t kRelayWindow = kSecond;
inline constexpr size_t kMaxRelayPayload = 65535;
inline constexpr int64_t kGossipInterval = 10 * kSecond;
inline constexpr int64_t kGossipPeerTtl = 90 * kSecond;  // routes of a silent sync source expire
inline constexpr size_t kMaxSyncCount = 65535;           // the u16 count field
inline constexpr size_t kMaxUdpPayloadV4 = 65507;        // 65535 − 20 (IPv4) − 8 (UDP)
inline constexpr size_t kMaxUdpPayloadV6 = 65527;        // 65535 − 8 (UDP); no jumbograms
inline constexpr size_t kSyncIdsPerDatagram = (kMaxUdpPayloadV4 - kSyncMin) / 4;  // 16,375
inline constexpr size_t kSyncAuthTrailer = 44;                                    // "PGA1" + stamp:8 + mac:32
inline constexpr size_t kSyncAuthIdsPerDatagram = (kMaxUdpPayloadV4 - kSyncMin - kSyncAuthTrailer) / 4;  // 16,364
inline constexpr int64_t kSyncAuthWindow = 30 * kSecond;  // |stamp − receiver's clock| at most
inline constexpr size_t kGossipSecretMin = 16;            // bytes; a shorter secret is refused at start
inline constexpr int64_t kNotifyMinInterval = kSecond;
inline constexpr size_t kBatch = 32;                 // recvmmsg / sendmmsg batch
inline constexpr int kSocketBufferBytes = 16 << 20;  // SO_RCVBUF / SO_SNDBUF requested
// Nothing longer means anything: a relay header plus the largest payload.
inline constexpr size_t kMaxDatagram = kRelayMin + kMaxRelayPayload;

// Largest UDP payload one datagram to `to` can carry.
inline size_t max_udp_payload(const Endpoint& to) { return to.is_v4() ? kMaxUdpPayloadV4 : kMaxUdpPayloadV6; }

// ---- messages ------------------------------------------------------------------------

struct Discover {
  uint32_t node_id = 0;
  bool ex = false;               // 0x08 DiscoverEx: wants 0x09 deliveries
  std::optional<PublicKey> key;  // present when ≥ 32 bytes follow the id
  bool operator==(const Discover&) const = default;
};
struct Grant {
  int64_t expiry_unix = 0;  // signed seconds
  Signature sig{};
  bool operator==(const Grant&) const = default;
};
struct PunchRequest {
  uint32_t requester = 0;
  uint32_t target = 0;
  std::optional<Grant> grant;  // present when ≥ 72 bytes follow the ids
  bool operator==(const PunchRequest&) const = default;
};
struct Relay {
  uint32_t sender = 0;
  uint32_t dest = 0;
  std::string_view payload;
  bool operator==(const Relay&) const = default;
};
struct RelayDeliver {
  uint32_t sender = 0;
  std::string_view payload;
  bool operator==(const RelayDeliver&) const = default;
};
struct RelayDeliverDest {
  uint32_t sender = 0;
  uint32_t dest = 0;
  std::string_view payload;
  bool operator==(const RelayDeliverDest&) const = default;
};
struct Sync {
  uint32_t beacon_id = 0;
  std::string_view ids;  // count × 4 big-endian bytes; read with id(i)
  size_t count() const { return ids.size() / 4; }
  uint32_t id(size_t i) const;
};

// Decoders (nullopt: wrong type or too short).
std::optional<Discover> decode_discover(std::string_view d);  // 0x01 or 0x08
std::optional<Endpoint> decode_discover_reply(std::string_view d);
std::optional<PunchRequest> decode_punch_request(std::string_view d);
std::optional<Endpoint> decode_punch_command(std::string_view d);
std::optional<Relay> decode_relay(std::string_view d);
std::optional<RelayDeliver> decode_relay_deliver(std::string_view d);
// Also nullopt when the body holds fewer than `count` ids (count 0 is valid).
std::optional<Sync> decode_sync(std::string_view d);
std::optional<RelayDeliverDest> decode_relay_deliver_dest(std::string_view d);
std::optional<uint8_t> decode_notify(std::string_view d);

// The address encoding alone: [iplen][ip][port] at the start of `b`.
std::optional<Endpoint> decode_addr(std::string_view b);

// Encoders, for tests, clients and the rare paths.
std::string encode(const Discover& m);
std::string encode(const PunchRequest& m);
std::string encode(const Relay& m);
std::string encode(const RelayDeliver& m);
std::string encode(const RelayDeliverDest& m);
std::string encode_discover_reply(const Endpoint& observed);
std::string encode_punch_command(const Endpoint& peer);
std::string encode_notify(uint8_t kind = kNotifyHandshakeWaiting);
// At most kMaxSyncCount ids are written (the count field is 16 bits).
std::string encode_sync(uint32_t beacon_id, std::span<const uint32_t> ids);

// The hot path writes only a small header and hands the payload over as a second
// piece (no copy of the payload here). A Head holds at most 20 bytes.
struct Head {
  std::array<char, 20> b{};
  uint8_t n = 0;
  std::string_view view() const { return {b.data(), n}; }
};
Head addr_head(MsgType type, const Endpoint& ep);              // DiscoverReply / PunchCommand, whole message
Head relay_head(uint32_t sender, uint32_t dest);               // 0x05, forwarded to a peer beacon
Head relay_deliver_head(uint32_t sender);                      // 0x06
Head relay_deliver_dest_head(uint32_t sender, uint32_t dest);  // 0x09
Head notify_head(uint8_t kind);

// Gossip authentication (the trailer above). `sync` is a whole Sync datagram.
std::string sync_auth_trailer(std::string_view secret, std::string_view sync, uint64_t stamp_ns);
struct SyncAuth {
  std::string_view sync;  // the Sync without its trailer
  uint64_t stamp_ns = 0;
};
// The Sync and its stamp if `d` is a Sync followed by exactly one trailer whose mac
// is right for `secret` (compared in constant time); nullopt otherwise. The stamp's
// window and order are the receiver's to check.
std::optional<SyncAuth> verify_sync_auth(std::string_view secret, std::string_view d);

// The text a punch grant signs (§7.1), signed by the *target's* key.
std::string punch_grant_message(uint32_t requester, uint32_t target, int64_t expiry_unix);

}  // namespace pilot::beacon
