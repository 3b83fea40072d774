// The beacon on UDP (spec §2): sockets and threads around the engine (beacon.h).
//
// Sockets. One per core (Options::sockets, 0 = hardware concurrency), all bound to the
// same address with SO_REUSEPORT so the kernel spreads flows over them; one socket
// when SO_REUSEPORT is unavailable. `:port` and `[::]:port` bind dual-stack `[::]`
// (IPv4 peers appear as ::ffff:a.b.c.d, replied to in the 4-byte form). Buffers of
// 16 MiB are asked for. On a wildcard bind every datagram's local address is read
// (IP_PKTINFO / IPV6_RECVPKTINFO) and every reply names it as its source, so a
// multi-homed host answers from the address the node talks to. For port 0 a free
// port is found with an ordinary bind first, because Linux may hand an ephemeral
// port that another user's SO_REUSEPORT group already holds to a new SO_REUSEPORT
// socket (tests run beacons side by side).
//
// Threads. Reader i owns socket i: poll → recvmmsg (32) → Engine::handle for each
// datagram → sendmmsg of everything the batch produced, from its own socket (the
// group shares the port, so the source is the beacon's address). A flow (one source
// 4-tuple) always lands on the same socket, hence on one thread, hence relays keep
// their order per source→destination (see beacon.h). The housekeeping thread runs
// gossip every gossip_interval (first round at start), reaping every reap_interval,
// a stats line every stats_interval, and reads the extra gossip sockets that Syncs
// past 16,375 ids leave from (beacon.h): relays sent back to those are handled there.
// The engine is shared by all threads (it is thread-safe); each thread has its own
// batches. notify() may be called from any thread.
//
// stop() (idempotent, also from the destructor) wakes every thread through an
// eventfd, lets each flush what it holds, joins them and closes the sockets.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/beacon/beacon.h"
#include "net/beacon/udp_socket.h"

namespace pilot::beacon {

struct UdpServerOptions {
  std::string addr = ":9001";
  size_t sockets = 0;  // 0: one per core
  int buffer_bytes = kSocketBufferBytes;
  int64_t gossip_interval = kGossipInterval;
  int64_t reap_interval = kReapInterval;
  int64_t stats_interval = 60 * kSecond;  // 0: no periodic stats line
};

class UdpServer {
 public:
  UdpServer(Engine& engine, UdpServerOptions opt);
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  // Binds and starts the threads. "" on success, else why not (nothing left running).
  std::string start();
  void stop();

  // Where we listen, port resolved: "[::]:9001", "127.0.0.1:40123".
  std::string listen_text() const;
  uint16_t port() const { return port_; }
  size_t socket_count() const { return fds_.size(); }
  bool reuseport() const { return reuseport_; }

  // A batch that sends from socket 0 (the beacon's address, with PKTINFO as the
  // readers), for a transport running on a thread of its own: the WebSocket bridge's
  // packets toward UDP nodes. Only between start() and stop().
  std::unique_ptr<TxBatch> make_sender();

  // [0A][01] to a node from socket 0 (§5.10); thread-safe.
  Engine::NotifyResult notify(uint32_t node_id);

  struct Stats {
    uint64_t rx_datagrams = 0, rx_batches = 0, tx_datagrams = 0;
  };
  Stats stats() const;
  // One line for the log: engine counters, table sizes, socket counters.
  std::string stats_line() const;

 private:
  struct Reader;
  void run_reader(size_t i);
  void run_housekeeping();
  int gossip_socket(size_t k);  // housekeeping thread only; opened on first use
  Time now() const;

  Engine& engine_;
  UdpServerOptions opt_;
  ListenAddr la_;
  uint16_t port_ = 0;
  bool reuseport_ = false;
  std::vector<int> fds_;
  std::vector<int> gossip_fds_;  // [k-1] = gossip socket k; housekeeping thread only
  int stop_fd_ = -1;
  LocalAddrs locals_;
  std::vector<std::unique_ptr<Reader>> readers_;
  std::vector<std::thread> threads_;
  std::mutex notify_mu_;
  std::unique_ptr<TxBatch> notify_tx_;
  std::atomic<uint64_t> rx_datagrams_{0}, rx_batches_{0}, tx_datagrams_{0};
  std::atomic<bool> stopping_{false};
  std::once_flag stopped_;
  bool started_ = false;
};

}  // namespace pilot::beacon
