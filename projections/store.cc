#include "projections/store.h"

#include <sys/stat.h>

#include <chrono>

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
