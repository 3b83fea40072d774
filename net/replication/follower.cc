#include "net/replication/follower.h"

#include <unistd.h>

#include <chrono>

#include "core/logging.h"
#include "net/replication/messages.h"
#include "net/replication/snapshot_transfer.h"
#include "net/rpc/listen_addr.h"

namespace pilot::repl {
namespace {

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t ms(int64_t ns) { return static_cast<uint64_t>(std::max<int64_t>(1, ns / 1000000)); }

constexpr uint64_t kTickMs = 250;

struct WriteReq {
  uv_write_t req;
  std::string bytes;
};

}  // namespace

struct Follower::Conn {
  uv_tcp_t tcp{};
  uv_connect_t connect_req{};
  Follower* owner = nullptr;
  std::string in;
  size_t in_pos = 0;
  bool welcomed = false;
  bool reading = false;
  int64_t last_heard_ns = 0;
};

Follower::Follower(uv_loop_t* loop, State& state, RwMutex& state_mu, log::Writer& writer, FollowerOptions opts)
    : loop_(loop),
      own_applier_(std::make_unique<Applier>(state, state_mu, writer)),
      sink_(*own_applier_),
      opts_(std::move(opts)) {
  backoff_ns_ = opts_.min_backoff_ns;
}

Follower::Follower(uv_loop_t* loop, RecordSink& sink, FollowerOptions opts)
    : loop_(loop), sink_(sink), opts_(std::move(opts)) {
  backoff_ns_ = opts_.min_backoff_ns;
}

Follower::~Follower() = default;

bool Follower::streaming() const { return conn_ && conn_->welcomed; }

void Follower::start() {
  if (started_) return;
  started_ = true;
  caught_up_ns_ = mono_ns();
  uv_timer_init(loop_, &retry_timer_);
  uv_timer_init(loop_, &tick_timer_);
  retry_timer_.data = tick_timer_.data = this;
  open_handles_ += 2;
  uv_timer_start(
      &tick_timer_, [](uv_timer_t* t) { static_cast<Follower*>(t->data)->tick(); }, kTickMs, kTickMs);
  LOG_INFO("replication: %s %s from seq %llu (term %llu)", sink_.keeps_log() ? "following" : "consuming the log of",
           opts_.leader_addr.c_str(), (unsigned long long)sink_.last_seq(), (unsigned long long)local_term());
  connect();
}

void Follower::stop(std::function<void()> done) {
  done_ = std::move(done);
  if (!started_ || stopping_) {
    if (!started_ && done_) std::exchange(done_, nullptr)();
    return;
  }
  stopping_ = true;
  // Stopped for good (shutdown, or promoted): no leader to lag behind any more.
  caught_up_ns_ = 0;
  leader_durable_ = 0;
  close_conn("stopping", /*warn=*/false, -1);
  if (resolving_) uv_cancel(reinterpret_cast<uv_req_t*>(resolving_));
  auto closed = [](uv_handle_t* h) {
    auto* f = static_cast<Follower*>(h->data);
    --f->open_handles_;
    f->maybe_done();
  };
  uv_timer_stop(&retry_timer_);
  uv_timer_stop(&tick_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&retry_timer_), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), closed);
}

void Follower::maybe_done() {
  if (stopping_ && open_handles_ == 0 && !resolving_ && done_) std::exchange(done_, nullptr)();
}

void Follower::schedule_retry(int64_t delay_ns) {
  if (stopping_) return;
  uv_timer_start(
      &retry_timer_, [](uv_timer_t* t) { static_cast<Follower*>(t->data)->connect(); }, ms(delay_ns), 0);
}

void Follower::connect() {
  if (stopping_ || conn_ || resolving_) return;
  auto hp = rpc::split_host_port(opts_.leader_addr);
  if (!hp || hp->port.empty()) {
    LOG_ERROR("replication: --follow \"%s\" is not host:port", opts_.leader_addr.c_str());
    return;
  }
  resolving_ = new uv_getaddrinfo_t;
  resolving_->data = this;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const std::string host = hp->host.empty() ? "localhost" : hp->host;
  int rc = uv_getaddrinfo(
      loop_, resolving_,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* f = static_cast<Follower*>(req->data);
        delete req;
        f->resolving_ = nullptr;
        f->on_resolved(status, res);
        if (res) uv_freeaddrinfo(res);
      },
      host.c_str(), hp->port.c_str(), &hints);
  if (rc != 0) {
    delete resolving_;
    resolving_ = nullptr;
    on_resolved(rc, nullptr);
  }
}

void Follower::on_resolved(int status, addrinfo* res) {
  if (stopping_) return maybe_done();
  if (status != 0 || !res) {
    LOG_WARN("replication: cannot resolve %s: %s; retrying", opts_.leader_addr.c_str(), uv_strerror(status));
    schedule_retry(backoff_ns_);
    backoff_ns_ = std::min(backoff_ns_ * 2, opts_.max_backoff_ns);
    return;
  }
  auto* c = new Conn;
  c->owner = this;
  c->last_heard_ns = mono_ns();  // the read timeout also bounds a connect that hangs
  uv_tcp_init(loop_, &c->tcp);
  c->tcp.data = c;
  c->connect_req.data = c;
  ++open_handles_;
  conn_ = c;
  int rc = uv_tcp_connect(&c->connect_req, &c->tcp, res->ai_addr, [](uv_connect_t* req, int st) {
    auto* c = static_cast<Conn*>(req->data);
    c->owner->on_connected(c, st);
  });
  if (rc != 0) on_connected(c, rc);
}

void Follower::on_connected(Conn* c, int status) {
  if (c != conn_) return;  // closed meanwhile (stop, timeout)
  if (status < 0) {
    // The first failure in a row is worth a line; the retries every few seconds are not.
    if (failures_++ == 0)
      LOG_WARN("replication: cannot connect to %s: %s; retrying in %lld ms (backing off up to %lld ms)",
               opts_.leader_addr.c_str(), uv_strerror(status), (long long)(backoff_ns_ / 1000000),
               (long long)(opts_.max_backoff_ns / 1000000));
    return close_conn(std::string("cannot connect: ") + uv_strerror(status), /*warn=*/false, backoff_ns_);
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (want_snapshot_) {
    want_snapshot_ = false;  // a transfer that fails starts over from a hello
    snapshot_ = std::make_unique<SnapshotReceiver>(snapshot_path_);
    std::string err;
    if (!snapshot_->begin(err)) {
      LOG_ERROR("replication: cannot receive the leader's snapshot: %s", err.c_str());
      return close_conn(err, /*warn=*/false, opts_.max_backoff_ns);
    }
    write(c, encode(SnapshotRequest{kProtocolVersion, opts_.token, local_term(), sink_.last_seq()}));
    start_reading(c);
    return;
  }
  Hello h;
  h.token = opts_.token;
  h.last_seq = sink_.last_seq();
  h.term = local_term();
  h.last_hash = sink_.last_hash();
  h.consumer = !sink_.keeps_log();
  write(c, encode(h));
  start_reading(c);
}

void Follower::start_reading(Conn* c) {
  if (c->reading) return;
  c->reading = true;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        // One buffer: the loop reads one socket at a time, and a frame cut by the end of
        // a read is copied to the connection's input.
        auto* c = static_cast<Conn*>(h->data);
        *buf = uv_buf_init(c->owner->read_buf_, sizeof c->owner->read_buf_);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* c = static_cast<Conn*>(s->data);
        c->owner->on_read(c, n, buf);
      });
}

void Follower::write(Conn* c, std::string bytes) {
  auto* w = new WriteReq;
  w->bytes = std::move(bytes);
  uv_buf_t b = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1,
               [](uv_write_t* req, int) { delete reinterpret_cast<WriteReq*>(req); }) != 0)
    delete w;  // the read side notices the broken connection
}

void Follower::on_read(Conn* c, ssize_t n, const uv_buf_t* buf) {
  if (c != conn_) return;
  if (n < 0) {
    const bool eof = n == UV_EOF;
    return close_conn(eof ? "the leader closed the connection" : std::string("read: ") + uv_strerror(int(n)),
                      /*warn=*/!eof, backoff_ns_);
  }
  if (n == 0) return;
  c->last_heard_ns = mono_ns();
  c->in.append(buf->base, static_cast<size_t>(n));
  process(c);
}

// Handles every whole frame in the input, unless paused (then the rest waits).
void Follower::process(Conn* c) {
  while (c == conn_ && !paused_) {
    Frame f;
    std::string why;
    const FrameStatus st = next_frame(std::string_view(c->in).substr(c->in_pos), f, why);
    if (st == FrameStatus::kNeedMore) break;
    if (st == FrameStatus::kBad) return close_conn("bad frame from the leader: " + why, true, opts_.max_backoff_ns);
    const size_t consumed = f.consumed;
    if (!on_frame(c, static_cast<uint8_t>(f.type), f.body)) return;  // closed
    c->in_pos += consumed;
  }
  if (c != conn_) return;
  if (c->in_pos > 0 && (c->in_pos == c->in.size() || c->in_pos > (1u << 20))) {
    c->in.erase(0, c->in_pos);
    c->in_pos = 0;
  }
  if (paused_ && c->reading) {
    c->reading = false;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
  }
}

bool Follower::on_frame(Conn* c, uint8_t type, std::string_view body) {
  const auto t = static_cast<MsgType>(type);
  if (!c->welcomed) {
    if (t == MsgType::kRefuse) {
      auto r = decode_refuse(body);
      std::string why = r ? std::string(to_string(r->code)) + ": " + r->reason : "malformed refuse frame";
      if (r && r->code == RefuseCode::kNeedSnapshot && on_snapshot_) {
        LOG_WARN(
            "replication: the leader %s no longer has the records after our seq %llu (%s): asking for its snapshot",
            opts_.leader_addr.c_str(), (unsigned long long)sink_.last_seq(), r->reason.c_str());
        want_snapshot_ = true;
        last_refusal_.clear();
        close_conn("need snapshot", /*warn=*/false, opts_.min_backoff_ns);
        return false;
      }
      // Retried every few seconds: the same refusal again is not news.
      if (why != last_refusal_)
        LOG_ERROR("replication: the leader %s refused us: %s (retrying every %lld ms)", opts_.leader_addr.c_str(),
                  why.c_str(), (long long)(opts_.max_backoff_ns / 1000000));
      else
        LOG_DEBUG("replication: the leader %s refused us again: %s", opts_.leader_addr.c_str(), why.c_str());
      last_refusal_ = why;
      close_conn("refused", /*warn=*/false, opts_.max_backoff_ns);
      return false;
    }
    if (t == MsgType::kRewind) {
      on_rewind(body);
      return false;
    }
    if (snapshot_ && (t == MsgType::kSnapshotChunk || t == MsgType::kSnapshotEnd)) return on_snapshot_frame(t, body);
    auto w = t == MsgType::kWelcome ? decode_welcome(body) : std::nullopt;
    if (!w) {
      close_conn("expected a welcome from the leader", true, opts_.max_backoff_ns);
      return false;
    }
    if (!accept_term(w->term, "welcome")) return false;
    c->welcomed = true;
    backoff_ns_ = opts_.min_backoff_ns;
    failures_ = 0;
    last_refusal_.clear();
    leader_durable_ = w->durable_seq;
    caught_up_logged_ = false;
    acked_ = 0;
    ++connections_;
    LOG_INFO("replication: connected to %s at seq %llu (leader durable seq %llu, term %llu)", opts_.leader_addr.c_str(),
             (unsigned long long)sink_.last_seq(), (unsigned long long)w->durable_seq, (unsigned long long)w->term);
    send_ack(/*force=*/true);
  } else if (t == MsgType::kRecords) {
    uint64_t applied = 0;
    std::string bad = sink_.apply(body, applied);
    if (applied) want_durable();
    if (!bad.empty()) {
      LOG_ERROR("replication: refusing a record from the leader %s: %s", opts_.leader_addr.c_str(), bad.c_str());
      close_conn("bad record", /*warn=*/false, opts_.max_backoff_ns);
      return false;
    }
    leader_durable_ = std::max(leader_durable_, sink_.last_seq());
    // A slow disk: stop taking records until the writer has caught up (want_durable's
    // callback resumes reading).
    if (sink_.last_seq() - sink_.durable_seq() > opts_.max_unsynced) paused_ = true;
  } else if (t == MsgType::kKeepalive) {
    auto k = decode_keepalive(body);
    if (!k) {
      close_conn("malformed keepalive", true, opts_.max_backoff_ns);
      return false;
    }
    if (!accept_term(k->term, "keepalive")) return false;
    leader_durable_ = std::max(leader_durable_, k->durable_seq);
  } else {
    close_conn("unexpected frame type " + std::to_string(type) + " from the leader", true, opts_.max_backoff_ns);
    return false;
  }
  if (sink_.last_seq() >= leader_durable_) caught_up_ns_ = mono_ns();
  if (!caught_up_logged_ && sink_.last_seq() >= leader_durable_) {
    caught_up_logged_ = true;
    LOG_INFO("replication: caught up with the leader at seq %llu", (unsigned long long)sink_.last_seq());
    if (on_caught_up_) on_caught_up_(sink_.last_seq());
  }
  return true;
}

uint64_t Follower::local_term() const { return std::max(sink_.term(), terms_ ? terms_->seen() : 0); }

bool Follower::accept_term(uint64_t term, const char* what) {
  if (term < local_term()) {
    // A leader that has been replaced must not feed us: its records would fork the
    // log of the leader that replaced it.
    const std::string why = "its " + std::string(what) + " says term " + std::to_string(term) +
                            ", below the term we have seen (" + std::to_string(local_term()) + ")";
    if (why != last_refusal_)
      LOG_ERROR("replication: not following %s: %s; retrying every %lld ms", opts_.leader_addr.c_str(), why.c_str(),
                (long long)(opts_.max_backoff_ns / 1000000));
    last_refusal_ = why;
    close_conn("stale leader", /*warn=*/false, opts_.max_backoff_ns);
    return false;
  }
  std::string error;
  if (terms_ && term > terms_->seen() && !terms_->observe(term, error))
    LOG_ERROR("replication: cannot remember term %llu: %s", (unsigned long long)term, error.c_str());
  return true;
}

void Follower::on_rewind(const std::string_view body) {
  auto m = decode_rewind(body);
  if (!m) return close_conn("malformed rewind frame from the leader", true, opts_.max_backoff_ns);
  if (!accept_term(m->term, "rewind")) return;
  // No more frames from this connection; the log may be rebuilt under us below.
  close_conn("rewind", /*warn=*/false, -1);
  LOG_WARN(
      "replication: our log (seq %llu) is not on the log of the leader %s (term %llu): finding the common "
      "prefix",
      (unsigned long long)sink_.last_seq(), opts_.leader_addr.c_str(), (unsigned long long)m->term);
  const bool cut = on_rewind_ && on_rewind_(*m);
  if (!on_rewind_) LOG_ERROR("replication: this follower cannot rewind its log (no handler); retrying later");
  // A rewind that could not be done will not fix itself soon: do not make the leader
  // scan its log every two seconds for it.
  schedule_retry(cut || want_snapshot_ ? opts_.min_backoff_ns : 5 * opts_.max_backoff_ns);
}

// A frame of a snapshot transfer (snapshot_transfer.h). Nothing is installed unless
// every chunk and the end check out; a refused transfer is retried from a hello.
bool Follower::on_snapshot_frame(MsgType t, std::string_view body) {
  SnapshotEnd end;
  const std::string bad = t == MsgType::kSnapshotChunk ? snapshot_->chunk(body) : snapshot_->finish(body, end);
  if (!bad.empty()) {
    LOG_ERROR("replication: refusing the snapshot from the leader %s: %s; nothing installed, retrying in %lld ms",
              opts_.leader_addr.c_str(), bad.c_str(), (long long)(opts_.max_backoff_ns / 1000000));
    close_conn("bad snapshot", /*warn=*/false, opts_.max_backoff_ns);  // removes the partial file
    return false;
  }
  if (t == MsgType::kSnapshotChunk) return true;
  const std::string path = snapshot_->path();
  close_conn("snapshot received", /*warn=*/false, -1);  // the finished file stays
  LOG_INFO("replication: received the leader's snapshot at seq %llu (%llu bytes, checksum verified); installing",
           (unsigned long long)end.last_seq, (unsigned long long)end.size);
  const bool installed = on_snapshot_(path, end);
  if (!installed) ::unlink(path.c_str());
  schedule_retry(installed ? opts_.min_backoff_ns : opts_.max_backoff_ns);
  return false;
}

// Registers for the writer's next durability step (once at a time): acks go out from
// there, and a paused connection resumes reading.
void Follower::want_durable() {
  if (durable_wait_ || stopping_) return;
  const uint64_t target = sink_.last_seq();
  if (sink_.durable_seq() >= target) {
    send_ack(false);
    return;
  }
  durable_wait_ = true;
  sink_.on_durable(target, [this](uint64_t) {
    durable_wait_ = false;
    if (stopping_) return;
    send_ack(false);
    if (paused_ && conn_) {
      paused_ = false;
      Conn* c = conn_;
      process(c);  // frames that arrived before the pause
      if (c == conn_ && !paused_) start_reading(c);
    }
    if (sink_.last_seq() > sink_.durable_seq()) want_durable();
  });
}

void Follower::send_ack(bool force) {
  if (!conn_ || !conn_->welcomed) return;
  const uint64_t d = sink_.durable_seq();
  if (d <= acked_ && !force) return;
  acked_ = std::max(acked_, d);
  last_ack_ns_ = mono_ns();
  write(conn_, encode(Ack{d}));
}

void Follower::tick() {
  if (!conn_) return;
  const int64_t now = mono_ns();
  if (now - conn_->last_heard_ns > opts_.read_timeout_ns)
    return close_conn("nothing from the leader for " + std::to_string(opts_.read_timeout_ns / 1000000) + " ms", true,
                      backoff_ns_);
  if (conn_->welcomed && now - last_ack_ns_ >= opts_.ack_interval_ns) send_ack(/*force=*/true);
}

void Follower::close_conn(const std::string& why, bool warn, int64_t retry_ns) {
  snapshot_.reset();  // an unfinished transfer's file goes with its connection
  if (Conn* c = conn_) {
    // A stream that ends is worth a line (with when we try again); a connection that
    // never got a welcome was logged by whoever refused it.
    const std::string retry =
        retry_ns < 0 || stopping_ ? std::string() : "; retrying in " + std::to_string(ms(retry_ns)) + " ms";
    if (c->welcomed && warn)
      LOG_WARN("replication: disconnected from %s at seq %llu: %s%s", opts_.leader_addr.c_str(),
               (unsigned long long)sink_.last_seq(), why.c_str(), retry.c_str());
    else if (c->welcomed)
      LOG_INFO("replication: disconnected from %s at seq %llu: %s%s", opts_.leader_addr.c_str(),
               (unsigned long long)sink_.last_seq(), why.c_str(), retry.c_str());
    else if (warn)
      LOG_WARN("replication: connection to %s lost: %s%s", opts_.leader_addr.c_str(), why.c_str(), retry.c_str());
    else
      LOG_DEBUG("replication: connection to %s closed: %s", opts_.leader_addr.c_str(), why.c_str());
    conn_ = nullptr;
    paused_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), [](uv_handle_t* h) {
      auto* c = static_cast<Conn*>(h->data);
      Follower* f = c->owner;
      delete c;
      --f->open_handles_;
      f->maybe_done();
    });
  }
  if (retry_ns < 0 || stopping_) return;
  schedule_retry(retry_ns);
  if (retry_ns == backoff_ns_) backoff_ns_ = std::min(backoff_ns_ * 2, opts_.max_backoff_ns);
}

}  // namespace pilot::repl
