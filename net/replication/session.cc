#include "net/replication/session.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/logging.h"
#include "log/file_util.h"
#include "net/replication/leader.h"
#include "net/replication/record_source.h"
#include "net/replication/rewind.h"
#include "net/replication/snapshot_transfer.h"

namespace pilot::repl {
namespace {

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int poll_ms(int64_t ns) { return static_cast<int>(std::max<int64_t>(0, (ns + 999999) / 1000000)); }

// Waits until `fd` is ready for `events` or `deadline_ns` passes. False on timeout
// (errno = ETIMEDOUT) or error.
bool wait_fd(int fd, short events, int64_t deadline_ns) {
  for (;;) {
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, poll_ms(deadline_ns - mono_ns()));
    if (r > 0) return true;
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) errno = ETIMEDOUT;
    return false;
  }
}

}  // namespace

Session::Session(Leader& leader, int fd, std::string peer) : leader_(leader), fd_(fd), peer_(std::move(peer)) {}

Session::~Session() {
  kill();
  if (thread_.joinable()) thread_.join();
  if (receiver_.joinable()) receiver_.join();
  ::close(fd_);
}

void Session::start() {
  thread_ = std::thread([this] { main(); });
}

void Session::request_stop(int64_t deadline_ns) {
  stop_deadline_ns_ = deadline_ns;
  stop_requested_ = true;
}

void Session::kill() {
  if (!dropped_.exchange(true)) ::shutdown(fd_, SHUT_RDWR);
}

void Session::drop(const std::string& why, bool warn) {
  if (dropped_.exchange(true)) return;
  const char* role = consumer_ ? "consumer" : "follower";
  if (warn)
    LOG_WARN("replication: dropping %s %s: %s", role, peer_.c_str(), why.c_str());
  else
    LOG_INFO("replication: %s %s: %s", role, peer_.c_str(), why.c_str());
  ::shutdown(fd_, SHUT_RDWR);  // wakes the other thread, whichever call it is blocked in
}

void Session::main() {
  Hello h;
  if (read_hello(h)) {
    consumer_ = h.consumer;
    if (admit(h)) snapshot_request_ ? send_snapshot(h) : stream(h);
  }
  // The receiver ends on the shutdown of the socket (or on its own error); join it
  // here so that finished() means no thread of this session runs any more.
  if (receiver_.joinable()) receiver_.join();
  finished_ = true;
}

bool Session::send(int64_t timeout_ns, std::string_view header, std::string_view body) {
  iovec iov[2] = {{const_cast<char*>(header.data()), header.size()}, {const_cast<char*>(body.data()), body.size()}};
  int n_iov = body.empty() ? 1 : 2;
  iovec* at = iov;
  while (n_iov > 0) {
    msghdr msg{};
    msg.msg_iov = at;
    msg.msg_iovlen = static_cast<size_t>(n_iov);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // The timer restarts with every byte taken: slow is fine, stopped is not.
        if (!wait_fd(fd_, POLLOUT, mono_ns() + timeout_ns)) {
          send_error_ = errno == ETIMEDOUT
                            ? "not reading: nothing could be sent for " + std::to_string(timeout_ns / 1000000) + " ms"
                            : std::string("poll: ") + std::strerror(errno);
          return false;
        }
        continue;
      }
      send_error_ = std::string("send: ") + std::strerror(errno);
      return false;
    }
    size_t left = static_cast<size_t>(n);
    while (n_iov > 0 && left >= at->iov_len) {
      left -= at->iov_len;
      ++at;
      --n_iov;
    }
    if (n_iov > 0) {
      at->iov_base = static_cast<char*>(at->iov_base) + left;
      at->iov_len -= left;
    }
  }
  return true;
}

void Session::refuse(RefuseCode code, const std::string& reason, bool quiet) {
  if (quiet)
    LOG_DEBUG("replication: refused %s: %s: %s", peer_.c_str(), to_string(code), reason.c_str());
  else
    LOG_WARN("replication: refused %s: %s: %s", peer_.c_str(), to_string(code), reason.c_str());
  send_and_close(encode(Refuse{code, reason}));
}

void Session::rewind(const Hello& h, uint64_t durable) {
  Rewind m;
  m.term = leader_.term();
  std::string error;
  if (!rewind_points(leader_.log_dir_, h.last_seq, durable, m.points, error)) {
    LOG_ERROR("replication: %s", error.c_str());
    return refuse(RefuseCode::kLogError, error);
  }
  LOG_WARN(
      "replication: follower %s ends at seq %llu (hash %s, term %llu), which is not on this leader's log (durable "
      "seq %llu): sent it %zu rewind points%s so it can cut its divergent tail",
      peer_.c_str(), (unsigned long long)h.last_seq, log::hash_hex(h.last_hash).substr(0, 16).c_str(),
      (unsigned long long)h.term, (unsigned long long)durable, m.points.size(),
      m.points.empty()
          ? ""
          : (" (seq " + std::to_string(m.points.front().seq) + " down to " + std::to_string(m.points.back().seq) + ")")
                .c_str());
  send_and_close(encode(m));
}

void Session::send_snapshot(const Hello& h) {
  const std::string path = log::dirname_of(leader_.log_dir_) + "/snapshot.db";
  LOG_INFO("replication: follower %s (at seq %llu) asked for the snapshot: sending %s", peer_.c_str(),
           (unsigned long long)h.last_seq, path.c_str());
  SnapshotEnd end;
  bool send_failed = false;
  std::string error;
  const auto send_frame = [this](std::string_view frame) { return send(leader_.opts_.send_timeout_ns, frame); };
  if (!stream_snapshot(path, send_frame, end, send_failed, error)) {
    if (send_failed) return drop("while sending the snapshot: " + send_error_);
    LOG_ERROR("replication: cannot send the snapshot to %s: %s", peer_.c_str(), error.c_str());
    return refuse(RefuseCode::kLogError, error);
  }
  LOG_INFO("replication: sent follower %s the snapshot at seq %llu (%llu bytes)", peer_.c_str(),
           (unsigned long long)end.last_seq, (unsigned long long)end.size);
  send_and_close(encode(end));
}

void Session::send_and_close(const std::string& frame) {
  if (dropped_.exchange(true)) return;
  // Best effort and briefly: the peer may not be reading at all.
  if (send(int64_t{1000000000}, frame)) {
    ::shutdown(fd_, SHUT_WR);
    // Read what the peer still sends until it closes (or a second passes): closing
    // with unread input would reset the connection and could destroy the last frame
    // before the peer reads it.
    char sink[4096];
    const int64_t deadline = mono_ns() + 1000000000;
    while (wait_fd(fd_, POLLIN, deadline) && ::recv(fd_, sink, sizeof sink, 0) > 0) {
    }
  }
  ::shutdown(fd_, SHUT_RDWR);
}

bool Session::read_hello(Hello& out) {
  const int64_t deadline = mono_ns() + leader_.opts_.hello_timeout_ns;
  std::string buf;
  char tmp[512];
  for (;;) {
    Frame f;
    std::string why;
    switch (next_frame(buf, f, why)) {
      case FrameStatus::kBad: refuse(RefuseCode::kBadFrame, why); return false;
      case FrameStatus::kFrame:
        if (f.type == MsgType::kSnapshotRequest) {
          // Checked like a hello (version, token, term): only the answer differs.
          auto r = decode_snapshot_request(f.body);
          if (!r || f.consumed != buf.size()) {
            refuse(RefuseCode::kBadFrame, "malformed snapshot request");
            return false;
          }
          out = Hello{};
          out.version = r->version;
          out.token = std::move(r->token);
          out.term = r->term;
          out.last_seq = r->last_seq;
          snapshot_request_ = true;
          return true;
        }
        if (f.type != MsgType::kHello) {
          refuse(RefuseCode::kBadFrame, "expected a hello, got frame type " + std::to_string(int(f.type)));
          return false;
        }
        if (auto h = decode_hello(f.body)) {
          out = std::move(*h);
          if (f.consumed != buf.size()) {
            refuse(RefuseCode::kBadFrame, "bytes after the hello before the welcome");
            return false;
          }
          return true;
        }
        refuse(RefuseCode::kBadFrame, "malformed hello (not a replication client?)");
        return false;
      case FrameStatus::kNeedMore: break;
    }
    if (!wait_fd(fd_, POLLIN, deadline)) {
      LOG_WARN("replication: %s sent no hello within %lld ms; closing", peer_.c_str(),
               (long long)(leader_.opts_.hello_timeout_ns / 1000000));
      return false;
    }
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      LOG_DEBUG("replication: %s closed before its hello", peer_.c_str());
      return false;
    }
    buf.append(tmp, static_cast<size_t>(n));
  }
}

bool Session::admit(const Hello& h) {
  if (h.version != kProtocolVersion) {
    refuse(RefuseCode::kBadVersion,
           "this leader speaks version " + std::to_string(kProtocolVersion) + ", not " + std::to_string(h.version));
    return false;
  }
  if (!token_matches(h.token, leader_.opts_.token)) {
    refuse(RefuseCode::kBadToken, "invalid replication token");
    return false;
  }
  // A follower that has seen a higher term knows of a newer leader than us: taking
  // our records would fork its log.
  const uint64_t term = leader_.term();
  if (h.term > term) {
    // Loud once per newer term (the leader logs it and fences the host); the newer
    // leader keeps knocking (fencer.h), which is not news.
    const bool news = leader_.note_newer_term(h.term, peer_);
    refuse(RefuseCode::kStaleTerm,
           "the follower has seen term " + std::to_string(h.term) + ", this leader is at term " + std::to_string(term),
           /*quiet=*/!news);
    return false;
  }
  // A snapshot transfer is neither a follower nor a consumer: a standalone beacon
  // asking for the snapshot must get it while the standbys fill the follower slots.
  if (snapshot_request_) {
    const size_t cap = leader_.opts_.max_followers + leader_.opts_.max_consumers;
    if (leader_.snapshot_transfers() >= cap) {
      refuse(RefuseCode::kBusy, "already sending " + std::to_string(cap) + " snapshots");
      return false;
    }
    transferring_ = true;
    return true;
  }
  // Consumers (standalone beacons) have their own cap: they must never take the slot
  // of the standby that sync mode and failover depend on.
  if (h.consumer && leader_.consumers() >= leader_.opts_.max_consumers) {
    refuse(RefuseCode::kBusy, "already serving " + std::to_string(leader_.opts_.max_consumers) + " consumers");
    return false;
  }
  if (!h.consumer && leader_.followers() >= leader_.opts_.max_followers) {
    refuse(RefuseCode::kBusy, "already serving " + std::to_string(leader_.opts_.max_followers) + " followers");
    return false;
  }
  return true;
}

void Session::stream(const Hello& h) {
  const log::Writer& writer = leader_.writer_;
  RecordSource src(leader_.log_dir_);
  const uint64_t durable = writer.durable_seq();
  switch (src.seek(h.last_seq, h.last_hash, durable)) {
    case RecordSource::Seek::kOk: break;
    case RecordSource::Seek::kAhead:     // records this leader does not have
    case RecordSource::Seek::kDiverged:  // or another record at its last seq
      return rewind(h, durable);
    case RecordSource::Seek::kNeedSnapshot:
      return refuse(RefuseCode::kNeedSnapshot, "records after seq " + std::to_string(h.last_seq) +
                                                   " are no longer in this leader's log (retention): a follower "
                                                   "asks for the snapshot next");
    case RecordSource::Seek::kError:
      LOG_ERROR("replication: %s", src.error().c_str());
      return refuse(RefuseCode::kLogError, src.error());
  }
  sent_seq_ = h.last_seq;
  streaming_ = true;  // counted from here, so a second follower racing in sees us
  if (!send(leader_.opts_.send_timeout_ns, encode(Welcome{kProtocolVersion, leader_.term(), durable})))
    return drop(send_error_);
  LOG_INFO("replication: %s %s connected at seq %llu (leader durable seq %llu)", h.consumer ? "consumer" : "follower",
           peer_.c_str(), (unsigned long long)h.last_seq, (unsigned long long)durable);
  receiver_ = std::thread([this] { receive_main(); });

  std::string batch;
  int64_t last_send = mono_ns();
  while (!dropped_) {
    const uint64_t d = writer.durable_seq();
    if (stop_requested_) {
      if (src.position() >= d) {
        // Everything durable is out: half-close, and let the receiver read the last
        // acks until the follower closes (Leader::stop ends it at the deadline).
        LOG_INFO("replication: follower %s has every record up to seq %llu; closing for shutdown", peer_.c_str(),
                 (unsigned long long)d);
        ::shutdown(fd_, SHUT_WR);
        return;
      }
      if (mono_ns() > stop_deadline_ns_) return drop("shutting down before the follower had every record");
    }
    if (src.position() < d) {
      batch.clear();
      switch (src.read(d, leader_.opts_.batch_bytes, batch)) {
        case RecordSource::Read::kError:
          LOG_ERROR("replication: cannot read the log for %s: %s", peer_.c_str(), src.error().c_str());
          return drop("cannot read the log: " + src.error());
        case RecordSource::Read::kRecords:
          // sent_seq_ first: an ack may arrive before send() returns.
          sent_seq_ = src.position();
          if (!send(leader_.opts_.send_timeout_ns, records_header(batch.size()), batch)) return drop(send_error_);
          last_send = mono_ns();
          continue;
        case RecordSource::Read::kNothing:  // durable, not visible in the file yet
          usleep(1000);
          continue;
      }
    }
    if (mono_ns() - last_send >= leader_.opts_.keepalive_ns) {
      if (!send(leader_.opts_.send_timeout_ns, encode(Keepalive{leader_.term(), d}))) return drop(send_error_);
      last_send = mono_ns();
    }
    if (writer.closed() || stop_requested_)
      usleep(10000);
    else
      writer.wait_durable(d, std::chrono::milliseconds(100));
  }
}

void Session::receive_main() {
  std::string buf;
  char tmp[4096];
  for (;;) {
    Frame f;
    std::string why;
    FrameStatus st = next_frame(buf, f, why);
    if (st == FrameStatus::kBad) return drop("bad frame: " + why);
    if (st == FrameStatus::kFrame) {
      if (f.type != MsgType::kAck) return drop("unexpected frame type " + std::to_string(int(f.type)));
      auto ack = decode_ack(f.body);
      if (!ack) return drop("malformed ack");
      if (ack->durable_seq > sent_seq_.load())
        return drop("acknowledged seq " + std::to_string(ack->durable_seq) + " beyond what was sent (" +
                    std::to_string(sent_seq_.load()) + ")");
      if (ack->durable_seq > acked_seq_) {
        acked_seq_ = ack->durable_seq;
        if (!consumer_) leader_.note_ack(ack->durable_seq);
      }
      buf.erase(0, f.consumed);
      continue;
    }
    if (!wait_fd(fd_, POLLIN, mono_ns() + leader_.opts_.ack_timeout_ns)) {
      if (dropped_) return;
      return drop(errno == ETIMEDOUT
                      ? "nothing heard for " + std::to_string(leader_.opts_.ack_timeout_ns / 1000000) + " ms"
                      : std::string("poll: ") + std::strerror(errno));
    }
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return drop("connection closed by the follower", /*warn=*/false);
    if (n < 0) return drop(std::string("recv: ") + std::strerror(errno));
    buf.append(tmp, static_cast<size_t>(n));
  }
}

}  // namespace pilot::repl
