#include "net/rpc/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/ed25519.h"
#include "core/logging.h"
#include "log/writer.h"
#include "net/rpc/go_json.h"
#include "net/rpc/listen_addr.h"
#include "net/rpc/whitelist.h"
#include "net/rpc/wire.h"

namespace pilot::rpc {

namespace {

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The peer as text, with IPv4-mapped IPv6 (a dual-stack listener's IPv4 clients)
// written as plain IPv4.
Peer peer_of(const sockaddr_storage& ss) {
  Peer p;
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    p.port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    p.port = ntohs(a->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      inet_ntop(AF_INET, reinterpret_cast<const uint8_t*>(&a->sin6_addr) + 12, buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
      p.v6 = true;
    }
  }
  p.ip = buf;
  return p;
}

struct Held {
  std::string bytes;
  uint64_t wait_seq;  // the reply may leave once the log is durable up to here
};

struct WriteReq {
  uv_write_t req;
  std::string bytes;                          // a reply
  std::shared_ptr<const std::string> shared;  // or a frame pushed to many streams
  const std::string& data() const { return shared ? *shared : bytes; }
};

}  // namespace

struct RpcServer::Conn {
  uv_tcp_t tcp{};
  RpcServer* srv = nullptr;
  uint64_t id = 0;
  Peer peer;
  IpAddr ip;
  wire::Mode mode = wire::Mode::kUndecided;
  bool version_checked = false;
  std::string in;  // bytes received and not yet consumed
  size_t in_pos = 0;
  std::deque<Held> held;
  uint64_t waiting_for = 0;  // highest seq a durability callback is registered for
  size_t unsent = 0;         // bytes handed to uv_write and not completed
  bool reading = false;
  bool paused = false;     // back-pressure
  bool finish = false;     // close once the held replies are out
  bool verifying = false;  // a request waits for its signature check on a worker
  bool closing = false;
  bool stream = false;  // subscribe_replication accepted: a push stream (StreamHandler)
  int64_t last_active_ns = 0;
  Conn* prev = nullptr;  // idle list, least recently active first
  Conn* next = nullptr;
};

// The per-connection steps, as free functions with access to the server's internals.
struct ConnOps {
  using Conn = RpcServer::Conn;
  static constexpr size_t kKeepBufferBytes = 4096;

  static void unlink(RpcServer& s, Conn* c) {
    if (!c->prev && !c->next && s.idle_head_ != c) return;  // not in the list (a push stream)
    (c->prev ? c->prev->next : s.idle_head_) = c->next;
    (c->next ? c->next->prev : s.idle_tail_) = c->prev;
    c->prev = c->next = nullptr;
  }
  static void touch(RpcServer& s, Conn* c) {
    c->last_active_ns = mono_ns();
    if (s.idle_tail_ == c) return;
    if (c->prev || c->next || s.idle_head_ == c) unlink(s, c);
    c->prev = s.idle_tail_;
    (s.idle_tail_ ? s.idle_tail_->next : s.idle_head_) = c;
    s.idle_tail_ = c;
  }

  static uint64_t durable(const RpcServer& s) { return s.writer_ ? s.writer_->durable_seq() : UINT64_MAX; }
  // Where replies may be released up to: durable, and past the gate (sync replication).
  static uint64_t releasable(const RpcServer& s) {
    const uint64_t d = durable(s);
    return s.gate_ ? std::min(d, s.gate_()) : d;
  }

  // Writes every ready reply at the head of the queue, in one write.
  static void flush(RpcServer& s, Conn* c) {
    if (c->closing) return;
    const uint64_t d = releasable(s);
    std::string out;
    while (!c->held.empty() && c->held.front().wait_seq <= d) {
      if (out.empty())
        out = std::move(c->held.front().bytes);
      else
        out += c->held.front().bytes;
      c->held.pop_front();
    }
    if (!out.empty()) write(s, c, std::move(out));
    if (!c->held.empty()) {
      wait_durable(s, c, c->held.back().wait_seq);
      if (s.gate_) s.gated_.insert(c->id);  // durable or not, the gate must be passed too
    }
    after_progress(s, c);
  }

  static void wait_durable(RpcServer& s, Conn* c, uint64_t seq) {
    if (seq <= c->waiting_for || !s.writer_) return;
    c->waiting_for = seq;
    const uint64_t id = c->id;
    RpcServer* srv = &s;
    s.writer_->on_durable(seq, [srv, id](uint64_t) {
      auto it = srv->conns_.find(id);
      if (it != srv->conns_.end()) flush(*srv, it->second);
    });
  }

  static void write(RpcServer& s, Conn* c, std::string bytes) {
    auto* w = new WriteReq;
    w->bytes = std::move(bytes);
    start_write(s, c, w);
  }
  static void write_shared(RpcServer& s, Conn* c, std::shared_ptr<const std::string> frame) {
    auto* w = new WriteReq;
    w->shared = std::move(frame);
    start_write(s, c, w);
  }
  static void start_write(RpcServer& s, Conn* c, WriteReq* w) {
    w->req.data = c;
    c->unsent += w->data().size();
    // libuv only reads the buffer.
    uv_buf_t buf = uv_buf_init(const_cast<char*>(w->data().data()), static_cast<unsigned>(w->data().size()));
    int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1, [](uv_write_t* req, int status) {
      auto* w = reinterpret_cast<WriteReq*>(req);
      auto* c = static_cast<Conn*>(req->data);
      c->unsent -= w->data().size();
      delete w;
      if (c->closing) return;
      if (status < 0) {
        LOG_DEBUG("registry: write to %s:%u failed: %s", c->peer.ip.c_str(), c->peer.port, uv_strerror(status));
        c->srv->close_conn(c);
        return;
      }
      after_progress(*c->srv, c);
    });
    if (rc < 0) {
      c->unsent -= w->data().size();
      delete w;
      s.close_conn(c);
    }
  }

  // Resume reading when back-pressure clears; close a finished connection once its
  // replies are out.
  static void after_progress(RpcServer& s, Conn* c) {
    if (c->closing) return;
    if (c->finish) {
      if (c->held.empty() && c->unsent == 0 && !c->verifying) s.close_conn(c);
      return;
    }
    if (c->paused && !c->verifying && c->held.size() < s.opts_.max_held_replies / 2 &&
        c->unsent < s.opts_.max_unsent_bytes / 2) {
      c->paused = false;
      process(s, c);  // frames that arrived before the pause
      if (!c->paused && !c->finish && !c->closing && !c->verifying) start_reading(s, c);
    }
  }

  // A reply waits until the log is durable (and past the sync gate) up to everything
  // its request could have seen. One that shows no state — a refused write, a rate
  // limit, a bad frame — waits only for the reply ahead of it: in refuse mode the
  // refusal reaches the client at once, not when a follower is back.
  static void queue(RpcServer& s, Conn* c, std::string bytes, bool shows_state = true) {
    uint64_t seq = s.writer_ ? s.writer_->last_seq() : 0;
    if (!shows_state) seq = c->held.empty() ? 0 : c->held.back().wait_seq;
    c->held.push_back(Held{std::move(bytes), seq});
  }
  // Answers one request through `dispatch`; a write it made that was refused is not
  // state the reply shows.
  template <class Dispatch>
  static void answer(RpcServer& s, Conn* c, Dispatch&& dispatch) {
    const uint64_t refused = s.dispatcher_.registry().write_refusals();
    std::string reply = dispatch();
    queue(s, c, std::move(reply), s.dispatcher_.registry().write_refusals() == refused);
  }

  // Signature verifies (~45 µs each) run on the libuv thread pool, so the loop thread
  // keeps serving and the other cores share the work. Requests that need one are
  // collected while the loop handles this iteration's I/O and handed over afterwards
  // (uv_check), in one batch per pool thread: far fewer thread hand-offs than one work
  // item per request. The connection reads nothing more until its request is answered
  // (replies stay in order).
  struct VerifyBatch {
    uv_work_t req;
    RpcServer* srv;
    std::vector<RpcServer::PendingVerify> items;
  };
  static void verify_off_loop(RpcServer& s, Conn* c, nlohmann::json request, Dispatcher::PreVerify pv,
                              const VerifyCache::Digest& digest) {
    c->verifying = true;
    stop_reading(c);
    if (s.verify_queue_.empty())
      uv_check_start(&s.verify_check_, [](uv_check_t* h) { submit_verifies(*static_cast<RpcServer*>(h->data)); });
    s.verify_queue_.push_back(RpcServer::PendingVerify{c->id, std::move(request), std::move(pv), digest, false});
  }

  static void submit_verifies(RpcServer& s) {
    uv_check_stop(&s.verify_check_);
    std::vector<RpcServer::PendingVerify> items;
    items.swap(s.verify_queue_);
    if (items.empty()) return;
    const size_t batches = std::min(items.size(), s.verify_threads_);
    const size_t per = (items.size() + batches - 1) / batches;
    for (size_t i = 0; i < items.size(); i += per) {
      auto* b = new VerifyBatch{{}, &s, {}};
      b->req.data = b;
      for (size_t k = i; k < std::min(items.size(), i + per); ++k) b->items.push_back(std::move(items[k]));
      ++s.pending_work_;
      uv_queue_work(
          s.loop_, &b->req,
          [](uv_work_t* r) {
            // Bulk work yields to the loop thread: on 2 cores the pool's verifies
            // competed with the loop that feeds them and answers everyone. Nice 5 on a
            // pool thread: durable registrations at 1024 connections went from about
            // 19.9k/s to 23.6-25.7k/s (BENCHMARKS.md, Registry RPC).
            static thread_local const bool niced = [] {
              return ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 5) == 0;
            }();
            (void)niced;
            for (auto& v : static_cast<VerifyBatch*>(r->data)->items)
              v.ok = ed25519_verify(v.pv.key, v.pv.challenge, v.pv.sig);
          },
          [](uv_work_t* r, int) {
            std::unique_ptr<VerifyBatch> b(static_cast<VerifyBatch*>(r->data));
            RpcServer& s = *b->srv;
            --s.pending_work_;
            for (auto& v : b->items) verified(s, v);
            s.maybe_finish_shutdown();
          });
    }
  }

  // Back on the loop thread: answer the request (a failed verify is not memoised, so
  // the handler verifies again and reports the failure itself) and go on reading.
  static void verified(RpcServer& s, RpcServer::PendingVerify& v) {
    if (v.ok) s.dispatcher_.registry().verify_cache().insert(v.digest);
    auto it = s.conns_.find(v.conn_id);
    if (it == s.conns_.end()) return;  // the connection went away meanwhile
    Conn* c = it->second;
    c->verifying = false;
    answer(s, c, [&] { return wire::json_frame(s.dispatcher_.handle_parsed(v.request, c->peer)); });
    process(s, c);
    if (!c->paused && !c->finish && !c->closing && !c->verifying) start_reading(s, c);
  }

  static bool over_limits(const RpcServer& s, const Conn* c) {
    return c->held.size() >= s.opts_.max_held_replies || c->unsent >= s.opts_.max_unsent_bytes;
  }

  // Stop reading, send what is queued, then close.
  static void finish(RpcServer& s, Conn* c) {
    c->finish = true;
    stop_reading(c);
    flush(s, c);
  }

  static bool is_subscribe(const nlohmann::json& req) {
    auto t = req.find("type");
    return t != req.end() && t->is_string() && t->get_ref<const std::string&>() == "subscribe_replication";
  }

  // subscribe_replication in JSON mode (spec §3.3): the handler refuses it (error,
  // then close) or the connection becomes a push stream whose first frame is queued
  // like a reply. Binary mode refuses it in the dispatcher.
  static void subscribe(RpcServer& s, Conn* c, const nlohmann::json& req) {
    StreamHandler::Decision d;
    if (s.streams_)
      d = s.streams_->on_subscribe(c->id, req, c->peer);
    else
      d.error = "replication not configured";
    if (!d.error.empty()) {
      // Not through the sanitiser: the reference writes these texts as they are.
      queue(s, c, wire::json_frame(gojson::dump(nlohmann::json{{"type", "error"}, {"error", d.error}})));
      finish(s, c);
      return;
    }
    c->stream = true;
    unlink(s, c);  // a standby only listens: no idle timeout
    c->in.clear();
    c->in_pos = 0;
    queue(s, c, std::move(d.first_frame));
    flush(s, c);
  }

  // Consumes every complete frame in the input buffer.
  static void process(RpcServer& s, Conn* c) {
    using wire::FrameStatus;
    if (c->stream) {  // a push stream is read only to notice EOF: drop what it sends
      c->in.clear();
      c->in_pos = 0;
      return;
    }
    while (!c->closing && !c->finish && !c->verifying) {
      if (over_limits(s, c)) {
        c->paused = true;
        stop_reading(c);
        break;
      }
      std::string_view buf(c->in.data() + c->in_pos, c->in.size() - c->in_pos);
      if (c->mode == wire::Mode::kUndecided) {
        c->mode = wire::detect_mode(buf);
        if (c->mode == wire::Mode::kUndecided) break;
        if (c->mode == wire::Mode::kBinary) c->in_pos += 4, buf.remove_prefix(4);
      }
      if (c->mode == wire::Mode::kBinary && !c->version_checked) {
        if (buf.empty()) break;
        const std::string bad = wire::check_version(static_cast<uint8_t>(buf[0]));
        c->in_pos += 1;
        c->version_checked = true;
        if (!bad.empty()) {
          queue(s, c, wire::binary_frame(wire::MsgType::kError, wire::encode_error(bad)), /*shows_state=*/false);
          ++s.stats_.closed_bad_frame;
          finish(s, c);
          return;
        }
        continue;
      }
      wire::Frame f;
      std::string why;
      const FrameStatus st =
          c->mode == wire::Mode::kJson ? wire::next_json_frame(buf, f, why) : wire::next_binary_frame(buf, f, why);
      if (st == FrameStatus::kNeedMore) break;
      if (st == FrameStatus::kBad) {
        LOG_DEBUG("registry: closing %s:%u: %s", c->peer.ip.c_str(), c->peer.port, why.c_str());
        ++s.stats_.closed_bad_frame;
        if (c->mode == wire::Mode::kBinary)
          queue(s, c, wire::binary_frame(wire::MsgType::kError, wire::encode_error(why)), /*shows_state=*/false);
        finish(s, c);
        return;
      }
      c->in_pos += f.consumed;
      ++s.stats_.frames;
      touch(s, c);
      if (s.limiter_ && s.limiter_->admit(c->ip, mono_ns()) != Deny::kNone) {
        ++s.stats_.rate_limited;  // not dispatched: no state change (§3.1)
        queue(s, c,
              c->mode == wire::Mode::kJson
                  ? wire::json_frame(Dispatcher::rate_limited_json())
                  : wire::binary_frame(wire::MsgType::kError, wire::encode_error("rate limited")),
              /*shows_state=*/false);
      } else if (c->mode == wire::Mode::kJson) {
        nlohmann::json req = nlohmann::json::parse(f.body, nullptr, /*allow_exceptions=*/false);
        if (!req.is_object()) {  // not a JSON object: close without a reply (§2.3)
          ++s.stats_.closed_bad_frame;
          finish(s, c);
          return;
        }
        if (is_subscribe(req)) {
          subscribe(s, c, req);
          return;
        }
        if (auto pv = s.dispatcher_.pre_verify(req)) {
          auto digest = VerifyCache::digest(pv->key, pv->challenge, pv->sig);
          if (!s.dispatcher_.registry().verify_cache().contains(digest)) {
            verify_off_loop(s, c, std::move(req), std::move(*pv), digest);
            break;  // the connection continues when the verify is done
          }
        }
        answer(s, c, [&] { return wire::json_frame(s.dispatcher_.handle_parsed(req, c->peer)); });
      } else {
        answer(s, c, [&] {
          std::string reply;
          s.dispatcher_.handle_binary(f.type, f.body, c->peer, reply);
          return reply;
        });
      }
    }
    // Drop what was consumed; give the memory back when nothing is pending, so
    // thousands of idle connections cost no buffers.
    if (c->in_pos > 0 && (c->in_pos == c->in.size() || c->in_pos > 65536)) {
      c->in.erase(0, c->in_pos);
      c->in_pos = 0;
    }
    if (c->in.empty() && c->in.capacity() > kKeepBufferBytes) std::string().swap(c->in);
    flush(s, c);
  }

  static void start_reading(RpcServer& s, Conn* c) {
    (void)s;
    if (c->reading) return;
    c->reading = true;
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&c->tcp),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          // One buffer for every connection (the loop reads one socket at a time); what
          // a read leaves unconsumed is copied to the connection. So an idle connection
          // holds no read buffer at all, whatever it once sent.
          RpcServer& s = *static_cast<Conn*>(h->data)->srv;
          *buf = uv_buf_init(s.read_buf_.data(), static_cast<unsigned>(s.read_buf_.size()));
        },
        [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
          auto* c = static_cast<Conn*>(stream->data);
          if (n == UV_EOF || n < 0) {
            if (n != UV_EOF) LOG_DEBUG("registry: read from %s failed: %s", c->peer.ip.c_str(), uv_strerror(int(n)));
            // The peer stopped sending: answer what it asked, then close.
            finish(*c->srv, c);
            return;
          }
          if (n == 0) return;
          c->in.append(buf->base, static_cast<size_t>(n));
          process(*c->srv, c);
        });
  }

  static void stop_reading(Conn* c) {
    if (!c->reading) return;
    c->reading = false;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
  }
};

RpcServer::RpcServer(uv_loop_t* loop, Dispatcher& dispatcher, log::Writer* writer, RateLimiter* limiter,
                     ServerOptions opts)
    : loop_(loop), dispatcher_(dispatcher), writer_(writer), limiter_(limiter), opts_(std::move(opts)) {}

RpcServer::~RpcServer() = default;

size_t RpcServer::pool_threads() {
  // libuv reads UV_THREADPOOL_SIZE when the pool starts (default 4, at most 1024).
  const char* v = std::getenv("UV_THREADPOOL_SIZE");
  const long n = v ? std::atol(v) : 4;
  return static_cast<size_t>(std::clamp(n, 1L, 1024L));
}

bool RpcServer::listen(std::string& error) {
  auto hp = split_host_port(opts_.listen_addr);
  if (!hp) {
    error = "invalid listen address \"" + opts_.listen_addr + "\" (want host:port or :port)";
    return false;
  }
  char* end = nullptr;
  long port = std::strtol(hp->port.c_str(), &end, 10);
  if (hp->port.empty() || *end || port < 0 || port > 65535) {
    error = "invalid port in \"" + opts_.listen_addr + "\"";
    return false;
  }
  sockaddr_storage ss{};
  unsigned flags = 0;
  if (hp->host.empty()) {
    // Every address: IPv6 socket that also takes IPv4 (dual stack), as Go's ":9000".
    uv_ip6_addr("::", int(port), reinterpret_cast<sockaddr_in6*>(&ss));
  } else if (uv_ip4_addr(hp->host.c_str(), int(port), reinterpret_cast<sockaddr_in*>(&ss)) != 0 &&
             uv_ip6_addr(hp->host.c_str(), int(port), reinterpret_cast<sockaddr_in6*>(&ss)) != 0) {
    error = "listen address host must be an IP literal: \"" + hp->host + "\"";
    return false;
  } else if (ss.ss_family == AF_INET6) {
    flags = UV_TCP_IPV6ONLY;
  }
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  ++handles_open_;
  int rc = uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&ss), flags);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 4096,
                   [](uv_stream_t* l, int status) { static_cast<RpcServer*>(l->data)->on_connection(status); });
  if (rc != 0 && hp->host.empty()) {
    // No IPv6 on this machine: fall back to IPv4 only.
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    uv_run(loop_, UV_RUN_NOWAIT);
    uv_tcp_init(loop_, &listener_);
    uv_ip4_addr("0.0.0.0", int(port), reinterpret_cast<sockaddr_in*>(&ss));
    rc = uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&ss), 0);
    if (rc == 0)
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 4096,
                     [](uv_stream_t* l, int status) { static_cast<RpcServer*>(l->data)->on_connection(status); });
  }
  if (rc != 0) {
    error = "cannot listen on " + opts_.listen_addr + ": " + uv_strerror(rc);
    return false;
  }
  listening_ = true;
  uv_check_init(loop_, &verify_check_);
  verify_check_.data = this;
  ++handles_open_;
  uv_timer_init(loop_, &idle_timer_);
  idle_timer_.data = this;
  ++handles_open_;
  const uint64_t period_ms =
      std::clamp<uint64_t>(static_cast<uint64_t>(opts_.idle_timeout_ns / 10000000), 50, 1000);  // timeout / 10
  uv_timer_start(
      &idle_timer_, [](uv_timer_t* t) { static_cast<RpcServer*>(t->data)->sweep_idle(); }, period_ms, period_ms);
  return true;
}

std::string RpcServer::bound_address() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  Peer p = peer_of(ss);
  if (ss.ss_family == AF_INET6 && p.ip.find(':') == std::string::npos) p.ip = "::ffff:" + p.ip;
  return join_host_port(p.ip, std::to_string(p.port));
}

uint16_t RpcServer::bound_port() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return peer_of(ss).port;
}

void RpcServer::on_connection(int status) {
  if (status < 0) {
    LOG_WARN("registry: accept failed: %s", uv_strerror(status));
    return;
  }
  auto* c = new Conn;
  c->srv = this;
  uv_tcp_init(loop_, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
    return;
  }
  if (shutting_down_ || conns_.size() >= opts_.max_connections) {
    ++stats_.rejected_over_limit;
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
    return;
  }
  sockaddr_storage ss{};
  int len = sizeof ss;
  uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&ss), &len);
  c->peer = peer_of(ss);
  c->ip = IpAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss));
  uv_tcp_nodelay(&c->tcp, 1);  // small request/response messages: no Nagle delay
  c->id = next_conn_id_++;
  conns_.emplace(c->id, c);
  ++stats_.accepted;
  stats_.open = conns_.size();
  ConnOps::touch(*this, c);
  ConnOps::start_reading(*this, c);
}

void RpcServer::release_gated() {
  if (gated_.empty()) return;
  std::unordered_set<uint64_t> waiting;
  waiting.swap(gated_);  // a flush that still cannot release puts its connection back
  for (uint64_t id : waiting)
    if (auto it = conns_.find(id); it != conns_.end()) ConnOps::flush(*this, it->second);
}

uint64_t RpcServer::releasable_seq() const { return ConnOps::releasable(*this); }

RpcServer::PushResult RpcServer::push(uint64_t conn, std::shared_ptr<const std::string> frame) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return PushResult::kGone;
  Conn* c = it->second;
  if (!c->stream || c->closing || c->finish) return PushResult::kGone;
  if (!c->held.empty()) return PushResult::kBusy;  // the first frame waits for durability
  ConnOps::write_shared(*this, c, std::move(frame));
  // A write that failed at once closed the connection (and told the handler, which may
  // have forgotten the stream meanwhile): say so instead of kSent.
  if (conns_.find(conn) == conns_.end() || c->closing) return PushResult::kGone;
  return PushResult::kSent;
}

size_t RpcServer::unsent_bytes(uint64_t conn) const {
  auto it = conns_.find(conn);
  return it == conns_.end() ? 0 : it->second->unsent;
}

void RpcServer::close_stream(uint64_t conn) {
  auto it = conns_.find(conn);
  if (it != conns_.end() && it->second->stream) close_conn(it->second);
}

void RpcServer::close_conn(Conn* c) {
  if (c->closing) return;
  c->closing = true;
  ConnOps::stop_reading(c);
  ConnOps::unlink(*this, c);
  conns_.erase(c->id);
  gated_.erase(c->id);
  stats_.open = conns_.size();
  if (c->stream && streams_) streams_->on_stream_closed(c->id);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), [](uv_handle_t* h) {
    auto* c = static_cast<Conn*>(h->data);
    RpcServer* s = c->srv;
    delete c;  // pending writes were cancelled before this callback
    s->maybe_finish_shutdown();
  });
}

void RpcServer::sweep_idle() {
  const int64_t cutoff = mono_ns() - opts_.idle_timeout_ns;
  while (idle_head_ && idle_head_->last_active_ns < cutoff) {
    Conn* c = idle_head_;
    LOG_DEBUG("registry: closing idle connection from %s:%u", c->peer.ip.c_str(), c->peer.port);
    ++stats_.closed_idle;
    close_conn(c);
  }
}

void RpcServer::shutdown(uint64_t grace_ms, std::function<void()> done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  auto closed = [](uv_handle_t* h) {
    auto* s = static_cast<RpcServer*>(h->data);
    --s->handles_open_;
    s->maybe_finish_shutdown();
  };
  if (listening_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), closed);
    uv_timer_stop(&idle_timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&idle_timer_), closed);
    ConnOps::submit_verifies(*this);  // nothing may wait for a check that no longer runs
    uv_close(reinterpret_cast<uv_handle_t*>(&verify_check_), closed);
  }
  uv_timer_init(loop_, &grace_timer_);
  grace_timer_.data = this;
  ++handles_open_;
  uv_timer_start(
      &grace_timer_,
      [](uv_timer_t* t) {
        auto* s = static_cast<RpcServer*>(t->data);
        if (!s->conns_.empty())
          LOG_WARN("registry: closing %zu connections that did not finish within the shutdown grace period",
                   s->conns_.size());
        std::vector<Conn*> left;
        for (auto& [id, c] : s->conns_) left.push_back(c);
        for (Conn* c : left) s->close_conn(c);
        s->close_grace_timer();
      },
      grace_ms, 0);
  // Everything already asked gets its answer (the caller flushes the log), then close.
  std::vector<Conn*> all;
  for (auto& [id, c] : conns_) all.push_back(c);
  for (Conn* c : all) ConnOps::finish(*this, c);
  maybe_finish_shutdown();
}

void RpcServer::close_grace_timer() {
  if (grace_closing_) return;
  grace_closing_ = true;
  uv_timer_stop(&grace_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&grace_timer_), [](uv_handle_t* h) {
    auto* s = static_cast<RpcServer*>(h->data);
    --s->handles_open_;
    s->maybe_finish_shutdown();
  });
}

void RpcServer::maybe_finish_shutdown() {
  if (!shutting_down_ || !conns_.empty() || pending_work_ > 0) return;
  close_grace_timer();
  if (handles_open_ == 0 && shutdown_done_) {
    auto done = std::move(shutdown_done_);
    shutdown_done_ = nullptr;
    done();
  }
}

}  // namespace pilot::rpc
