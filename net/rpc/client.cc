#include "net/rpc/client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/base64.h"

namespace pilot::rpc {
namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int err) { return std::string(std::strerror(err)); }

// "host:port" or "[v6]:port" → {host, port}.
std::pair<std::string, std::string> split_host_port(std::string_view hp) {
  if (!hp.empty() && hp.front() == '[') {
    auto close = hp.find(']');
    if (close == std::string_view::npos || close + 1 >= hp.size() || hp[close + 1] != ':')
      throw ClientError("bad address \"" + std::string(hp) + "\": want [v6]:port");
    return {std::string(hp.substr(1, close - 1)), std::string(hp.substr(close + 2))};
  }
  auto colon = hp.rfind(':');
  if (colon == std::string_view::npos || hp.find(':') != colon)
    throw ClientError("bad address \"" + std::string(hp) + "\": want host:port");
  return {std::string(hp.substr(0, colon)), std::string(hp.substr(colon + 1))};
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Non-blocking connect bounded by `deadline`; returns a blocking fd or -1 with `err`.
int connect_one(const addrinfo* ai, Clock::time_point deadline, std::string& err) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0) {
    err = "socket: " + errno_text(errno);
    return -1;
  }
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
    err = "connect: " + errno_text(errno);
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int r;
  do {
    r = ::poll(&p, 1, remaining_ms(deadline));
  } while (r < 0 && errno == EINTR);
  if (r == 0) {
    err = "connect: timed out";
    ::close(fd);
    return -1;
  }
  int so_err = 0;
  socklen_t len = sizeof so_err;
  if (r < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_err, &len) != 0 || so_err != 0) {
    err = "connect: " + errno_text(r < 0 ? errno : so_err);
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

uint32_t be32(std::string_view b) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[0])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[2])) << 8) | static_cast<uint32_t>(static_cast<uint8_t>(b[3]));
}

std::string type_hex(wire::MsgType t) {
  static const char* kHex = "0123456789abcdef";
  auto v = static_cast<uint8_t>(t);
  return std::string("0x") + kHex[v >> 4] + kHex[v & 15];
}

}  // namespace

// ---- Client -------------------------------------------------------------------------

Client Client::connect(std::string_view host_port, Mode mode, ClientOptions opts) {
  auto [host, port] = split_host_port(host_port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    throw ClientError("resolve " + std::string(host_port) + ": " + ::gai_strerror(rc));
  const auto deadline = Clock::now() + opts.connect_timeout;
  std::string err = "no addresses";
  int fd = -1;
  for (addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) fd = connect_one(ai, deadline, err);
  ::freeaddrinfo(res);
  if (fd < 0) throw ClientError("connect to " + std::string(host_port) + " failed: " + err);
  Client c(fd, mode, opts);
  if (mode == Mode::kBinary) {
    std::string preamble(wire::kMagic, sizeof wire::kMagic);
    preamble.push_back(static_cast<char>(opts.wire_version));
    c.write_all(preamble);
  }
  return c;
}

Client::Client(Client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      mode_(other.mode_),
      opts_(other.opts_),
      discarded_(std::move(other.discarded_)) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    mode_ = other.mode_;
    opts_ = other.opts_;
    discarded_ = std::move(other.discarded_);
  }
  return *this;
}

Client::~Client() { close(); }

void Client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

uint16_t Client::local_port() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

void Client::write_all(std::string_view bytes) {
  if (fd_ < 0) throw ClientError("write on a closed client");
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ClientError("send failed: " + errno_text(errno));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

std::string Client::read_exact(size_t n) {
  if (fd_ < 0) throw ClientError("read on a closed client");
  const auto deadline = Clock::now() + opts_.recv_timeout;
  std::string out;
  out.resize(n);
  size_t got = 0;
  while (got < n) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw ClientError("poll failed: " + errno_text(errno));
    if (r == 0)
      throw ClientError("timed out after " + std::to_string(opts_.recv_timeout.count()) + " ms waiting for " +
                        std::to_string(n - got) + " more bytes");
    ssize_t k = ::recv(fd_, out.data() + got, n - got, 0);
    if (k == 0) throw ClientError("connection closed by server");
    if (k < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ECONNRESET) throw ClientError("connection reset by server");
      throw ClientError("recv failed: " + errno_text(errno));
    }
    got += static_cast<size_t>(k);
  }
  return out;
}

void Client::send_bytes(std::string_view bytes) { write_all(bytes); }

void Client::shutdown_write() {
  if (fd_ >= 0 && ::shutdown(fd_, SHUT_WR) != 0) throw ClientError("shutdown failed: " + errno_text(errno));
}

bool Client::wait_closed(std::chrono::milliseconds t) {
  if (fd_ < 0) return true;
  const auto deadline = Clock::now() + t;
  char buf[4096];
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t k = ::recv(fd_, buf, sizeof buf, 0);
    if (k == 0) return true;
    if (k < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno == ECONNRESET || errno == EPIPE;
    }
    discarded_.append(buf, static_cast<size_t>(k));
  }
}

void Client::send_json(std::string_view body) {
  if (mode_ == Mode::kBinary) return send_frame(wire::MsgType::kJson, body);
  write_all(wire::json_frame(body));
}

std::string Client::recv_json() {
  if (mode_ == Mode::kBinary) {
    Frame f = recv_frame();
    if (f.type == wire::MsgType::kError) {
      auto msg = wire::decode_error(f.payload);
      throw ClientError("server answered 0xFF: " + (msg ? *msg : std::string("<undecodable>")));
    }
    if (f.type != wire::MsgType::kJson) throw ClientError("expected a 0x00 frame, got " + type_hex(f.type));
    return std::move(f.payload);
  }
  const uint32_t len = be32(read_exact(4));
  if (len > wire::kMaxFrame) throw ClientError("response length " + std::to_string(len) + " exceeds 64 MiB");
  return read_exact(len);
}

std::string Client::call_raw(std::string_view body) {
  send_json(body);
  return recv_json();
}

nlohmann::json Client::call(const nlohmann::json& req) {
  std::string raw = call_raw(req.dump());
  auto j = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw ClientError("response is not JSON: " + raw);
  return j;
}

void Client::send_frame(wire::MsgType type, std::string_view payload) { write_all(wire::binary_frame(type, payload)); }

Client::Frame Client::recv_frame() {
  const uint32_t len = be32(read_exact(4));
  if (len < 1) throw ClientError("binary frame with length 0");
  if (len > wire::kMaxFrame) throw ClientError("binary frame length " + std::to_string(len) + " exceeds 64 MiB");
  std::string body = read_exact(len);
  Frame f;
  f.type = static_cast<wire::MsgType>(static_cast<uint8_t>(body[0]));
  f.payload = body.substr(1);
  return f;
}

template <class T, class Decode>
BinaryReply<T> Client::binary_call(wire::MsgType req, std::string_view payload, wire::MsgType want, Decode decode) {
  send_frame(req, payload);
  Frame f = recv_frame();
  BinaryReply<T> out;
  if (f.type == wire::MsgType::kError) {
    auto msg = wire::decode_error(f.payload);
    if (!msg) throw ClientError("undecodable 0xFF frame");
    out.error = *msg;
    return out;
  }
  if (f.type != want) throw ClientError("expected a " + type_hex(want) + " frame, got " + type_hex(f.type));
  out.value = decode(f.payload);
  if (!out.value) throw ClientError("undecodable " + type_hex(want) + " payload");
  return out;
}

BinaryReply<wire::HeartbeatResponse> Client::heartbeat(uint32_t node_id, const Signature& sig) {
  return binary_call<wire::HeartbeatResponse>(wire::MsgType::kHeartbeat,
                                              wire::encode(wire::HeartbeatRequest{node_id, sig}),
                                              wire::MsgType::kHeartbeatResponse, wire::decode_heartbeat_response);
}

BinaryReply<wire::LookupResponse> Client::lookup(uint32_t node_id) {
  return binary_call<wire::LookupResponse>(wire::MsgType::kLookup, wire::encode(wire::LookupRequest{node_id}),
                                           wire::MsgType::kLookupResponse, wire::decode_lookup_response);
}

BinaryReply<wire::ResolveResponse> Client::resolve(uint32_t node_id, uint32_t requester_id, const Signature& sig) {
  return binary_call<wire::ResolveResponse>(wire::MsgType::kResolve,
                                            wire::encode(wire::ResolveRequest{node_id, requester_id, sig}),
                                            wire::MsgType::kResolveResponse, wire::decode_resolve_response);
}

// ---- Identity -----------------------------------------------------------------------

namespace {
std::string num(uint32_t v) { return std::to_string(v); }
}  // namespace

Identity::Identity() {
  crypto_init();
  keys_ = KeyPair::generate();
}

std::string Identity::pub_b64() const { return encode_public_key(keys_.public_key); }

std::string Identity::sign_b64(std::string_view challenge) const { return encode_signature(sign(challenge)); }

nlohmann::json Identity::unsigned_register_req(std::string_view listen_addr) const {
  return {{"type", "register"}, {"listen_addr", listen_addr}, {"public_key", pub_b64()}};
}

nlohmann::json Identity::register_req(std::string_view listen_addr) const {
  auto j = unsigned_register_req(listen_addr);
  j["signature"] = sign_b64("register:" + std::string(listen_addr) + ":" + pub_b64());
  return j;
}

nlohmann::json Identity::heartbeat_req(uint32_t node_id) const {
  return {{"type", "heartbeat"}, {"node_id", node_id}, {"signature", sign_b64(wire::heartbeat_challenge(node_id))}};
}

nlohmann::json Identity::heartbeat_req_ts(uint32_t node_id, int64_t ts) const {
  return {{"type", "heartbeat"},
          {"node_id", node_id},
          {"ts", ts},
          {"signature", sign_b64("heartbeat:" + num(node_id) + ":" + std::to_string(ts))}};
}

nlohmann::json Identity::resolve_req(uint32_t requester_id, uint32_t node_id) const {
  return {{"type", "resolve"},
          {"node_id", node_id},
          {"requester_id", requester_id},
          {"signature", sign_b64(wire::resolve_challenge(requester_id, node_id))}};
}

nlohmann::json Identity::set_visibility_req(uint32_t node_id, bool is_public) const {
  return {{"type", "set_visibility"},
          {"node_id", node_id},
          {"public", is_public},
          {"signature", sign_b64("set_visibility:" + num(node_id))}};
}

nlohmann::json Identity::set_hostname_req(uint32_t node_id, std::string_view hostname) const {
  return {{"type", "set_hostname"},
          {"node_id", node_id},
          {"hostname", hostname},
          {"signature", sign_b64("set_hostname:" + num(node_id))}};
}

nlohmann::json Identity::set_tags_req(uint32_t node_id, const std::vector<std::string>& tags) const {
  return {
      {"type", "set_tags"}, {"node_id", node_id}, {"tags", tags}, {"signature", sign_b64("set_tags:" + num(node_id))}};
}

nlohmann::json Identity::deregister_req(uint32_t node_id) const {
  return {{"type", "deregister"}, {"node_id", node_id}, {"signature", sign_b64("deregister:" + num(node_id))}};
}

nlohmann::json Identity::punch_req(uint32_t requester_id, uint32_t node_a, uint32_t node_b) const {
  return {{"type", "punch"},
          {"requester_id", requester_id},
          {"node_a", node_a},
          {"node_b", node_b},
          {"signature", sign_b64("punch:" + num(node_a) + ":" + num(node_b))}};
}

nlohmann::json Identity::report_trust_req(uint32_t node_id, uint32_t peer_id) const {
  return {{"type", "report_trust"},
          {"node_id", node_id},
          {"peer_id", peer_id},
          {"signature", sign_b64("report_trust:" + num(node_id) + ":" + num(peer_id))}};
}

nlohmann::json Identity::revoke_trust_req(uint32_t node_id, uint32_t peer_id) const {
  return {{"type", "revoke_trust"},
          {"node_id", node_id},
          {"peer_id", peer_id},
          {"signature", sign_b64("revoke_trust:" + num(node_id) + ":" + num(peer_id))}};
}

nlohmann::json Identity::request_handshake_req(uint32_t from, uint32_t to, std::string_view justification) const {
  return {{"type", "request_handshake"},
          {"from_node_id", from},
          {"to_node_id", to},
          {"justification", justification},
          {"signature", sign_b64("handshake:" + num(from) + ":" + num(to))}};
}

nlohmann::json Identity::poll_handshakes_req(uint32_t node_id) const {
  return {
      {"type", "poll_handshakes"}, {"node_id", node_id}, {"signature", sign_b64("poll_handshakes:" + num(node_id))}};
}

nlohmann::json Identity::respond_handshake_req(uint32_t node_id, uint32_t peer_id, bool accept) const {
  return {{"type", "respond_handshake"},
          {"node_id", node_id},
          {"peer_id", peer_id},
          {"accept", accept},
          {"signature", sign_b64("respond:" + num(node_id) + ":" + num(peer_id))}};
}

nlohmann::json Identity::join_network_req(uint32_t node_id, uint32_t network_id) const {
  return {{"type", "join_network"},
          {"node_id", node_id},
          {"network_id", network_id},
          {"signature", sign_b64("join_network:" + num(node_id) + ":" + num(network_id))}};
}

nlohmann::json Identity::leave_network_req(uint32_t node_id, uint32_t network_id) const {
  return {{"type", "leave_network"},
          {"node_id", node_id},
          {"network_id", network_id},
          {"signature", sign_b64("leave_network:" + num(node_id) + ":" + num(network_id))}};
}

nlohmann::json Identity::rotate_key_req(uint32_t node_id, std::string_view new_public_key_b64) const {
  return {{"type", "rotate_key"},
          {"node_id", node_id},
          {"new_public_key", new_public_key_b64},
          {"signature", sign_b64("rotate:" + num(node_id) + ":" + std::string(new_public_key_b64))}};
}

nlohmann::json lookup_req(uint32_t node_id) { return {{"type", "lookup"}, {"node_id", node_id}}; }

nlohmann::json check_trust_req(uint32_t node_id, uint32_t peer_id) {
  return {{"type", "check_trust"}, {"node_id", node_id}, {"peer_id", peer_id}};
}

}  // namespace pilot::rpc
