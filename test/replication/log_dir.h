// A data directory with an open writer and the state its log builds, for in-process
// replication tests: the leader's side (fill it with generated events) and the
// follower's side (records arrive through an Applier), reopened like a restart.
#pragma once

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/rw_mutex.h"
#include "log/scanner.h"
#include "log/writer.h"
#include "projections/store.h"
#include "test/projections/event_gen.h"
#include "test/support/temp_dir.h"

namespace pilot::repltest {

class LogDir {
 public:
  explicit LogDir(uint64_t segment_bytes = 256 * 1024) : segment_bytes_(segment_bytes) {
    dir_.root = tmp_.path();
    open();
  }
  ~LogDir() {
    if (writer_) writer_->close();
  }

  // Restart: close the writer, recover the log, rebuild the state, open again.
  void reopen() {
    writer_->close();
    writer_.reset();
    open();
  }

  // Appends `n` plausible events (projtest::EventGen) as the leader would.
  void append_events(size_t n, uint64_t seed) {
    projtest::EventGen gen(seed);
    for (size_t i = 0; i < n; ++i) {
      Event e = gen.next(state_);
      time_ns_ += 1'000'000'000;
      const uint64_t seq = writer_->append(e, time_ns_);
      state_.apply(EventMeta{seq, writer_->term(), time_ns_}, e);
      state_.last_hash = writer_->last_hash();
    }
  }
  // A whole generated stream from seq 1, terms included (the log must be empty).
  void append_stream(size_t n, uint64_t seed) {
    for (const auto& r : projtest::EventGen(seed).stream(n)) {
      writer_->set_term(r.meta.term);
      writer_->append(r.event, r.meta.time_ns);
      state_.apply(r.meta, r.event);
      state_.last_hash = writer_->last_hash();
      time_ns_ = r.meta.time_ns;
    }
  }

  log::Writer& writer() { return *writer_; }
  State& state() { return state_; }
  // What an Applier locks around each apply (the registry's, in a server).
  RwMutex& state_mutex() { return state_mu_; }
  const DataDir& dir() const { return dir_; }
  std::string log_dir() const { return dir_.log_dir(); }

  // Every segment file's bytes, by name.
  std::vector<std::pair<std::string, std::string>> segment_files() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& s : log::list_segments(log_dir())) {
      std::ifstream in(s.path, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      out.emplace_back(s.path.substr(s.path.rfind('/') + 1), ss.str());
    }
    return out;
  }
  // The records of every segment, back to back, exactly as on disk.
  std::string record_bytes() const {
    std::string all;
    for (const auto& [name, bytes] : segment_files()) {
      std::string_view rest = std::string_view(bytes).substr(log::kSegmentHeaderSize);
      log::Record r;
      size_t used = 0;
      while (log::parse_record(rest, r, used) == log::ParseResult::kOk) {
        all.append(rest.substr(0, used));
        rest.remove_prefix(used);
      }
    }
    return all;
  }

 private:
  void open() {
    RestoreReport rep;
    std::string err;
    if (!restore_state(dir_, segment_bytes_, state_, rep, err)) throw std::runtime_error(err);
    log::WriterOptions o;
    o.log_dir = dir_.log_dir();
    o.fsync.mode = log::FsyncPolicy::Mode::kNone;
    o.segment_bytes = segment_bytes_;
    writer_ = log::Writer::open(o, rep.log, err);
    if (!writer_) throw std::runtime_error(err);
  }

  testsupport::TempDir tmp_;
  DataDir dir_;
  uint64_t segment_bytes_;
  std::unique_ptr<log::Writer> writer_;
  State state_;
  RwMutex state_mu_;
  int64_t time_ns_ = 1'700'000'000'000'000'000;
};

}  // namespace pilot::repltest
