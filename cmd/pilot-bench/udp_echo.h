// The raw UDP data path of this machine, for `pilot-bench beacon` to put the beacon's
// figures next to: the least a UDP server can do per datagram, built the way the
// beacon's server is (udp_server.h) — one thread per socket, every socket bound to one
// 127.0.0.1 port with SO_REUSEPORT, 16 MiB buffers, poll → recvmmsg of up to 32 →
// one sendmmsg of the batch, from the same socket — but with no protocol at all:
//
//   echo     each datagram goes back to its source unchanged (Discover's baseline:
//            one in, one out, reply to the sender);
//   forward  each datagram goes unchanged to a fixed target socket picked by a table
//            index read from the datagram (bytes 5..8, big-endian, minus `first_id`:
//            where a Relay carries its destination id), or is dropped when the index
//            is out of the table. Relay's baseline: one in, one out to another socket,
//            with the cheapest possible lookup.
//
// The threads run in the bench's own process; cpu_seconds() is theirs alone.
#pragma once

#include <netinet/in.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace pilot::bench {

class RawUdpServer {
 public:
  enum class Mode { kEcho, kForward };
  struct Options {
    Mode mode = Mode::kEcho;
    size_t threads = 0;             // 0 = one per core (as the beacon)
    std::vector<uint16_t> targets;  // forward: 127.0.0.1 ports, indexed by id − first_id
    uint32_t first_id = 0;          // forward
  };

  RawUdpServer() = default;
  ~RawUdpServer() { stop(); }
  RawUdpServer(const RawUdpServer&) = delete;
  RawUdpServer& operator=(const RawUdpServer&) = delete;

  // Binds 127.0.0.1:<ephemeral> and starts the threads; false with `error` set.
  bool start(Options o, std::string& error);
  void stop();

  uint16_t port() const { return port_; }
  size_t threads() const { return fds_.size(); }
  // CPU seconds of the server threads alone (their thread CPU clocks).
  double cpu_seconds() const;
  uint64_t received() const { return rx_.load(std::memory_order_relaxed); }
  uint64_t sent() const { return tx_.load(std::memory_order_relaxed); }
  uint64_t send_failures() const { return tx_failed_.load(std::memory_order_relaxed); }

 private:
  void run(size_t i);

  Options o_;
  std::vector<sockaddr_in> targets_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::vector<pthread_t> handles_;
  int stop_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<uint64_t> rx_{0}, tx_{0}, tx_failed_{0};
  std::atomic<size_t> running_{0};
};

}  // namespace pilot::bench
