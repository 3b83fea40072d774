// Logs written offline, fast (log::Writer with fsync=none), with the event mix the log
// benchmark replays: `pilot-bench log` times replay and restart on them, and
// `pilot-bench repl` hands one to a leader for a follower to catch up on.
//
// Events are deterministic (no clock, no randomness): the same call writes the same
// bytes, so two runs measure the same log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/events.h"
#include "log/writer.h"

namespace pilot::bench {

// Payload size of every generated registration.
constexpr size_t kPayloadBytes = 200;
// Record timestamps of generated logs (mid-2025): event i is stamped kBaseTimeNs + i us.
constexpr int64_t kBaseTimeNs = 1'750'000'000'000'000'000;

// Node `id`'s public key: 32 pseudo-random bytes (no key pair: nothing verifies them).
PublicKey key_for(uint32_t id);

// A new node's registration, kPayloadBytes long: every field has a fixed width and the
// version string carries build metadata ("v1.9.3+g3f9c…") to make up the difference.
NodeRegistered registration(uint32_t id);

// The replay mix, after `networks` networks are created: of every 50 events, 40
// register a new node, 4 change a hostname, 3 change tags, 2 join a network and 1
// adds a trust pair (all about random existing nodes).
class MixGen {
 public:
  MixGen(uint32_t existing_nodes, uint16_t networks) : known_(existing_nodes), networks_(networks) {}
  Event next();
  uint32_t nodes() const { return known_; }

 private:
  uint32_t pick();

  uint32_t known_;
  uint16_t networks_;
  uint16_t created_ = 0;
  uint64_t count_ = 0;
  uint64_t rng_ = 42;
};

// A writer on `log_dir` (created if missing), after recovering what is there.
std::unique_ptr<log::Writer> open_writer(const std::string& log_dir, log::FsyncPolicy::Mode mode, std::string& error);

struct GeneratedLog {
  uint64_t records = 0;
  uint64_t record_bytes = 0;  // framed records, without segment headers
  uint64_t data_bytes = 0;    // what a reader reads: records + segment headers
  size_t segments = 0;
  double write_seconds = 0;
};

// Writes `events` events of MixGen(0, 100) to a new log in `log_dir` (fsync=none, one
// flush at the end), timestamped kBaseTimeNs + i us.
bool write_mix_log(const std::string& log_dir, uint64_t events, GeneratedLog& out, std::string& error);

}  // namespace pilot::bench
