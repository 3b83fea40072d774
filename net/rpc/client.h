// A blocking client for the registry port (spec §2.3–§2.4), for tests and tools.
// Blocking on purpose: a test reads top to bottom like the protocol exchange it
// checks, and every wait is bounded (connect timeout, per-call receive timeout), so
// a misbehaving server fails a test instead of hanging it.
//
// JSON mode sends [u32 BE length][JSON]; binary mode sends "PILT" 0x01 once and then
// [u32 BE length][type][payload] frames. The byte codecs are net/rpc/wire.h; this file
// only adds the socket. `Identity` signs the Appendix A challenge strings so tests can
// build requests by name.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/ed25519.h"
#include "net/rpc/wire.h"

namespace pilot::rpc {

// Any I/O failure, a close by the server, a timeout or an undecodable response.
class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Mode { kJson, kBinary };

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds recv_timeout{10000};
  // Binary mode: the version byte sent after "PILT" (tests send 2 to see the refusal).
  uint8_t wire_version = wire::kVersion;
};

// A decoded binary response, or the message of the 0xFF frame the server sent instead.
template <class T>
struct BinaryReply {
  std::optional<T> value;
  std::string error;  // set when the server answered 0xFF
  bool ok() const { return value.has_value(); }
  const T& operator*() const { return *value; }
  const T* operator->() const { return &*value; }
};

class Client {
 public:
  // `host_port` is "host:port" or "[v6]:port". Throws ClientError when the connection
  // cannot be made in time. Binary mode sends the 5-byte preamble at once.
  static Client connect(std::string_view host_port, Mode mode = Mode::kJson, ClientOptions opts = {});

  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  Mode mode() const { return mode_; }
  void set_recv_timeout(std::chrono::milliseconds t) { opts_.recv_timeout = t; }
  // The local port of this connection (what the server sees as the source port).
  uint16_t local_port() const;
  void close();

  // ---- JSON requests -------------------------------------------------------------
  // JSON mode: one framed request, one framed response. Binary mode: the same through
  // a 0x00 passthrough frame; a 0xFF answer throws ClientError with its message.
  nlohmann::json call(const nlohmann::json& req);
  // The response body exactly as received (for byte-exact assertions).
  std::string call_raw(std::string_view body);
  // The halves of call_raw, for pipelining or for reading after send_bytes.
  void send_json(std::string_view body);
  std::string recv_json();

  // Writes bytes as they are: garbage, truncated frames, oversized length prefixes.
  void send_bytes(std::string_view bytes);
  // Half-close: the server reads EOF after what was sent (a frame cut short for good).
  void shutdown_write();
  // True if the server closed the connection (EOF or reset) within `t`. Any data the
  // server sends meanwhile is read and discarded (collected in discarded()).
  bool wait_closed(std::chrono::milliseconds t);
  const std::string& discarded() const { return discarded_; }

  // ---- binary frames -------------------------------------------------------------
  struct Frame {
    wire::MsgType type = wire::MsgType::kJson;
    std::string payload;
  };
  void send_frame(wire::MsgType type, std::string_view payload);
  Frame recv_frame();

  BinaryReply<wire::HeartbeatResponse> heartbeat(uint32_t node_id, const Signature& sig);
  BinaryReply<wire::LookupResponse> lookup(uint32_t node_id);
  BinaryReply<wire::ResolveResponse> resolve(uint32_t node_id, uint32_t requester_id, const Signature& sig);

 private:
  Client(int fd, Mode mode, ClientOptions opts) : fd_(fd), mode_(mode), opts_(opts) {}
  void write_all(std::string_view bytes);
  // Exactly n bytes or ClientError.
  std::string read_exact(size_t n);
  template <class T, class Decode>
  BinaryReply<T> binary_call(wire::MsgType req, std::string_view payload, wire::MsgType want, Decode decode);

  int fd_ = -1;
  Mode mode_ = Mode::kJson;
  ClientOptions opts_;
  std::string discarded_;
};

// A node's key pair plus builders for the signed requests of Appendix A, so a test
// reads like the protocol: `c.call(alice.heartbeat_req(id))`.
class Identity {
 public:
  Identity();  // fresh random key
  explicit Identity(const KeyPair& keys) : keys_(keys) {}

  const KeyPair& keys() const { return keys_; }
  const PublicKey& public_key() const { return keys_.public_key; }
  std::string pub_b64() const;
  Signature sign(std::string_view challenge) const { return keys_.sign(challenge); }
  std::string sign_b64(std::string_view challenge) const;

  // register: signature over "register:<listen_addr>:<public_key>" (both as sent).
  nlohmann::json register_req(std::string_view listen_addr) const;
  nlohmann::json unsigned_register_req(std::string_view listen_addr) const;
  nlohmann::json heartbeat_req(uint32_t node_id) const;
  nlohmann::json heartbeat_req_ts(uint32_t node_id, int64_t ts) const;  // strict freshness
  nlohmann::json resolve_req(uint32_t requester_id, uint32_t node_id) const;
  nlohmann::json set_visibility_req(uint32_t node_id, bool is_public) const;
  nlohmann::json set_hostname_req(uint32_t node_id, std::string_view hostname) const;
  nlohmann::json set_tags_req(uint32_t node_id, const std::vector<std::string>& tags) const;
  nlohmann::json deregister_req(uint32_t node_id) const;
  nlohmann::json punch_req(uint32_t requester_id, uint32_t node_a, uint32_t node_b) const;
  nlohmann::json report_trust_req(uint32_t node_id, uint32_t peer_id) const;
  nlohmann::json revoke_trust_req(uint32_t node_id, uint32_t peer_id) const;
  nlohmann::json request_handshake_req(uint32_t from, uint32_t to, std::string_view justification) const;
  nlohmann::json poll_handshakes_req(uint32_t node_id) const;
  nlohmann::json respond_handshake_req(uint32_t node_id, uint32_t peer_id, bool accept) const;
  nlohmann::json join_network_req(uint32_t node_id, uint32_t network_id) const;
  nlohmann::json leave_network_req(uint32_t node_id, uint32_t network_id) const;
  // Signed by this (the current) key over "rotate:<node_id>:<new_public_key>".
  nlohmann::json rotate_key_req(uint32_t node_id, std::string_view new_public_key_b64) const;

 private:
  KeyPair keys_;
};

// Unsigned requests, for symmetry with the builders above.
nlohmann::json lookup_req(uint32_t node_id);
nlohmann::json check_trust_req(uint32_t node_id, uint32_t peer_id);

}  // namespace pilot::rpc
