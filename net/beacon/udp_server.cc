#include "net/beacon/udp_server.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <functional>

#include "core/logging.h"

namespace pilot::beacon {
namespace {

int64_t mono_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * kSecond + ts.tv_nsec;
}

int poll_ms(int64_t until_ns) {
  int64_t left = until_ns - mono_ns();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left / 1'000'000 + 1, 60'000));
}

// Sync datagrams of the housekeeping thread: chunk 0 from the main socket (batched
// with everything else that thread sends), chunk k ≥ 1 from gossip socket k.
class GossipSink : public Sink {
 public:
  GossipSink(TxBatch& main, Engine& engine, std::function<int(size_t)> socket_for, int family)
      : main_(main), engine_(engine), socket_for_(std::move(socket_for)), family_(family) {}
  void send(const Datagram& d) override {
    if (d.gossip_socket == 0) return main_.send(d);
    int fd = socket_for_(d.gossip_socket);
    sockaddr_storage ss;
    socklen_t len = d.to.to_sockaddr(family_, ss);
    std::string b(d.head);
    b.append(d.body);
    if (fd < 0 || len == 0 || ::sendto(fd, b.data(), b.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss), len) < 0)
      engine_.count_send_failure(d.kind);
  }

 private:
  TxBatch& main_;
  Engine& engine_;
  std::function<int(size_t)> socket_for_;
  int family_;
};

}  // namespace

struct UdpServer::Reader {
  Reader(int fd, int family, bool pktinfo, const LocalAddrs& locals, Engine& engine, std::atomic<uint64_t>* sent)
      : rx(family, pktinfo), tx(fd, family, pktinfo, locals, engine, sent) {}
  RxBatch rx;
  TxBatch tx;
};

UdpServer::UdpServer(Engine& engine, UdpServerOptions opt) : engine_(engine), opt_(std::move(opt)) {}

UdpServer::~UdpServer() { stop(); }

Time UdpServer::now() const { return Time{mono_ns(), static_cast<int64_t>(::time(nullptr))}; }

std::string UdpServer::start() {
  std::string error;
  auto la = parse_listen_addr(opt_.addr, error);
  if (!la) return error;
  la_ = *la;
  size_t want = opt_.sockets ? opt_.sockets : std::max(1u, std::thread::hardware_concurrency());
  SocketOptions so{want > 1, la_.wildcard, opt_.buffer_bytes};

  uint16_t port = la_.ep.port;
  if (port == 0 && so.reuseport) {
    // Find a port nobody holds with a plain bind (see header), then take it as a group.
    int probe = open_udp_socket(la_, 0, SocketOptions{false, false, 0}, error);
    if (probe < 0) return error;
    port = bound_endpoint(probe).value_or(Endpoint{}).port;
    ::close(probe);
  }
  int fd = open_udp_socket(la_, port, so, error);
  if (fd < 0 && so.reuseport) {
    LOG_WARN("beacon: %s; falling back to one socket", error.c_str());
    so.reuseport = false;
    want = 1;
    fd = open_udp_socket(la_, port, so, error);
  }
  if (fd < 0) return error;
  fds_.push_back(fd);
  port_ = bound_endpoint(fd).value_or(Endpoint{}).port;
  while (fds_.size() < want) {
    int more = open_udp_socket(la_, port_, so, error);
    if (more < 0) {
      LOG_WARN("beacon: %s; serving with %zu sockets", error.c_str(), fds_.size());
      break;
    }
    fds_.push_back(more);
  }
  reuseport_ = fds_.size() > 1;
  auto [rcv, snd] = socket_buffers(fds_[0]);
  if (rcv / 2 < opt_.buffer_bytes || snd / 2 < opt_.buffer_bytes)  // the kernel reports double
    LOG_INFO("beacon: socket buffers rcv=%d snd=%d bytes (asked %d; raise net.core.rmem_max/wmem_max)", rcv / 2,
             snd / 2, opt_.buffer_bytes);

  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    error = std::string("eventfd: ") + std::strerror(errno);
    for (int f : fds_) ::close(f);
    fds_.clear();
    return error;
  }
  notify_tx_ = std::make_unique<TxBatch>(fds_[0], la_.family, la_.wildcard, locals_, engine_, &tx_datagrams_);
  for (int f : fds_)
    readers_.push_back(std::make_unique<Reader>(f, la_.family, la_.wildcard, locals_, engine_, &tx_datagrams_));
  started_ = true;
  for (size_t i = 0; i < fds_.size(); ++i) threads_.emplace_back([this, i] { run_reader(i); });
  threads_.emplace_back([this] { run_housekeeping(); });
  return "";
}

std::string UdpServer::listen_text() const {
  Endpoint ep = la_.ep;
  ep.port = port_;
  if (la_.dual_stack) return "[::]:" + std::to_string(port_);
  return ep.to_string();
}

void UdpServer::run_reader(size_t i) {
  Reader& rd = *readers_[i];
  const int fd = fds_[i];
  pollfd p[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LOG_ERROR("beacon: poll: %s", std::strerror(errno));
      break;
    }
    if (p[1].revents) break;
    // Drain the socket before sleeping again, one batch at a time, stopping when asked.
    for (;;) {
      int n = rd.rx.receive(fd);
      if (n < 0) LOG_DEBUG("beacon: recvmmsg: %s", std::strerror(errno));
      if (n <= 0) break;
      Time t = now();
      for (int k = 0; k < n; ++k) {
        auto src = rd.rx.source(k);
        if (!src) continue;  // not an IP source
        auto local = rd.rx.local_ip(k);
        Via via = local ? locals_.intern(*local) : kAnyVia;
        engine_.handle(rd.rx.data(k), Source{*src, via}, t, rd.tx);
      }
      rd.tx.flush();
      rx_datagrams_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      rx_batches_.fetch_add(1, std::memory_order_relaxed);
      if (stopping_.load(std::memory_order_relaxed)) break;
    }
  }
  rd.tx.flush();
}

int UdpServer::gossip_socket(size_t k) {
  while (gossip_fds_.size() < k) {
    std::string error;
    int fd = open_udp_socket(la_, 0, SocketOptions{false, false, 1 << 20}, error);
    if (fd < 0) {
      LOG_WARN("beacon: gossip socket %zu: %s", gossip_fds_.size() + 1, error.c_str());
      return -1;
    }
    LOG_INFO("beacon: gossip socket %zu on port %u (more than %zu local ids)", gossip_fds_.size() + 1,
             bound_endpoint(fd).value_or(Endpoint{}).port, engine_.config().sync_ids_per_datagram);
    gossip_fds_.push_back(fd);
  }
  return gossip_fds_[k - 1];
}

void UdpServer::run_housekeeping() {
  TxBatch tx(fds_[0], la_.family, la_.wildcard, locals_, engine_, &tx_datagrams_);
  RxBatch rx(la_.family, false);
  GossipSink gsink(
      tx, engine_, [this](size_t k) { return gossip_socket(k); }, la_.family);
  int64_t t0 = mono_ns();
  int64_t next_gossip = t0;  // first round right away
  int64_t next_reap = t0 + opt_.reap_interval;
  int64_t next_stats = opt_.stats_interval > 0 ? t0 + opt_.stats_interval : INT64_MAX;
  std::string last_line;
  for (;;) {
    std::vector<pollfd> p{{stop_fd_, POLLIN, 0}};
    for (int fd : gossip_fds_) p.push_back({fd, POLLIN, 0});
    int64_t until = std::min({next_gossip, next_reap, next_stats});
    if (::poll(p.data(), p.size(), poll_ms(until)) < 0 && errno != EINTR) {
      LOG_ERROR("beacon: poll: %s", std::strerror(errno));
      break;
    }
    if (p[0].revents) break;
    // Relays a peer sent back to one of our gossip sockets (it learned those ids
    // from that socket's Sync).
    for (size_t i = 1; i < p.size(); ++i) {
      if (!p[i].revents) continue;
      for (int round = 0; round < 64; ++round) {
        int n = rx.receive(p[i].fd);
        if (n <= 0) break;
        Time t = now();
        for (int k = 0; k < n; ++k)
          if (auto src = rx.source(k)) engine_.handle(rx.data(k), Source{*src, kAnyVia}, t, tx);
        tx.flush();
        rx_datagrams_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      }
    }
    Time t = now();
    if (t.mono_ns >= next_gossip) {
      engine_.gossip_tick(t, gsink);
      tx.flush();
      next_gossip = t.mono_ns + opt_.gossip_interval;
    }
    if (t.mono_ns >= next_reap) {
      Engine::ReapStats r = engine_.reap(t);
      if (r.nodes || r.gossip_sources)
        LOG_DEBUG("beacon: reaped %zu nodes, %zu gossip sources", r.nodes, r.gossip_sources);
      next_reap = t.mono_ns + opt_.reap_interval;
    }
    if (t.mono_ns >= next_stats) {
      std::string line = stats_line();
      if (line != last_line) LOG_INFO("%s", line.c_str());
      last_line = std::move(line);
      next_stats = t.mono_ns + opt_.stats_interval;
    }
  }
  tx.flush();
}

std::unique_ptr<TxBatch> UdpServer::make_sender() {
  if (!started_ || fds_.empty()) return nullptr;
  return std::make_unique<TxBatch>(fds_[0], la_.family, la_.wildcard, locals_, engine_, &tx_datagrams_);
}

Engine::NotifyResult UdpServer::notify(uint32_t node_id) {
  std::lock_guard lock(notify_mu_);
  if (!notify_tx_) return Engine::NotifyResult::kNotFound;
  Engine::NotifyResult r = engine_.notify(node_id, now(), *notify_tx_);
  notify_tx_->flush();
  return r;
}

UdpServer::Stats UdpServer::stats() const {
  Stats s;
  s.rx_datagrams = rx_datagrams_.load(std::memory_order_relaxed);
  s.rx_batches = rx_batches_.load(std::memory_order_relaxed);
  s.tx_datagrams = tx_datagrams_.load(std::memory_order_relaxed);
  return s;
}

std::string UdpServer::stats_line() const {
  Counters c = engine_.counters();
  Stats s = stats();
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "beacon: stats nodes=%zu routes=%zu discover_replies=%lu punch_commands=%lu relay_forwarded=%lu "
                "relay_dropped=%lu relay_not_found=%lu syncs_received=%lu syncs_sent=%lu notifies_sent=%lu rx=%lu "
                "tx=%lu dropped=%lu",
                engine_.nodes().size(), engine_.gossip().routes(), c.discover_replies, c.punch_commands,
                c.relay_forwarded, c.relay_dropped, c.relay_not_found, c.syncs_received, c.syncs_sent, c.notifies_sent,
                s.rx_datagrams, s.tx_datagrams, c.dropped_total());
  std::string line = buf;
  for (size_t i = 0; i < kDropReasons; ++i)
    if (c.drops[i]) line += " drop_" + std::string(drop_label(static_cast<Drop>(i))) + "=" + std::to_string(c.drops[i]);
  return line;
}

void UdpServer::stop() {
  if (!started_) {
    for (int f : fds_) ::close(f);
    fds_.clear();
    return;
  }
  std::call_once(stopped_, [this] {
    stopping_.store(true, std::memory_order_relaxed);  // a reader busy draining sees this between batches
    uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    for (auto& t : threads_) t.join();
    {
      std::lock_guard lock(notify_mu_);
      notify_tx_.reset();
    }
    for (int f : fds_) ::close(f);
    for (int f : gossip_fds_) ::close(f);
    ::close(stop_fd_);
  });
}

}  // namespace pilot::beacon
