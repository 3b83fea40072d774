// Kill -9 under load (issue: "Recovery"). A child process appends with fsync=always
// and reports each durable callback; we SIGKILL it at random moments, sometimes leave
// a torn record behind as a power cut would, then recover and check:
//   * every record the child was told is durable is there, byte for byte;
//   * nothing after a torn tail survives, and the chain verifies end to end;
//   * `pilot-log verify` agrees.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "log/file_util.h"
#include "log/format.h"
#include "log/recovery.h"
#include "log/scanner.h"
#include "test/log/crash_events.h"
#include "test/support/temp_dir.h"

namespace pilot::log {
namespace {

constexpr int kRounds = 60;
constexpr int kRoundsPerLog = 15;
constexpr uint64_t kSegmentBytes = kDefaultSegmentBytes / 64;

// Runs the writer until SIGKILL `kill_after` after it said "ready" (its log is open: on a
// loaded machine exec alone can take longer than a short kill_after, and a writer killed
// before it created the log proves nothing); returns the highest acknowledged seq.
uint64_t run_and_kill(const std::string& dir, std::chrono::milliseconds kill_after) {
  int out[2];
  EXPECT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(CRASH_WRITER_BIN, CRASH_WRITER_BIN, dir.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  uint64_t acked = 0;
  bool ready = false;
  std::string partial;
  auto drain = [&] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(out[0], buf, sizeof buf)) > 0) {
      partial.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = partial.find('\n')) != std::string::npos) {
        if (partial.compare(0, nl, "ready") == 0)
          ready = true;
        else
          acked = std::max<uint64_t>(acked, std::stoull(partial.substr(0, nl)));
        partial.erase(0, nl + 1);
      }
    }
  };
  const auto start_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!ready && std::chrono::steady_clock::now() < start_deadline) {
    drain();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_TRUE(ready) << "the writer did not open its log within 30 s";
  auto deadline = std::chrono::steady_clock::now() + kill_after;
  while (std::chrono::steady_clock::now() < deadline) {
    drain();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "writer exited on its own, status " << status;
  drain();  // lines written before the kill are still in the pipe
  ::close(out[0]);
  return acked;
}

// A power cut can leave half a record after the last durable one — in the newest
// segment: the writer syncs a finished segment before it creates the next, so once a
// newer segment exists (a kill right after a rollover leaves it with only its header)
// nothing more can land in the older one. Returns false when the newest segment has no
// complete header yet (the next recovery removes it; there is nowhere to tear).
bool leave_torn_record(const std::string& dir, std::mt19937& rng) {
  Scanner s(dir);
  Record rec;
  while (s.next(rec) == Scanner::Status::kRecord) {
  }
  const auto segments = list_segments(dir);
  if (segments.empty()) return false;
  const std::string& newest = segments.back().path;
  uint64_t offset = s.current_offset();
  if (newest != s.current_segment()) {
    // The writer preallocates a new segment before it writes the header, so only a
    // header that decodes says records could follow.
    std::string header(kSegmentHeaderSize, '\0');
    SegmentHeader h;
    int fd = ::open(newest.c_str(), O_RDONLY);
    const bool whole = fd >= 0 && ::pread(fd, header.data(), header.size(), 0) == ssize_t(header.size());
    if (fd >= 0) ::close(fd);
    if (!whole || !decode_segment_header(header, h)) return false;
    offset = kSegmentHeaderSize;
  }
  std::string bytes;
  append_record(bytes, s.last_hash(), s.last_seq() + 1, s.last_term(), 0, 5, "a payload that never fully landed");
  bytes.resize(1 + rng() % (bytes.size() - 1));
  int fd = ::open(newest.c_str(), O_RDWR);
  EXPECT_GE(fd, 0) << newest;
  if (fd < 0) return false;
  EXPECT_TRUE(pwrite_all(fd, bytes, offset));
  ::close(fd);
  return true;
}

TEST(CrashRecovery, EveryAcknowledgedRecordSurvivesSigkill) {
  std::unique_ptr<testsupport::TempDir> data;
  struct {
    std::string p;
    const std::string& path() const { return p; }
  } dir;
  std::mt19937 rng(20261122);
  uint64_t acked_ever = 0, acked_most = 0;  // in this log; in any
  int torn_rounds = 0, repaired = 0;
  for (int round = 0; round < kRounds; ++round) {
    // Every round recovers, scans and verifies the whole log, so one log through all
    // rounds costs time quadratic in their number; a fresh one every
    // kRoundsPerLog rounds keeps each round's log a few segments long.
    if (round % kRoundsPerLog == 0) {
      data = std::make_unique<testsupport::TempDir>();
      dir.p = data->path() + "/log";
      acked_ever = 0;
    }
    uint64_t acked = run_and_kill(dir.path(), std::chrono::milliseconds(5 + rng() % 60));
    acked_ever = std::max(acked_ever, acked);
    acked_most = std::max(acked_most, acked_ever);
    if (round % 4 == 3 && leave_torn_record(dir.path(), rng)) ++torn_rounds;
    RecoveryResult r;
    std::string err;
    ASSERT_TRUE(recover(dir.path(), kSegmentBytes, r, err)) << "round " << round << ": " << err;
    repaired += r.repaired;
    ASSERT_GE(r.last_seq, acked_ever) << "round " << round << ": acknowledged records lost";

    // Every surviving record is exactly what the writer appended at that seq.
    Scanner s(dir.path());
    Record rec;
    uint64_t n = 0;
    Scanner::Status st;
    while ((st = s.next(rec)) == Scanner::Status::kRecord) {
      ++n;
      ASSERT_EQ(rec.seq, n);
      auto ev = decode_payload(static_cast<EventKind>(rec.kind), rec.payload);
      ASSERT_TRUE(ev && *ev == testsupport::crash_event(rec.seq)) << "seq " << rec.seq;
    }
    ASSERT_EQ(st, Scanner::Status::kEnd) << s.error().what;
    ASSERT_EQ(n, r.last_seq);

    std::string cmd = std::string(PILOT_LOG_BIN) + " verify --data-dir " + data->path() + " 2>&1";
    std::string said;
    int status = -1;
    if (FILE* f = ::popen(cmd.c_str(), "r")) {
      char buf[512];
      while (size_t n = std::fread(buf, 1, sizeof buf, f)) said.append(buf, n);
      status = ::pclose(f);
    }
    ASSERT_EQ(status, 0) << "pilot-log verify failed after round " << round << ":\n" << said;
  }
  EXPECT_GT(acked_most, 1000u) << "the writer barely ran; the test proves little";
  EXPECT_GE(repaired, torn_rounds) << "torn records were not reported as repaired";
}

}  // namespace
}  // namespace pilot::log
