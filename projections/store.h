// A data directory as a whole: the log plus the SQLite snapshot of the projections.
// This is the only code that knows both, so restart and background snapshots are
// told here (library pilot_store).
//
// Restart:  recover the log (cut a torn tail) → load snapshot.db (if any) → check it
//           is a prefix of the log (same hash at its last seq) → apply the records
//           after it. Result: the state as of the last durable record.
// Snapshot: a background thread loads the previous snapshot into its own State, reads
//           the log up to a durable seq, applies, and writes a new snapshot.db
//           atomically. It shares nothing with the loop thread but the files, so
//           appends never stall; replay is deterministic, so its State equals the
//           live one at that seq.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "log/recovery.h"
#include "projections/state.h"

namespace pilot {

struct DataDir {
  std::string root;
  std::string log_dir() const { return root + "/log"; }
  std::string snapshot_path() const { return root + "/snapshot.db"; }
};

struct RestoreReport {
  log::RecoveryResult log;
  uint64_t snapshot_seq = 0;  // 0 = no snapshot
  uint64_t replayed = 0;      // records applied after the snapshot
  double load_seconds = 0;    // snapshot load
  double replay_seconds = 0;
};

// Progress callback for long replays: (records applied so far, target seq).
using ReplayProgress = std::function<void(uint64_t done, uint64_t upto)>;

// Applies records (state.last_seq, upto] of the log to `state`. False + error if the
// log is bad there or does not continue state's hash; the state then holds every
// record before the bad one. Reads and decodes on a thread of its own while the
// caller's thread applies (projections/replay.cc).
bool replay_log(const std::string& log_dir, State& state, uint64_t upto, std::string& error,
                const ReplayProgress& progress = {});

bool restore_state(const DataDir& dir, uint64_t segment_bytes, State& state, RestoreReport& report, std::string& error);

class Snapshotter {
 public:
  struct Result {
    uint64_t seq = 0;
    double seconds = 0;
    std::string error;  // empty on success
  };

  explicit Snapshotter(DataDir dir) : dir_(std::move(dir)) {}
  ~Snapshotter();  // waits for a running snapshot

  // Starts a snapshot of the log up to `upto_seq` (must be durable). False if one is
  // already running. `done` runs on the snapshot thread when it finishes.
  bool start(uint64_t upto_seq, std::function<void(const Result&)> done = {});
  // Writes a snapshot up to `upto_seq` on the calling thread (shutdown, tools).
  Result run(uint64_t upto_seq);
  bool running() const { return running_.load(); }
  void wait();

 private:
  DataDir dir_;
  std::atomic<bool> running_{false};
  std::mutex mu_;  // serialises run() calls
  std::thread thread_;
};

}  // namespace pilot
