#include "net/beacon/wss_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <mutex>

#include "core/logging.h"
#include "net/beacon/messages.h"
#include "net/beacon/ws_codec.h"
#include "net/beacon/wss_auth.h"
#include "net/beacon/wss_tls.h"

namespace pilot::beacon {
namespace {

constexpr size_t kReadChunk = 65536;
// A connection keeps at most this much read buffer once it has parsed what it read:
// bytes arrive in one shared chunk and only what a connection has not parsed yet is
// its own, so thousands of quiet (or unauthenticated) peers cost little memory.
constexpr size_t kKeptReadBuffer = 4096;
constexpr int kReadRounds = 4;  // per connection per wake-up, so one busy peer cannot starve the rest
constexpr int64_t kStopGrace = 3 * kSecond;
constexpr int64_t kAcceptPause = 100'000'000;  // after EMFILE: let descriptors free up

int64_t mono_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * kSecond + ts.tv_nsec;
}

int64_t unix_s() { return static_cast<int64_t>(::time(nullptr)); }

bool is_synthetic(const Endpoint& ep) { return ep.ip == WssServer::synthetic_source(0).ip; }

// Where the engine's output goes while it handles a session's packet: toward UDP nodes
// through the UDP server's socket. Toward the synthetic address (the reply to a
// Discover sent over WSS, a punch command for a WSS node) nothing is sent: the
// reference sends those into TEST-NET-1, where they go nowhere anyway.
class SessionSink : public Sink {
 public:
  explicit SessionSink(TxBatch* udp) : udp_(udp) {}
  void send(const Datagram& d) override {
    if (!is_synthetic(d.to) && udp_) udp_->send(d);
  }
  void flush() {
    if (udp_) udp_->flush();
  }

 private:
  TxBatch* udp_;
};

}  // namespace

struct WssServer::Conn : std::enable_shared_from_this<Conn> {
  enum class State { kHttp, kAuth, kOpen, kClosing };
  Conn(int f, Endpoint p, size_t max_message, int64_t d, const TlsContext* tls_ctx)
      : peer(p), reader(max_message), deadline(d), is_tls(tls_ctx != nullptr), fd(f) {
    if (tls_ctx) tls = std::make_unique<TlsStream>(*tls_ctx, f);
  }

  // Loop thread only.
  State state = State::kHttp;
  Endpoint peer;
  std::string in;
  ws::MessageReader reader;
  AuthChallenge challenge;
  int64_t deadline;  // of the current state: request head, auth, idle, close
  uint32_t node_id = 0;
  uint64_t gen = 0;
  bool session = false;  // in sessions_ (or was, until replaced)
  bool write_shut = false;
  bool peer_eof = false;
  const bool is_tls;

  // Shared with deliver() on the UDP threads. `fd` is changed (closed) only by the loop
  // under `mu`; the loop reads it without.
  std::mutex mu;
  int fd;
  std::string out;
  size_t out_off = 0;
  int64_t stalled_since = 0;  // last progress while bytes wait
  bool write_error = false;
  std::atomic<bool> writable{false};  // an open session taking deliveries
  // TLS: used by the loop thread only (deliver() never writes a TLS connection itself),
  // released under `mu` with the socket.
  std::unique_ptr<TlsStream> tls;

  bool pending() const { return out_off < out.size(); }
  // recv()/send() or their TLS equivalents (wss_tls.h): same return conventions.
  ssize_t recv_some(char* buf, size_t n) { return tls ? tls->read(buf, n) : ::recv(fd, buf, n, 0); }
  ssize_t send_some(const char* buf, size_t n) {
    return tls ? tls->write(buf, n) : ::send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  bool tls_wants_write() const { return tls && tls->wants_write(); }
  bool tls_buffered() const { return tls && tls->has_buffered(); }
};

Endpoint WssServer::synthetic_source(uint32_t node_id) {
  return Endpoint::v4(192, 0, 2, 1, static_cast<uint16_t>(node_id & 0xFFFF));
}

WssServer::WssServer(Engine& engine, Policy* policy, WssOptions opt)
    : engine_(engine), policy_(policy), opt_(std::move(opt)) {}

WssServer::~WssServer() { stop(); }

std::string WssServer::start(std::unique_ptr<TxBatch> udp) {
  std::string error;
  auto la = parse_listen_addr(opt_.addr, error);
  if (!la) return "wss listen address: " + error;
  if (!opt_.tls_cert.empty()) {
    tls_ = TlsContext::load(opt_.tls_cert, opt_.tls_key, error);
    if (!tls_) return "wss " + error;
  }
  la_ = *la;
  int fd = ::socket(la_.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("wss socket: ") + std::strerror(errno);
  int one = 1, v6only = la_.dual_stack ? 0 : 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (la_.family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  sockaddr_storage ss;
  socklen_t len = la_.ep.to_sockaddr(la_.family, ss);
  if (len == 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0 || ::listen(fd, 1024) < 0) {
    error = "wss listen on " + opt_.addr + ": " + std::strerror(errno);
    ::close(fd);
    return error;
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    error = std::string("eventfd: ") + std::strerror(errno);
    ::close(fd);
    return error;
  }
  listen_fd_ = fd;
  port_ = bound_endpoint(fd).value_or(Endpoint{}).port;
  udp_ = std::move(udp);
  started_ = true;
  thread_ = std::thread([this] { run(); });
  return "";
}

std::string WssServer::listen_text() const {
  if (la_.dual_stack) return "[::]:" + std::to_string(port_);
  Endpoint ep = la_.ep;
  ep.port = port_;
  return ep.to_string();
}

void WssServer::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  wake();
  thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  ::close(wake_fd_);
  wake_fd_ = -1;
  std::unique_lock lock(sessions_mu_);
  sessions_.clear();
}

void WssServer::wake() {
  uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
}

void WssServer::run() {
  std::vector<pollfd> p;
  int64_t stop_deadline = 0, accept_paused_until = 0;
  for (;;) {
    int64_t now = mono_ns();
    if (stopping_.load() && stop_deadline == 0) {
      stop_deadline = now + kStopGrace;
      ::close(listen_fd_);
      listen_fd_ = -1;
      for (auto& c : conns_) {
        if (c->state == Conn::State::kAuth || c->state == Conn::State::kOpen)
          begin_close(*c, now, ws::encode_close(ws::kGoingAway, "beacon shutting down"));
        else if (c->state == Conn::State::kHttp)
          finish(*c, "beacon shutting down");
      }
    }
    std::erase_if(conns_, [](const std::shared_ptr<Conn>& c) { return c->fd < 0; });
    if (stop_deadline && (conns_.empty() || now >= stop_deadline)) break;

    p.clear();
    uint64_t read_buffers = 0;
    p.push_back({wake_fd_, POLLIN, 0});
    p.push_back({listen_fd_ >= 0 && now >= accept_paused_until ? listen_fd_ : -1, POLLIN, 0});
    int64_t next = stop_deadline ? stop_deadline : now + 60 * kSecond;
    if (accept_paused_until > now) next = std::min(next, accept_paused_until);
    for (auto& c : conns_) {
      short events = c->peer_eof ? 0 : POLLIN;
      if (c->tls_wants_write()) events |= POLLOUT;
      if (c->tls_buffered()) next = now;  // decrypted bytes poll() cannot see
      {
        std::lock_guard lock(c->mu);
        if (c->pending() || c->write_error) {
          events |= POLLOUT;
          next = std::min(next, c->write_error ? now : c->stalled_since + opt_.write_timeout);
        }
      }
      next = std::min(next, c->deadline);
      p.push_back({c->fd, events, 0});
      read_buffers += c->in.capacity() + c->reader.buffered();
    }
    read_buffer_bytes_.store(read_buffers, std::memory_order_relaxed);
    const int ms = static_cast<int>(std::clamp<int64_t>((next - now) / 1'000'000 + 1, 0, 60'000));
    if (::poll(p.data(), p.size(), ms) < 0 && errno != EINTR) {
      LOG_ERROR("beacon: wss poll: %s", std::strerror(errno));
      ::usleep(10'000);
      continue;
    }
    now = mono_ns();
    if (p[0].revents) {
      uint64_t v;
      (void)!::read(wake_fd_, &v, sizeof v);
    }
    const size_t polled = conns_.size();  // accept_all appends after these
    if ((p[1].revents & POLLIN) && !accept_all(now)) accept_paused_until = now + kAcceptPause;
    for (size_t i = 0; i < polled; ++i) {
      Conn& c = *conns_[i];
      const short re = p[i + 2].revents;
      // TLS: a write the handshake or a record was waiting for, or bytes already
      // decrypted, also mean "read again".
      const bool tls_ready = c.is_tls && ((re & POLLOUT) || c.tls_buffered());
      if (c.fd >= 0 && ((re & (POLLIN | POLLHUP | POLLERR)) || tls_ready)) on_readable(c, now);
      if (c.fd >= 0 && ((re & POLLOUT) || (c.is_tls && re))) {  // TLS: a record may have waited on a read
        std::lock_guard lock(c.mu);
        flush_locked(c, now);
      }
      on_timers(c, now);
    }
  }
  for (auto& c : conns_) finish(*c, "beacon stopped");
  conns_.clear();
}

bool WssServer::accept_all(int64_t now) {
  for (int k = 0; k < 64; ++k) {
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      LOG_WARN("beacon: wss accept: %s", std::strerror(errno));
      return false;  // out of descriptors or memory: the listener would wake us at once
    }
    if (conns_.size() >= opt_.max_connections) {
      ::close(fd);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Endpoint peer = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)).value_or(Endpoint{});
    conns_.push_back(std::make_shared<Conn>(fd, peer, opt_.max_message, now + opt_.header_timeout, tls_.get()));
  }
  return true;
}

void WssServer::on_readable(Conn& c, int64_t now) {
  bool eof = false;
  read_chunk_.resize(kReadChunk);
  for (int round = 0; round < kReadRounds; ++round) {
    ssize_t n = c.recv_some(read_chunk_.data(), kReadChunk);
    if (n > 0 && c.state != Conn::State::kClosing) c.in.append(read_chunk_.data(), static_cast<size_t>(n));
    if (n > 0 && static_cast<size_t>(n) == kReadChunk) continue;
    if (n == 0) eof = true;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return finish(c, "read error");
    break;
  }
  if (c.state == Conn::State::kHttp) on_http(c, now);
  if (c.fd >= 0 && (c.state == Conn::State::kAuth || c.state == Conn::State::kOpen)) on_messages(c, now);
  if (c.in.capacity() > kKeptReadBuffer && c.in.size() <= kKeptReadBuffer) c.in.shrink_to_fit();
  if (c.fd < 0 || !eof) return;
  c.peer_eof = true;
  if (c.state == Conn::State::kClosing) {
    c.in.clear();
    return;  // on_timers finishes it once our last bytes have left
  }
  if (c.state != Conn::State::kHttp && (!c.in.empty() || c.reader.mid_message()))
    protocol_errors_.fetch_add(1, std::memory_order_relaxed);  // a truncated frame
  if (c.state == Conn::State::kAuth) auth_fail_.fetch_add(1, std::memory_order_relaxed);
  finish(c, "peer closed");
}

void WssServer::on_http(Conn& c, int64_t now) {
  ws::RequestHead req;
  switch (ws::parse_request_head(c.in, req)) {
    case ws::HeadStatus::kIncomplete: return;
    case ws::HeadStatus::kTooLarge:
      http_requests_.fetch_add(1, std::memory_order_relaxed);
      return begin_close(c, now, ws::http_response(431, "request header too large\n"));
    case ws::HeadStatus::kBad:
      http_requests_.fetch_add(1, std::memory_order_relaxed);
      return begin_close(c, now, ws::http_response(400, "bad request\n"));
    case ws::HeadStatus::kDone: break;
  }
  http_requests_.fetch_add(1, std::memory_order_relaxed);
  c.in.erase(0, req.size);
  const std::string path = req.path();
  if (path == "/health") return begin_close(c, now, ws::http_response(200, ""));
  if (path != "/v1/compat") return begin_close(c, now, ws::http_response(404, "404 page not found\n"));
  if (opt_.max_peers && counters().active_peers >= opt_.max_peers) {
    upgrade_fail_.fetch_add(1, std::memory_order_relaxed);
    return begin_close(c, now, ws::http_response(503, "wss: at capacity\n"));
  }
  ws::UpgradeCheck up = ws::check_upgrade(req);
  if (up.status != 101) {
    upgrade_fail_.fetch_add(1, std::memory_order_relaxed);
    LOG_DEBUG("beacon: wss upgrade from %s refused: %s", c.peer.to_string().c_str(), up.error.c_str());
    return begin_close(
        c, now, ws::http_response(up.status, up.error + "\n", up.status == 426 ? "Sec-WebSocket-Version: 13\r\n" : ""));
  }
  upgrade_ok_.fetch_add(1, std::memory_order_relaxed);
  c.state = Conn::State::kAuth;
  c.deadline = now + opt_.auth_timeout;
  c.challenge = make_challenge(unix_s());
  queue(c, ws::upgrade_response(up), ws::encode_frame(ws::kText, c.challenge.text()), now);
}

void WssServer::on_messages(Conn& c, int64_t now) {
  SessionSink sink(udp_.get());
  ws::Message m;
  while (c.fd >= 0 && (c.state == Conn::State::kAuth || c.state == Conn::State::kOpen)) {
    ws::MessageReader::Status st = c.reader.next(c.in, m);
    if (st == ws::MessageReader::Status::kNeedMore) break;
    if (st == ws::MessageReader::Status::kError) {
      auto& counter = c.reader.error_code() == ws::kMessageTooBig ? oversized_ : protocol_errors_;
      counter.fetch_add(1, std::memory_order_relaxed);
      if (c.state == Conn::State::kAuth) auth_fail_.fetch_add(1, std::memory_order_relaxed);
      LOG_DEBUG("beacon: wss %s (node %u): %s", c.peer.to_string().c_str(), c.node_id, c.reader.error().c_str());
      begin_close(c, now, ws::encode_close(c.reader.error_code(), c.reader.error()));
      break;
    }
    if (m.kind == ws::kPing) {
      if (queued_bytes(c) < opt_.max_queued) queue(c, ws::encode_frame(ws::kPong, m.payload), {}, now);
      continue;  // a pinger that does not read its pongs gets no more, and its writes stall
    }
    if (m.kind == ws::kPong) continue;
    if (m.kind == ws::kClose) {
      if (c.state == Conn::State::kAuth) auth_fail_.fetch_add(1, std::memory_order_relaxed);
      begin_close(c, now, m.payload.empty() ? ws::encode_frame(ws::kClose, "") : ws::encode_close(ws::kNormal, ""));
      break;
    }
    if (c.state == Conn::State::kAuth) {
      on_auth_reply(c, m.kind == ws::kText, m.payload, now);
      continue;
    }
    c.deadline = now + opt_.idle_timeout;  // any data message, text included (§10.3)
    if (m.kind != ws::kBinary) continue;   // text after the auth: ignored
    if (!is_current(c)) continue;          // a replaced session's in-flight frames
    frames_in_.fetch_add(1, std::memory_order_relaxed);
    engine_.handle(m.payload, Source{synthetic_source(c.node_id), kAnyVia}, Time{mono_ns(), unix_s()}, sink);
  }
  sink.flush();
}

void WssServer::on_auth_reply(Conn& c, bool text, const std::string& payload, int64_t now) {
  AuthResult r{AuthFailure::kNotText, 0};
  if (text)
    r = check_auth_reply(payload, c.challenge, unix_s(), [this](uint32_t id) -> std::optional<PublicKey> {
      return policy_ ? policy_->node_key(id) : std::nullopt;
    });
  if (!r.ok()) {
    auth_fail_.fetch_add(1, std::memory_order_relaxed);
    LOG_INFO("beacon: wss auth from %s failed: %s%s", c.peer.to_string().c_str(), auth_failure_label(r.failure),
             policy_ ? "" : " (no registry: this beacon knows no node keys)");
    return begin_close(c, now, ws::encode_close(ws::kPolicyViolation, "auth failed"));
  }
  auth_ok_.fetch_add(1, std::memory_order_relaxed);
  c.node_id = r.node_id;
  c.state = Conn::State::kOpen;
  c.deadline = now + opt_.idle_timeout;
  // auth_ok is queued before the session is visible and sent after: a relay delivered
  // at once (the daemon may be told "go" by a peer the moment it sees auth_ok) can
  // neither be missed nor overtake it.
  {
    std::lock_guard lock(c.mu);
    c.out.append(ws::encode_frame(ws::kText, R"({"type":"auth_ok"})"));
  }
  install_session(c.shared_from_this());
  queue(c, {}, {}, now);
  LOG_INFO("beacon: wss peer %u connected from %s", c.node_id, c.peer.to_string().c_str());
}

void WssServer::install_session(const std::shared_ptr<Conn>& c) {
  std::shared_ptr<Conn> old;
  {
    std::unique_lock lock(sessions_mu_);
    std::shared_ptr<Conn>& slot = sessions_[c->node_id];
    old = std::move(slot);
    slot = c;
    c->gen = ++next_gen_;
    c->session = true;
    c->writable.store(true);
    session_count_.store(sessions_.size(), std::memory_order_relaxed);
  }
  if (old && old != c) {
    replaced_.fetch_add(1, std::memory_order_relaxed);
    LOG_INFO("beacon: wss peer %u replaced by a newer connection", c->node_id);
    begin_close(*old, mono_ns(), ws::encode_close(ws::kNormal, "replaced"));
  }
}

void WssServer::remove_session(const Conn& c) {
  if (!c.session) return;
  std::unique_lock lock(sessions_mu_);
  auto it = sessions_.find(c.node_id);
  if (it != sessions_.end() && it->second.get() == &c) sessions_.erase(it);  // never the replacement
  session_count_.store(sessions_.size(), std::memory_order_relaxed);
}

bool WssServer::is_current(const Conn& c) {
  std::shared_lock lock(sessions_mu_);
  auto it = sessions_.find(c.node_id);
  return it != sessions_.end() && it->second.get() == &c && it->second->gen == c.gen;
}

void WssServer::begin_close(Conn& c, int64_t now, std::string last_bytes) {
  c.writable.store(false);
  remove_session(c);
  queue(c, last_bytes, {}, now);
  c.state = Conn::State::kClosing;
  c.deadline = now + opt_.close_timeout;
  c.in.clear();
  shut_write_when_sent(c);
}

void WssServer::shut_write_when_sent(Conn& c) {
  if (c.fd < 0 || c.write_shut) return;
  {
    std::lock_guard lock(c.mu);
    if (c.pending()) return;
  }
  if (c.tls) c.tls->close_notify();
  ::shutdown(c.fd, SHUT_WR);  // our last bytes have left; the peer's EOF (or the deadline) ends it
  c.write_shut = true;
}

void WssServer::finish(Conn& c, const char* why) {
  if (c.fd < 0) return;
  c.writable.store(false);
  remove_session(c);
  {
    std::lock_guard lock(c.mu);
    c.tls.reset();
    ::close(c.fd);
    c.fd = -1;
    c.out.clear();
    c.out_off = 0;
  }
  if (c.node_id) LOG_INFO("beacon: wss peer %u disconnected (%s)", c.node_id, why);
}

void WssServer::on_timers(Conn& c, int64_t now) {
  if (c.fd < 0) return;
  bool pending, write_error;
  int64_t stalled_since;
  {
    std::lock_guard lock(c.mu);
    pending = c.pending();
    write_error = c.write_error;
    stalled_since = c.stalled_since;
  }
  if (write_error) return finish(c, "write failed");
  if (pending && now - stalled_since >= opt_.write_timeout) {
    write_timeouts_.fetch_add(1, std::memory_order_relaxed);
    return finish(c, "writes stalled");
  }
  switch (c.state) {
    case Conn::State::kHttp:
      if (now >= c.deadline) finish(c, "no request in time");
      return;
    case Conn::State::kAuth:
      if (now >= c.deadline) {
        auth_fail_.fetch_add(1, std::memory_order_relaxed);
        begin_close(c, now, ws::encode_close(ws::kPolicyViolation, "auth failed"));
      }
      return;
    case Conn::State::kOpen:
      if (now >= c.deadline) {
        idle_disconnects_.fetch_add(1, std::memory_order_relaxed);
        LOG_INFO("beacon: wss peer %u idle, disconnecting", c.node_id);
        begin_close(c, now, ws::encode_close(ws::kGoingAway, "idle timeout"));
      }
      return;
    case Conn::State::kClosing:
      shut_write_when_sent(c);
      if ((c.peer_eof && !pending) || now >= c.deadline) finish(c, "closed");
      return;
  }
}

void WssServer::queue(Conn& c, std::string_view a, std::string_view b, int64_t now) {
  std::lock_guard lock(c.mu);
  if (c.fd < 0 || c.write_error) return;
  c.out.append(a);
  c.out.append(b);
  flush_locked(c, now);
}

void WssServer::flush_locked(Conn& c, int64_t now) {
  while (c.fd >= 0 && !c.write_error && c.pending()) {
    ssize_t n = c.send_some(c.out.data() + c.out_off, c.out.size() - c.out_off);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      c.stalled_since = now;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      c.write_error = true;  // the peer is gone; the loop closes it
      c.writable.store(false);
    }
  }
  if (!c.pending() || c.write_error) {
    c.out.clear();
    c.out_off = 0;
    c.stalled_since = 0;
    return;
  }
  if (c.stalled_since == 0) c.stalled_since = now;
  if (c.out_off > kReadChunk && c.out_off * 2 > c.out.size()) {
    c.out.erase(0, c.out_off);
    c.out_off = 0;
  }
}

size_t WssServer::queued_bytes(Conn& c) {
  std::lock_guard lock(c.mu);
  return c.out.size() - c.out_off;
}

bool WssServer::connected(uint32_t id) {
  if (session_count_.load(std::memory_order_relaxed) == 0) return false;  // the UDP relay path, bridge idle
  std::shared_lock lock(sessions_mu_);
  auto it = sessions_.find(id);
  return it != sessions_.end() && it->second->writable.load(std::memory_order_relaxed);
}

bool WssServer::deliver(uint32_t id, std::string_view head, std::string_view body) {
  std::shared_ptr<Conn> c;
  {
    std::shared_lock lock(sessions_mu_);
    auto it = sessions_.find(id);
    if (it != sessions_.end()) c = it->second;
  }
  if (!c) return false;
  uint8_t h[10];
  const size_t size = head.size() + body.size();
  const size_t hn = ws::encode_frame_header(ws::kBinary, size, h);
  bool wake_loop = false, ok = false;
  {
    std::lock_guard lock(c->mu);
    const size_t queued = c->out.size() - c->out_off;
    if (c->fd >= 0 && c->writable.load() && queued + hn + size <= opt_.max_queued) {
      const bool was_pending = c->pending();
      c->out.append(reinterpret_cast<const char*>(h), hn);
      c->out.append(head);
      c->out.append(body);
      // Plain: send right here (else the loop is already waiting for POLLOUT). TLS: the
      // loop thread writes.
      if (!was_pending) c->stalled_since = mono_ns();  // the write bound starts now
      if (!was_pending && !c->is_tls) flush_locked(*c, c->stalled_since);
      ok = !c->write_error;
      wake_loop = c->write_error || (!was_pending && c->pending());
    }
  }
  if (wake_loop) wake();
  (ok ? frames_out_ : deliveries_refused_).fetch_add(1, std::memory_order_relaxed);
  return ok;
}

WssCounters WssServer::counters() const {
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  WssCounters k;
  k.upgrade_ok = get(upgrade_ok_);
  k.upgrade_fail = get(upgrade_fail_);
  k.auth_ok = get(auth_ok_);
  k.auth_fail = get(auth_fail_);
  k.frames_in = get(frames_in_);
  k.frames_out = get(frames_out_);
  k.idle_disconnects = get(idle_disconnects_);
  k.protocol_errors = get(protocol_errors_);
  k.oversized = get(oversized_);
  k.write_timeouts = get(write_timeouts_);
  k.deliveries_refused = get(deliveries_refused_);
  k.replaced = get(replaced_);
  k.http_requests = get(http_requests_);
  k.read_buffer_bytes = get(read_buffer_bytes_);
  std::shared_lock lock(sessions_mu_);
  k.active_peers = sessions_.size();
  return k;
}

std::string WssServer::stats_line() const {
  WssCounters k = counters();
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "beacon: wss stats peers=%lu upgrade_ok=%lu upgrade_fail=%lu auth_ok=%lu auth_fail=%lu frames_in=%lu "
                "frames_out=%lu idle_disconnects=%lu protocol_errors=%lu oversized=%lu write_timeouts=%lu "
                "deliveries_refused=%lu replaced=%lu http_requests=%lu read_buffer_bytes=%lu",
                k.active_peers, k.upgrade_ok, k.upgrade_fail, k.auth_ok, k.auth_fail, k.frames_in, k.frames_out,
                k.idle_disconnects, k.protocol_errors, k.oversized, k.write_timeouts, k.deliveries_refused, k.replaced,
                k.http_requests, k.read_buffer_bytes);
  return buf;
}

}  // namespace pilot::beacon
