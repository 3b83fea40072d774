// Peer discovery through the registry (spec §9.1), for the standalone beacon with
// -registry and a beacon id ≠ 0: every interval (30 s; the first round as soon as
// start() is called, i.e. right after the sockets are bound) one TCP exchange with the
// registry, on a thread of its own:
//
//   connect (5 s) → [len:4 BE][beacon_register] → read one answer, ignore it (errors
//   too) → [len][beacon_list] → read beacon_list_ok → the engine's peer list becomes
//   exactly its entries (id ≠ ours, addr non-empty and resolving as UDP),
//
// the whole exchange within 10 s, answers over 1 MiB refused. The new list replaces
// every peer, -peers included, and an empty list empties it (the reference). A round
// that fails (registry down, timeout, an answer that is not beacon_list_ok) keeps the
// peers it had and logs a warning.
//
// The registered addr is -advertise-addr, else the UDP listen address with a wildcard
// host (`[::]`, `0.0.0.0`) replaced by the local IP of the TCP connection to the
// registry — the address this host uses toward it.
//
// Why not net/rpc/client.h: it reads answers up to 64 MiB and bounds each read, not
// the exchange, and does not tell the local address; the framing is four bytes, so
// this file does its own blocking I/O with one deadline (registry_list.h holds the
// JSON side, which is fuzzed).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "net/beacon/beacon.h"

namespace pilot::beacon {

struct DiscoveryOptions {
  std::string registry;  // host:port of the registry's TCP port
  std::string admin_token;
  std::string advertise;        // "" = the listen address (wildcard host → local IP)
  std::string listen_text;      // the UDP server's listen_text(): "[::]:9001", "127.0.0.1:9001"
  int peer_family = AF_UNSPEC;  // AF_INET when the UDP socket is IPv4-only
  int64_t interval = 30 * kSecond;
  int64_t connect_timeout = 5 * kSecond;
  int64_t deadline = 10 * kSecond;
  size_t max_response = size_t{1} << 20;
};

class RegistryDiscovery {
 public:
  RegistryDiscovery(Engine& engine, DiscoveryOptions opt);
  ~RegistryDiscovery();
  RegistryDiscovery(const RegistryDiscovery&) = delete;
  RegistryDiscovery& operator=(const RegistryDiscovery&) = delete;

  // Starts the thread (its first round at once). "" or why not.
  std::string start();
  // Wakes the thread, ends a round in progress at its next wait, joins. Idempotent.
  void stop();

  uint64_t rounds_ok() const { return rounds_ok_.load(); }
  uint64_t rounds_failed() const { return rounds_failed_.load(); }

 private:
  void run();
  // One exchange: "" when the peer list was replaced, else why not.
  std::string round();

  Engine& engine_;
  const DiscoveryOptions opt_;
  int stop_fd_ = -1;
  std::thread thread_;
  std::atomic<uint64_t> rounds_ok_{0}, rounds_failed_{0};
  std::string last_peers_;  // the thread's: log a change once
};

}  // namespace pilot::beacon
