#include "projections/store.h"

#include <sys/stat.h>

#include <chrono>

#include "log/scanner.h"
#include "projections/snapshot.h"

namespace pilot {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

}  // namespace

bool replay_log(const std::string& log_dir, State& state, uint64_t upto, std::string& error,
                const ReplayProgress& progress) {
  if (upto <= state.last_seq) return true;
  // Start one record early to prove the log continues exactly where the state ends.
  const uint64_t from = state.last_seq == 0 ? 1 : state.last_seq;
  // Recovery has already checked these records (CRC, order, and the chain of the last
  // segment); the boundary is checked below by comparing stored hashes.
  log::Scanner s(log_dir, from, /*verify_chain=*/false);
  log::Record r;
  log::Scanner::Status st;
  uint64_t done = 0;
  bool first = true;
  while ((st = s.next(r)) == log::Scanner::Status::kRecord) {
    // A log whose older segments were deleted (log/retention.h) may begin right after
    // the state: then the first record itself must chain from the state's hash (its
    // segment header says the same, but a header is only as good as this check).
    if (first && r.seq == state.last_seq + 1 && state.last_seq != 0) {
      if (std::string why = log::check_chain(r, state.last_seq, state.last_hash, 0); !why.empty()) {
        error = "snapshot does not match the log: seq " + std::to_string(r.seq) + " does not continue it (" + why + ")";
        return false;
      }
    }
    first = false;
    if (r.seq == state.last_seq) {
      if (r.hash != state.last_hash) {
        error = "snapshot does not match the log: hash of seq " + std::to_string(r.seq) + " differs";
        return false;
      }
      continue;
    }
    if (r.seq != state.last_seq + 1) {
      error = "log does not reach back to seq " + std::to_string(state.last_seq + 1) + " (starts at " +
              std::to_string(r.seq) + ")";
      return false;
    }
    auto ev = decode_payload(static_cast<EventKind>(r.kind), r.payload);
    if (!ev) {
      error = "undecodable event at seq " + std::to_string(r.seq) + " (kind " + std::to_string(r.kind) + ")";
      return false;
    }
    state.apply(r.meta(), *ev);
    state.last_hash = r.hash;
    if (progress && (++done & 0xFFFFF) == 0) progress(done, upto);
    if (r.seq >= upto) return true;
  }
  if (st == log::Scanner::Status::kError) {
    const auto& e = s.error();
    error = "log error in " + e.segment + " at offset " + std::to_string(e.offset) + " after seq " +
            std::to_string(e.after_seq) + ": " + e.what;
    return false;
  }
  if (state.last_seq < upto) {
    error = "log ends at seq " + std::to_string(state.last_seq) + ", before " + std::to_string(upto);
    return false;
  }
  return true;
}

bool restore_state(const DataDir& dir, uint64_t segment_bytes, State& state, RestoreReport& report,
                   std::string& error) {
  report = RestoreReport{};
  if (!log::recover(dir.log_dir(), segment_bytes, report.log, error)) return false;
  auto t0 = std::chrono::steady_clock::now();
  state = State{};
  if (file_exists(dir.snapshot_path())) {
    std::string why;
    auto loaded = load_snapshot(dir.snapshot_path(), &why);
    if (!loaded) {
      error = "cannot load snapshot " + dir.snapshot_path() + ": " + why;
      return false;
    }
    state = std::move(*loaded);
    report.snapshot_seq = state.last_seq;
  }
  report.load_seconds = seconds_since(t0);
  if (state.last_seq > report.log.last_seq) {
    error = "snapshot is at seq " + std::to_string(state.last_seq) + " but the log ends at " +
            std::to_string(report.log.last_seq) + ": the log lost acknowledged records";
    return false;
  }
  // A snapshot at the very end of the log replays nothing: compare its hash here.
  if (state.last_seq != 0 && state.last_seq == report.log.last_seq && state.last_hash != report.log.last_hash) {
    error = "snapshot does not match the log: hash of seq " + std::to_string(state.last_seq) + " differs";
    return false;
  }
  t0 = std::chrono::steady_clock::now();
  uint64_t before = state.last_seq;
  if (!replay_log(dir.log_dir(), state, report.log.last_seq, error)) return false;
  report.replayed = state.last_seq - before;
  report.replay_seconds = seconds_since(t0);
  return true;
}

Snapshotter::~Snapshotter() { wait(); }

void Snapshotter::wait() {
  if (thread_.joinable()) thread_.join();
}

bool Snapshotter::start(uint64_t upto_seq, std::function<void(const Result&)> done) {
  if (running_.exchange(true)) return false;
  wait();  // reap the previous, finished thread
  thread_ = std::thread([this, upto_seq, done = std::move(done)] {
    Result r = run(upto_seq);
    running_ = false;
    if (done) done(r);
  });
  return true;
}

Snapshotter::Result Snapshotter::run(uint64_t upto_seq) {
  std::lock_guard lk(mu_);
  auto t0 = std::chrono::steady_clock::now();
  Result res;
  State s;
  if (file_exists(dir_.snapshot_path())) {
    auto loaded = load_snapshot(dir_.snapshot_path(), &res.error);
    if (!loaded) return res;
    s = std::move(*loaded);
  }
  if (s.last_seq >= upto_seq) {
    res.seq = s.last_seq;
    return res;
  }
  if (!replay_log(dir_.log_dir(), s, upto_seq, res.error)) return res;
  try {
    save_snapshot(s, dir_.snapshot_path());
  } catch (const std::exception& e) {
    res.error = e.what();
    return res;
  }
  res.seq = s.last_seq;
  res.seconds = seconds_since(t0);
  return res;
}

}  // namespace pilot
