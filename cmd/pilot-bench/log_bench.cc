#include "cmd/pilot-bench/log_bench.h"

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cmd/pilot-bench/generated_log.h"
#include "cmd/pilot-bench/machine.h"
#include "cmd/pilot-bench/report.h"
#include "core/ed25519.h"
#include "core/events.h"
#include "core/flags.h"
#include "log/crc32c.h"
#include "log/format.h"
#include "log/recovery.h"
#include "log/scanner.h"
#include "log/writer.h"
#include "projections/state.h"
#include "projections/store.h"

namespace pilot::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Targets from the issue (ratios are always against limits measured in the same run).
constexpr double kTargetDurablePerSecond = 100'000;  // with 256 appenders
constexpr double kTargetDurableVsRaw = 10;           // × one fdatasync per event
constexpr double kTargetReplayPerSecond = 1'000'000;
constexpr double kTargetRestartSeconds = 3;

// ---- small helpers -----------------------------------------------------------------

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ratio_text(double r, const char* what) {
  if (r >= 100) return strf("%.0fx %s", r, what);
  if (r >= 10) return strf("%.1fx %s", r, what);
  return strf("%.2fx %s", r, what);
}

const char* pass_miss(bool ok) { return ok ? "PASS" : "MISS"; }

// ---- the report table --------------------------------------------------------------

class Table {
 public:
  void section(std::string title) { rows_.push_back({Kind::kSection, {std::move(title)}}); }
  void row(std::string label, std::string value, std::string ratio = "", std::string target = "",
           std::string result = "") {
    rows_.push_back(
        {Kind::kRow, {std::move(label), std::move(value), std::move(ratio), std::move(target), std::move(result)}});
  }
  void note(std::string text) { rows_.push_back({Kind::kNote, {std::move(text)}}); }

  void print(FILE* f) const {
    static const char* kHeads[5] = {"measurement", "value", "ratio", "target", "result"};
    size_t w[5];
    for (int i = 0; i < 5; ++i) w[i] = std::strlen(kHeads[i]);
    for (const Row& r : rows_)
      if (r.kind == Kind::kRow)
        for (int i = 0; i < 5; ++i) w[i] = std::max(w[i], r.cells[i].size());
    size_t total = w[0] + w[1] + w[2] + w[3] + w[4] + 4 * 3;
    auto line = [&](const std::string* c) {
      std::fprintf(f, "%-*s | %*s | %-*s | %-*s | %s\n", int(w[0]), c[0].c_str(), int(w[1]), c[1].c_str(), int(w[2]),
                   c[2].c_str(), int(w[3]), c[3].c_str(), c[4].c_str());
    };
    std::string heads[5];
    for (int i = 0; i < 5; ++i) heads[i] = kHeads[i];
    line(heads);
    std::fprintf(f, "%s\n", std::string(total, '=').c_str());
    for (const Row& r : rows_) {
      switch (r.kind) {
        case Kind::kSection:
          std::fprintf(f, "-- %s %s\n", r.cells[0].c_str(),
                       std::string(total > r.cells[0].size() + 4 ? total - r.cells[0].size() - 4 : 2, '-').c_str());
          break;
        case Kind::kRow: line(r.cells); break;
        case Kind::kNote: std::fprintf(f, "     %s\n", r.cells[0].c_str()); break;
      }
    }
  }

 private:
  enum class Kind { kSection, kRow, kNote };
  struct Row {
    Kind kind;
    std::string cells[5];
  };
  std::vector<Row> rows_;
};

// ---- machine and file system -------------------------------------------------------

struct FsInfo {
  uint64_t magic = 0;
  std::string magic_name;                       // from the statfs magic
  std::string device, mount_point, mount_type;  // from /proc/self/mounts
  bool memory = false;                          // tmpfs / ramfs: fdatasync is a no-op there
};

FsInfo filesystem_of(const std::string& path) {
  FsInfo fi;
  struct statfs sf;
  if (::statfs(path.c_str(), &sf) == 0) {
    fi.magic = static_cast<uint64_t>(static_cast<unsigned long>(sf.f_type)) & 0xffffffffu;
    static const std::pair<uint64_t, const char*> kKnown[] = {
        {0xEF53, "ext2/3/4"},  {0x01021994, "tmpfs"},     {0x858458F6, "ramfs"}, {0x58465342, "xfs"},
        {0x9123683E, "btrfs"}, {0x794C7630, "overlayfs"}, {0x6969, "nfs"},       {0x2FC12FC1, "zfs"},
        {0xF2F52010, "f2fs"},  {0x65735546, "fuse"},      {0x01021997, "9p"},    {0xFF534D42, "cifs"},
    };
    fi.magic_name = "unknown";
    for (const auto& [m, name] : kKnown)
      if (m == fi.magic) fi.magic_name = name;
    fi.memory = fi.magic == 0x01021994 || fi.magic == 0x858458F6;
  }
  std::error_code ec;
  std::string canon = std::filesystem::weakly_canonical(path, ec).string();
  if (ec) canon = path;
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, mnt, type, rest;
  size_t best = 0;
  while (mounts >> dev >> mnt >> type && std::getline(mounts, rest)) {
    bool prefix = canon.compare(0, mnt.size(), mnt) == 0 &&
                  (mnt == "/" || canon.size() == mnt.size() || canon[mnt.size()] == '/');
    if (prefix && mnt.size() >= best) {
      best = mnt.size();
      fi.device = dev;
      fi.mount_point = mnt;
      fi.mount_type = type;
    }
  }
  return fi;
}

std::string describe_fs(const FsInfo& fi) {
  std::string s = strf("%s (statfs magic 0x%llx)", fi.magic_name.c_str(), (unsigned long long)fi.magic);
  if (!fi.device.empty())
    s += strf(", %s %s mounted on %s", fi.mount_type.c_str(), fi.device.c_str(), fi.mount_point.c_str());
  return s;
}

const char* build_kind() {
#if defined(NDEBUG) && defined(__OPTIMIZE__)
  return "optimized, NDEBUG";
#elif defined(__OPTIMIZE__)
  return "optimized, assertions on";
#else
  return "UNOPTIMIZED (numbers are not representative)";
#endif
}

// A fresh directory, removed with its contents at the end unless asked to keep it.
class BenchDir {
 public:
  ~BenchDir() {
    if (path_.empty() || keep_) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  bool create(const std::string& base, bool keep, std::string& error) {
    keep_ = keep;
    std::error_code ec;
    std::filesystem::create_directories(base, ec);
    std::string tmpl = base + "/pilot-bench-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      error = "cannot create a directory under " + base + ": " + std::strerror(errno);
      return false;
    }
    path_ = std::filesystem::absolute(tmpl).lexically_normal().string();
    return true;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool keep_ = false;
};

void remove_tree(const std::string& p) {
  std::error_code ec;
  std::filesystem::remove_all(p, ec);
}

// ---- log helpers ---------------------------------------------------------------------

// The first `bytes` bytes of the log's segments, in order (what a reader must read).
struct FileSpan {
  std::string path;
  uint64_t bytes = 0;
};

std::vector<FileSpan> log_spans(const std::string& log_dir, uint64_t data_bytes) {
  std::vector<FileSpan> out;
  for (const log::SegmentFile& s : log::list_segments(log_dir)) {
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(s.path, ec);
    uint64_t take = std::min<uint64_t>(size, data_bytes);
    out.push_back({s.path, take});
    data_bytes -= take;
    if (data_bytes == 0) break;
  }
  return out;
}

// Reads the spans with 1 MiB preads; returns seconds, or -1.
double read_spans(const std::vector<FileSpan>& spans, uint64_t* checksum) {
  static std::vector<char> buf(1 << 20);
  auto t0 = Clock::now();
  uint64_t sum = 0;
  for (const FileSpan& s : spans) {
    int fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    for (uint64_t off = 0; off < s.bytes;) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), s.bytes - off));
      ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(off));
      if (n <= 0) {
        ::close(fd);
        return -1;
      }
      sum += static_cast<uint8_t>(buf[static_cast<size_t>(n) - 1]);
      off += static_cast<uint64_t>(n);
    }
    ::close(fd);
  }
  if (checksum) *checksum += sum;
  return seconds_since(t0);
}

// Drops the files' pages from the page cache (only ours: nothing machine-wide).
void evict(const std::vector<FileSpan>& spans) {
  for (const FileSpan& s : spans) {
    int fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    (void)::fdatasync(fd);
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

// Mean ns of one chain_hash over a record-sized input, timed for ~`seconds`.
double time_chain_hash(double seconds) {
  log::Hash prev{};
  const std::string fields(28, 'f'), payload(kPayloadBytes, 'p');
  uint64_t n = 0;
  auto t0 = Clock::now();
  double dt = 0;
  do {
    for (int i = 0; i < 256; ++i) {
      prev = log::chain_hash(prev, fields, payload);
      ++n;
    }
    dt = seconds_since(t0);
  } while (dt < seconds);
  benchmark::DoNotOptimize(prev);
  return dt * 1e9 / double(n);
}

// ---- options -------------------------------------------------------------------------

struct Options {
  std::string dir;
  double raw_seconds = 2.0;
  double append_seconds = 3.0;
  double warmup_seconds = 0.3;
  std::vector<int> appenders = {1, 16, 256};
  uint64_t replay_events = 1'000'000;
  uint64_t nodes = 1'000'000;
  uint64_t tail = 100'000;
  int replay_iterations = 3;
  double micro_min_time = 0.2;
  bool quick = false;
  bool keep = false;
  std::set<std::string> only;
  bool want(const char* part) const { return only.empty() || only.count(part) != 0; }
};

// ---- 1. raw fdatasync ------------------------------------------------------------------

struct RawSync {
  double per_second = 0;
  uint64_t syncs = 0;
  double p50_us = 0, p99_us = 0;
};

// pwrite(200 B) + fdatasync in a loop on a preallocated file: sequentially (like the
// log appends into its preallocated segment) or rewriting the same 200 bytes.
bool measure_raw_fsync(const std::string& path, double seconds, bool in_place, RawSync& out, std::string& error) {
  constexpr uint64_t kFileBytes = 64ull << 20;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(kFileBytes));
  if (rc != 0 || ::fsync(fd) != 0) {
    error = "cannot preallocate " + path + ": " + std::strerror(rc ? rc : errno);
    ::close(fd);
    return false;
  }
  char buf[kPayloadBytes];
  std::memset(buf, 0x5a, sizeof buf);
  std::vector<int64_t> lat;
  lat.reserve(1 << 16);
  uint64_t off = 0;
  auto t0 = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    auto a = Clock::now();
    if (::pwrite(fd, buf, sizeof buf, static_cast<off_t>(off)) != static_cast<ssize_t>(sizeof buf) ||
        ::fdatasync(fd) != 0) {
      error = std::string("pwrite/fdatasync failed: ") + std::strerror(errno);
      ::close(fd);
      return false;
    }
    auto b = Clock::now();
    lat.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
    if (!in_place) off = (off + sizeof buf) % (kFileBytes - sizeof buf);
    elapsed = std::chrono::duration<double>(b - t0).count();
  }
  ::close(fd);
  ::unlink(path.c_str());
  out.syncs = lat.size();
  out.per_second = static_cast<double>(lat.size()) / elapsed;
  out.p50_us = percentile(lat, 0.50) / 1e3;
  out.p99_us = percentile(lat, 0.99) / 1e3;
  return true;
}

// ---- 2. durable appends ------------------------------------------------------------------

struct AppendResult {
  int clients = 0;
  uint64_t completed = 0;
  double seconds = 0;
  double per_second = 0;
  double mean_batch = 0;  // records per fdatasync
  double fsync_mean_ms = 0;
  double p50_ms = 0, p99_ms = 0;
};

// `clients` closed-loop appenders on one loop thread (this one), as in the server: each
// appends one record, waits for its durable callback, and appends the next.
bool run_appenders(const std::string& root, int clients, const Options& o, AppendResult& out, std::string& error) {
  const std::string dir = root + "/append-" + std::to_string(clients);
  auto w = open_writer(dir + "/log", log::FsyncPolicy::Mode::kAlways, error);
  if (!w) return false;
  std::vector<Event> events;
  for (int c = 0; c < clients; ++c) events.emplace_back(registration(static_cast<uint32_t>(c + 1)));

  bool measuring = false, stopping = false;
  uint64_t completed = 0;
  std::vector<int64_t> lat;
  lat.reserve(1 << 20);
  std::function<void(int)> issue = [&](int c) {
    const Clock::time_point t0 = Clock::now();
    w->append(events[static_cast<size_t>(c)], wall_ns(), [&, c, t0](uint64_t) {
      if (measuring && !stopping) {
        ++completed;
        lat.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
      }
      if (!stopping) issue(c);
    });
  };

  const auto start = Clock::now();
  for (int c = 0; c < clients; ++c) issue(c);
  Clock::time_point begin, end;
  log::WriterStats s0, s1;
  uint64_t seen = w->durable_seq();
  for (;;) {
    const auto now = Clock::now();
    if (!measuring && std::chrono::duration<double>(now - start).count() >= o.warmup_seconds) {
      measuring = true;
      begin = now;
      s0 = w->stats();
    }
    if (measuring && std::chrono::duration<double>(now - begin).count() >= o.append_seconds) {
      stopping = true;
      end = now;
      s1 = w->stats();
      break;
    }
    seen = w->wait_durable(seen, std::chrono::milliseconds(20));
    w->run_callbacks();
  }
  w->flush();
  w->run_callbacks();
  w->close();
  w.reset();
  if (!o.keep) remove_tree(dir);

  out.clients = clients;
  out.completed = completed;
  out.seconds = std::chrono::duration<double>(end - begin).count();
  out.per_second = static_cast<double>(completed) / out.seconds;
  const uint64_t fsyncs = s1.fsyncs - s0.fsyncs;
  out.mean_batch = fsyncs ? static_cast<double>(s1.records - s0.records) / static_cast<double>(fsyncs) : 0;
  out.fsync_mean_ms = fsyncs ? static_cast<double>(s1.fsync_ns_total - s0.fsync_ns_total) / fsyncs / 1e6 : 0;
  out.p50_ms = percentile(lat, 0.50) / 1e6;
  out.p99_ms = percentile(lat, 0.99) / 1e6;
  return true;
}

// ---- Google Benchmark plumbing -------------------------------------------------------------

struct GbResult {
  double seconds_per_iteration = 0;
  int64_t iterations = 0;
  std::string error;
};

// Collects results instead of printing Google Benchmark's own table; one progress line
// per benchmark goes to stderr.
class CaptureReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration) continue;
      GbResult g;
      g.iterations = r.iterations;
      g.seconds_per_iteration = r.iterations > 0 ? r.real_accumulated_time / static_cast<double>(r.iterations) : 0;
      if (r.error_occurred) g.error = r.error_message.empty() ? "failed" : r.error_message;
      progress("  %-48s %14.1f ns/iteration, %lld iterations%s", r.run_name.function_name.c_str(),
               g.seconds_per_iteration * 1e9, (long long)g.iterations, g.error.empty() ? "" : " (ERROR)");
      results[r.run_name.function_name] = g;
    }
  }
  std::map<std::string, GbResult> results;
};

void init_google_benchmark() {
  static bool done = false;
  if (done) return;
  done = true;
  static char name[] = "pilot-bench";
  static char* argv[] = {name, nullptr};
  int argc = 1;
  benchmark::Initialize(&argc, argv);
}

std::map<std::string, GbResult> run_registered() {
  CaptureReporter rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  benchmark::ClearRegisteredBenchmarks();
  return std::move(rep.results);
}

// A benchmark whose iteration is one timed pass (the pass returns its own seconds, so
// setup and teardown such as freeing a State stay out of the measurement).
void register_pass(const std::string& name, int iterations, std::function<double(std::string&)> pass) {
  benchmark::RegisterBenchmark(name.c_str(),
                               [pass](benchmark::State& st) {
                                 for (auto _ : st) {
                                   std::string err;
                                   double s = pass(err);
                                   if (!err.empty() || s < 0) {
                                     st.SkipWithError(err.empty() ? "pass failed" : err.c_str());
                                     break;
                                   }
                                   st.SetIterationTime(s);
                                 }
                               })
      ->UseManualTime()
      ->Iterations(iterations)
      ->Unit(benchmark::kMillisecond);
}

// ---- 3. replay -------------------------------------------------------------------------------

double scan_pass(const std::string& log_dir, bool verify_chain, bool decode, uint64_t expect, std::string& err) {
  auto t0 = Clock::now();
  log::Scanner s(log_dir, 1, verify_chain);
  log::Record r;
  uint64_t n = 0;
  log::Scanner::Status st;
  while ((st = s.next(r)) == log::Scanner::Status::kRecord) {
    ++n;
    if (decode) {
      auto ev = decode_payload(static_cast<EventKind>(r.kind), r.payload);
      if (!ev) {
        err = "undecodable record " + std::to_string(r.seq);
        return -1;
      }
      benchmark::DoNotOptimize(ev);
    }
  }
  double dt = seconds_since(t0);
  if (st == log::Scanner::Status::kError) err = "scan error: " + s.error().what;
  if (err.empty() && n != expect) err = "scanned " + std::to_string(n) + " records, expected " + std::to_string(expect);
  return dt;
}

double replay_pass(const std::string& log_dir, uint64_t upto, std::string& err) {
  auto state = std::make_unique<State>();
  auto t0 = Clock::now();
  bool ok = replay_log(log_dir, *state, upto, err);
  double dt = seconds_since(t0);
  if (ok && state->last_seq != upto) err = "replay stopped at " + std::to_string(state->last_seq);
  return dt;  // the State is freed after the clock stopped
}

bool run_replay(const std::string& root, const Options& o, Table& t, std::string& error) {
  const std::string log_dir = root + "/replay/log";
  GeneratedLog g;
  progress("replay: writing %s events (fsync=none)...", commas(double(o.replay_events)).c_str());
  if (!write_mix_log(log_dir, o.replay_events, g, error)) return false;
  const size_t segments = g.segments;
  const auto spans = log_spans(log_dir, g.data_bytes);
  const double mean_record = double(g.record_bytes) / double(g.records);
  progress("replay: wrote %s records (%.1f MB, %zu segments) in %.1f s; warming up", commas(double(g.records)).c_str(),
           double(g.record_bytes) / 1e6, segments, g.write_seconds);

  // Warm the page cache and the allocator: one untimed read and one untimed replay.
  uint64_t sum = 0;
  if (read_spans(spans, &sum) < 0) {
    error = "cannot read the log";
    return false;
  }
  std::string err;
  replay_pass(log_dir, g.records, err);
  if (!err.empty()) {
    error = "replay failed: " + err;
    return false;
  }

  init_google_benchmark();
  const int it = o.replay_iterations;
  register_pass("replay/0 raw read", it, [&](std::string& e) {
    double s = read_spans(spans, &sum);
    if (s < 0) e = "read failed";
    return s;
  });
  register_pass("replay/1 scan: CRC + seq", it,
                [&](std::string& e) { return scan_pass(log_dir, false, false, g.records, e); });
  register_pass("replay/2 scan: CRC + seq + hash chain", it,
                [&](std::string& e) { return scan_pass(log_dir, true, false, g.records, e); });
  register_pass("replay/3 scan + decode_payload", it,
                [&](std::string& e) { return scan_pass(log_dir, false, true, g.records, e); });
  register_pass("replay/4 replay_log (scan + decode + apply)", it,
                [&](std::string& e) { return replay_pass(log_dir, g.records, e); });
  progress("replay: timing %d pass(es) of each stage", it);
  auto res = run_registered();

  auto rate = [&](const std::string& name, double& out) {
    auto i = res.find(name);
    if (i == res.end() || !i->second.error.empty() || i->second.seconds_per_iteration <= 0) {
      error = name + ": " + (i == res.end() ? "did not run" : i->second.error);
      return false;
    }
    out = double(g.records) / i->second.seconds_per_iteration;
    return true;
  };
  double raw = 0, crc = 0, chain = 0, decode = 0, full = 0;
  if (!rate("replay/0 raw read", raw) || !rate("replay/1 scan: CRC + seq", crc) ||
      !rate("replay/2 scan: CRC + seq + hash chain", chain) || !rate("replay/3 scan + decode_payload", decode) ||
      !rate("replay/4 replay_log (scan + decode + apply)", full))
    return false;

  t.section(strf("replay of %s events (page cache warm, best of %d; raw = pread of the same bytes)",
                 commas(double(g.records)).c_str(), it));
  t.note(strf("mix: 100 network_created, then per 50 events 40 node_registered (new nodes), 4 hostname_changed,"));
  t.note(strf("3 tags_changed, 2 member_joined, 1 trust_added; mean record %.0f B, %.1f MB in %zu segment(s)",
              mean_record, double(g.record_bytes) / 1e6, segments));
  t.row("raw read (pread 1 MiB, no parsing)",
        strf("%s rec/s", commas(raw).c_str()) + strf(" (%.0f MB/s)", raw * mean_record / 1e6), "1.00x raw");
  t.row("scan: CRC-32C + seq", strf("%s rec/s", commas(crc).c_str()), ratio_text(crc / raw, "raw"));
  t.row("scan: CRC + seq + BLAKE2b chain", strf("%s rec/s", commas(chain).c_str()), ratio_text(chain / raw, "raw"));
  t.row("scan: CRC + seq, + decode_payload", strf("%s ev/s", commas(decode).c_str()), ratio_text(decode / raw, "raw"));
  t.row("replay_log: scan + decode + State::apply", strf("%s ev/s", commas(full).c_str()),
        ratio_text(full / raw, "raw"), ">= 1,000,000 ev/s", pass_miss(full >= kTargetReplayPerSecond));
  t.note(
      strf("per event in replay_log (CRC + seq; the chain is rehashed by recovery and pilot-log verify, not here):"));
  t.note(strf("scan %.0f ns, decode %.0f ns, apply %.0f ns = %.0f ns; rehashing the chain would add %.0f ns", 1e9 / crc,
              1e9 / decode - 1e9 / crc, 1e9 / full - 1e9 / decode, 1e9 / full, 1e9 / chain - 1e9 / crc));
  t.note(strf("(writing the log took %.1f s: %s appends/s through log::Writer with fsync=none)", g.write_seconds,
              commas(double(g.records) / g.write_seconds).c_str()));
  if (!o.keep) remove_tree(root + "/replay");
  return true;
}

// ---- 4. per-event costs (Google Benchmark micro-measurements) --------------------------------

bool run_micro(const Options& o, double hash_ns_before_init, Table& t, std::string& error) {
  const NodeRegistered reg = registration(123456);
  const Event ev = reg;
  const std::string payload = encode_payload(ev);
  const uint16_t kind = static_cast<uint16_t>(EventKind::kNodeRegistered);
  log::Hash prev{};
  prev.fill(0xab);
  std::string rec;
  log::append_record(rec, prev, 1000, 1, kBaseTimeNs, kind, payload);
  log::Record parsed;
  size_t consumed = 0;
  if (log::parse_record(rec, parsed, consumed) != log::ParseResult::kOk) {
    error = "micro: cannot parse the sample record";
    return false;
  }
  const std::string fields = rec.substr(8, 28);

  init_google_benchmark();
  const double mt = o.micro_min_time;
  auto reg_micro = [&](const char* name, auto fn) {
    benchmark::RegisterBenchmark(name, [fn](benchmark::State& st) {
      for (auto _ : st) fn();
    })->MinTime(mt);
  };
  reg_micro("micro/crc32c", [&] { benchmark::DoNotOptimize(log::crc32c(rec.data(), rec.size())); });
  reg_micro("micro/chain_hash", [&] { benchmark::DoNotOptimize(log::chain_hash(prev, fields, payload)); });
  reg_micro("micro/append_record", [&] {
    static std::string out;
    out.clear();
    benchmark::DoNotOptimize(log::append_record(out, prev, 1000, 1, kBaseTimeNs, kind, payload));
  });
  reg_micro("micro/parse_record", [&] {
    static log::Record r;
    size_t c = 0;
    benchmark::DoNotOptimize(log::parse_record(rec, r, c));
  });
  reg_micro("micro/check_chain", [&] { benchmark::DoNotOptimize(log::check_chain(parsed, 999, prev, 0)); });
  reg_micro("micro/encode_payload", [&] { benchmark::DoNotOptimize(encode_payload(ev)); });
  reg_micro("micro/decode_payload",
            [&] { benchmark::DoNotOptimize(decode_payload(EventKind::kNodeRegistered, payload)); });

  // State::apply of new nodes: pre-decoded events, applied into a fresh State per pass.
  const uint64_t apply_n = std::min<uint64_t>(o.nodes, o.quick ? 20'000 : 200'000);
  std::vector<Event> pre;
  pre.reserve(apply_n);
  for (uint64_t i = 1; i <= apply_n; ++i) pre.emplace_back(registration(static_cast<uint32_t>(i)));
  register_pass("micro/apply_new_nodes", o.quick ? 1 : 3, [&](std::string&) {
    auto s = std::make_unique<State>();
    EventMeta m{0, 1, kBaseTimeNs};
    auto t0 = Clock::now();
    for (const Event& e : pre) {
      ++m.seq;
      m.time_ns += 1000;
      s->apply(m, e);
    }
    return seconds_since(t0);
  });
  progress("micro: per-event costs (Google Benchmark, min time %.2f s each)", mt);
  auto res = run_registered();

  t.section("per-event costs (Google Benchmark; ratio = share of the 1 us/event budget of 1M ev/s)");
  t.note(strf("sample: node_registered, payload %zu B, record %zu B", payload.size(), rec.size()));
  struct Item {
    const char* name;
    const char* label;
    double items;
  };
  const Item items[] = {
      {"micro/crc32c", "crc32c over one record", 1},
      {"micro/chain_hash", "BLAKE2b-256 chain hash of one record", 1},
      {"micro/append_record", "append_record (frame + CRC + hash)", 1},
      {"micro/parse_record", "parse_record (CRC check + copy)", 1},
      {"micro/check_chain", "check_chain (recompute hash)", 1},
      {"micro/encode_payload", "encode_payload(node_registered)", 1},
      {"micro/decode_payload", "decode_payload(node_registered)", 1},
      {"micro/apply_new_nodes", "State::apply(node_registered), new node", double(apply_n)},
  };
  for (const Item& i : items) {
    auto r = res.find(i.name);
    if (r == res.end() || !r->second.error.empty()) {
      error = std::string(i.name) + " failed";
      return false;
    }
    double ns = r->second.seconds_per_iteration * 1e9 / i.items;
    t.row(i.label, strf("%.0f ns", ns), strf("%.1f%% of 1 us", ns / 10.0));
  }
  t.row("chain hash before sodium_init()", strf("%.0f ns", hash_ns_before_init),
        strf("%.1f%% of 1 us", hash_ns_before_init / 10.0));
  t.note("libsodium picks its fast BLAKE2b only in sodium_init() (pilot::crypto_init); a binary that");
  t.note("hashes the log without calling it gets the portable code (this line)");
  return true;
}

// ---- 5. restart ----------------------------------------------------------------------------------

// What a restore in a child process reports back through a pipe.
struct RestoreOutcome {
  bool ok = false;
  double seconds = 0, load_seconds = 0, replay_seconds = 0;
  uint64_t log_records = 0, snapshot_seq = 0, replayed = 0, last_seq = 0, nodes = 0;
  char error[400] = {};
};

// The child's side: `pilot-bench log --restore-child ROOT` restores ROOT and writes a
// RestoreOutcome to stdout.
int restore_child_main(const char* root) {
  crypto_init();
  const DataDir dd{root};
  RestoreOutcome r;
  State* state = new State;  // never freed: the process exits right after
  RestoreReport rep;
  std::string err;
  const auto t0 = Clock::now();
  r.ok = restore_state(dd, log::kDefaultSegmentBytes, *state, rep, err);
  r.seconds = seconds_since(t0);
  r.load_seconds = rep.load_seconds;
  r.replay_seconds = rep.replay_seconds;
  r.log_records = rep.log.records;
  r.snapshot_seq = rep.snapshot_seq;
  r.replayed = rep.replayed;
  r.last_seq = state->last_seq;
  r.nodes = state->directory.size();
  std::snprintf(r.error, sizeof r.error, "%s", err.c_str());
  const char* p = reinterpret_cast<const char*>(&r);
  for (size_t done = 0; done < sizeof r;) {
    ssize_t n = ::write(1, p + done, sizeof r - done);
    if (n <= 0 && errno != EINTR) ::_exit(1);
    if (n > 0) done += static_cast<size_t>(n);
  }
  ::_exit(0);
}

// Runs restore_state in a fresh process (this binary again), as a restart would: a new
// heap and nothing cached in the process; the page cache is as the caller left it.
bool restore_in_child(const DataDir& dd, RestoreOutcome& out, std::string& error) {
  int fds[2];
  if (::pipe(fds) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return false;
  }
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl("/proc/self/exe", "pilot-bench", "log", "--restore-child", dd.root.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  char* p = reinterpret_cast<char*>(&out);
  size_t got = 0;
  while (got < sizeof out) {
    ssize_t n = ::read(fds[0], p + got, sizeof out - got);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
    if (n > 0) got += static_cast<size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != sizeof out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error = "the restore child process failed (status " + std::to_string(status) + ")";
    return false;
  }
  return true;
}

bool run_restart(const std::string& root, const Options& o, Table& t, std::string& error) {
  const DataDir dd{root + "/restart"};
  uint64_t upto_snapshot = 0, last = 0, record_bytes = 0;
  double write_s = 0, snap_s = 0, tail_s = 0;
  {
    auto w = open_writer(dd.log_dir(), log::FsyncPolicy::Mode::kNone, error);
    if (!w) return false;
    progress("restart: writing %s node registrations (fsync=none)...", commas(double(o.nodes)).c_str());
    auto t0 = Clock::now();
    for (uint64_t i = 1; i <= o.nodes; ++i)
      w->append(registration(static_cast<uint32_t>(i)), kBaseTimeNs + int64_t(i) * 1000);
    w->flush();
    write_s = seconds_since(t0);
    upto_snapshot = w->last_seq();

    progress("restart: Snapshotter::run(%llu) (replay + save_snapshot)...", (unsigned long long)upto_snapshot);
    Snapshotter snap(dd);
    Snapshotter::Result r = snap.run(upto_snapshot);
    if (!r.error.empty() || r.seq != upto_snapshot) {
      error = "snapshot failed: " + (r.error.empty() ? "stopped at seq " + std::to_string(r.seq) : r.error);
      return false;
    }
    snap_s = r.seconds;

    progress("restart: appending a %s-event tail...", commas(double(o.tail)).c_str());
    MixGen mix(static_cast<uint32_t>(o.nodes), 100);
    t0 = Clock::now();
    for (uint64_t i = 1; i <= o.tail; ++i) w->append(mix.next(), kBaseTimeNs + int64_t(o.nodes + i) * 1000);
    w->flush();
    tail_s = seconds_since(t0);
    last = w->last_seq();
    record_bytes = w->stats().bytes;
    w->close();
  }
  const size_t segments = log::list_segments(dd.log_dir()).size();
  auto spans = log_spans(dd.log_dir(), record_bytes + segments * log::kSegmentHeaderSize);
  std::error_code ec;
  const uint64_t snap_bytes = std::filesystem::file_size(dd.snapshot_path(), ec);
  spans.push_back({dd.snapshot_path(), snap_bytes});
  uint64_t total_bytes = 0;
  for (const auto& s : spans) total_bytes += s.bytes;

  auto restore = [&](RestoreOutcome& run) {
    if (!restore_in_child(dd, run, error)) return false;
    if (!run.ok) {
      error = std::string("restore_state failed: ") + run.error;
      return false;
    }
    if (run.last_seq != last || run.nodes < o.nodes) {
      error = strf("restore_state gave seq %llu and %llu nodes, expected seq %llu and >= %llu nodes",
                   (unsigned long long)run.last_seq, (unsigned long long)run.nodes, (unsigned long long)last,
                   (unsigned long long)o.nodes);
      return false;
    }
    progress("restart: restore_state took %.2f s", run.seconds);
    return true;
  };

  uint64_t sum = 0;
  // Each condition runs `runs` times; the median run is reported (fresh processes on a
  // VM vary: the first touch of guest memory can cost more than the restore itself).
  const int runs = o.quick ? 1 : 3;
  auto median_of = [&](bool cold, std::vector<RestoreOutcome>& all, double& raw) {
    if (cold) evict(spans);
    raw = read_spans(spans, &sum);
    if (raw < 0) {
      error = "cannot read the data directory";
      return false;
    }
    for (int i = 0; i < runs; ++i) {
      if (cold) evict(spans);
      RestoreOutcome r;
      if (!restore(r)) return false;
      all.push_back(r);
    }
    std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.seconds < y.seconds; });
    return true;
  };
  std::vector<RestoreOutcome> warm, cold;
  double raw_warm = 0, raw_cold = 0;
  progress("restart: raw read of log + snapshot (warm), then restore_state (warm) x%d", runs);
  if (!median_of(false, warm, raw_warm)) return false;
  progress("restart: the same with our files evicted from the page cache (posix_fadvise DONTNEED) x%d", runs);
  if (!median_of(true, cold, raw_cold)) return false;

  t.section(
      strf("restart: %s-node snapshot + %s-event tail, restore_state in a fresh process (raw = pread of the files)",
           commas(double(o.nodes)).c_str(), commas(double(o.tail)).c_str()));
  t.note(strf("setup: %s registrations written in %.1f s; Snapshotter::run %.1f s; tail written in %.2f s",
              commas(double(o.nodes)).c_str(), write_s, snap_s, tail_s));
  t.note(strf("files: log %.1f MB in %zu segment(s), snapshot.db %.1f MB", double(record_bytes) / 1e6, segments,
              double(snap_bytes) / 1e6));
  const bool judged = !o.quick;
  auto add = [&](const char* label, const std::vector<RestoreOutcome>& all, double raw) {
    const RestoreOutcome& r = all[all.size() / 2];
    const double recovery = std::max(0.0, r.seconds - r.load_seconds - r.replay_seconds);
    t.row(label, strf("%.2f s", r.seconds), ratio_text(r.seconds / raw, "raw read"), "<= 3 s",
          judged ? pass_miss(r.seconds <= kTargetRestartSeconds) : "n/a (quick)");
    t.note(strf("log recovery %.2f s (%s records: CRC all, chain of the last segment), snapshot load %.2f s (seq %s),",
                recovery, commas(double(r.log_records)).c_str(), r.load_seconds,
                commas(double(r.snapshot_seq)).c_str()));
    std::string each;
    for (const RestoreOutcome& x : all) each += strf("%s%.2f s", each.empty() ? "" : ", ", x.seconds);
    t.note(strf("tail replay %.2f s (%s records); median of %zu fresh processes: %s", r.replay_seconds,
                commas(double(r.replayed)).c_str(), all.size(), each.c_str()));
  };
  t.row("raw read, page cache warm", strf("%.2f s", raw_warm), "1.00x raw read", "",
        strf("%.0f MB/s", double(total_bytes) / 1e6 / raw_warm));
  add("restore_state, page cache warm", warm, raw_warm);
  t.row("raw read, our files evicted", strf("%.2f s", raw_cold), "1.00x raw read", "",
        strf("%.0f MB/s", double(total_bytes) / 1e6 / raw_cold));
  add("restore_state, our files evicted", cold, raw_cold);
  if (!o.keep) remove_tree(root + "/restart");
  return true;
}

}  // namespace

int run_log_bench(int argc, char** argv, int first) {
  if (argc - first == 2 && std::strcmp(argv[first], "--restore-child") == 0) return restore_child_main(argv[first + 1]);
  Options o;
  uint64_t seconds = 0, events = 0, nodes = 0, tail = 0;
  std::string only;
  Flags flags("pilot-bench log",
              "Measures the write-ahead log on this machine: raw fdatasync rate of the bench directory's\n"
              "disk, durable appends/s with 1, 16 and 256 closed-loop appenders (fsync=always), replay\n"
              "speed and restart time, each next to the raw limit measured in the same run. Use --dir on\n"
              "the disk the rendezvous data directory will live on (not tmpfs).");
  flags.add_string(&o.dir, "dir", nullptr,
                   "bench files go to a fresh subdirectory of DIR, removed afterwards (default: $TMPDIR or /tmp, "
                   "or the current directory when that is tmpfs)");
  flags.add_uint(&seconds, "seconds", nullptr, "seconds per durable-append run (default 3; 0.3 with --quick)");
  flags.add_bool(&o.quick, "quick", nullptr, "small sizes and short runs: a smoke test, not a measurement");
  flags.add_uint(&events, "events", nullptr, "events in the replay log (default 1000000)");
  flags.add_uint(&nodes, "nodes", nullptr, "nodes in the restart snapshot (default 1000000)");
  flags.add_uint(&tail, "tail", nullptr, "events after the snapshot in the restart test (default 100000)");
  flags.add_string(&only, "only", nullptr, "comma-separated subset of: fsync,append,micro,replay,restart");
  flags.add_bool(&o.keep, "keep", nullptr, "keep the bench directory");
  switch (flags.parse(argc, argv, first)) {
    case Flags::Result::kHelp: std::fputs(flags.usage().c_str(), stdout); return 0;
    case Flags::Result::kError: std::fprintf(stderr, "pilot-bench log: %s\n", flags.error().c_str()); return 2;
    case Flags::Result::kOk: break;
  }
  if (!flags.positional().empty()) {
    std::fprintf(stderr, "pilot-bench log: unexpected argument \"%s\"\n", flags.positional()[0].c_str());
    return 2;
  }
  if (o.quick) {
    o.raw_seconds = 0.3;
    o.append_seconds = 0.3;
    o.warmup_seconds = 0.05;
    o.replay_events = 20'000;
    o.nodes = 20'000;
    o.tail = 2'000;
    o.replay_iterations = 1;
    o.micro_min_time = 0.01;
  }
  if (seconds) o.append_seconds = double(seconds);
  if (events) o.replay_events = events;
  if (nodes) o.nodes = std::min<uint64_t>(nodes, UINT32_MAX - 1);
  if (tail) o.tail = tail;
  for (size_t p = 0; p < only.size();) {
    size_t comma = std::min(only.find(',', p), only.size());
    std::string part = only.substr(p, comma - p);
    static const std::set<std::string> kParts = {"fsync", "append", "micro", "replay", "restart"};
    if (!kParts.count(part)) {
      std::fprintf(stderr, "pilot-bench log: unknown part \"%s\" in --only\n", part.c_str());
      return 2;
    }
    o.only.insert(part);
    p = comma + 1;
  }

  // Like the server (cmd/rendezvous calls crypto_init first), but time the chain hash
  // without it first: libsodium chooses its BLAKE2b implementation in sodium_init().
  const double hash_ns_before_init = time_chain_hash(o.quick ? 0.02 : 0.2);
  crypto_init();

  // Where the files go: never tmpfs unless asked (fdatasync is free there).
  std::string base = o.dir, base_note;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp && *tmp ? tmp : "/tmp";
    if (filesystem_of(base).memory) {
      base_note = base + " is in memory (tmpfs/ramfs); using the current directory instead";
      base = std::filesystem::current_path().string();
    }
  }
  BenchDir dir;
  std::string error;
  if (!dir.create(base, o.keep, error)) {
    std::fprintf(stderr, "pilot-bench log: %s\n", error.c_str());
    return 1;
  }
  const FsInfo fs = filesystem_of(dir.path());

  std::printf("pilot-bench log%s\n", o.quick ? " --quick (smoke run: small sizes, numbers are not a measurement)" : "");
  std::printf("machine   : %s\n", machine_line().c_str());
  std::printf("build     : %s; load average at start %s\n", build_kind(), load_average().c_str());
  std::printf("bench dir : %s\n            %s\n", dir.path().c_str(), describe_fs(fs).c_str());
  if (!base_note.empty()) std::printf("            note: %s\n", base_note.c_str());
  if (fs.memory)
    std::printf(
        "            WARNING: this directory is in memory; fdatasync does nothing here, so the durability\n"
        "            numbers mean nothing. Pass --dir on the real disk.\n");
  else if (o.dir.empty())
    std::printf("            (durability numbers are those of this disk; pass --dir for the data directory's disk)\n");
  {
    NodeRegistered e = registration(1);
    size_t p = encode_payload(Event(e)).size();
    std::printf("event     : node_registered, payload %zu B, record %zu B on disk (%zu B header)\n", p,
                p + log::kRecordHeaderSize, log::kRecordHeaderSize);
  }
  std::fflush(stdout);

  Table t;
  bool failed = false;
  auto fail = [&](const std::string& part) {
    progress("%s FAILED: %s", part.c_str(), error.c_str());
    t.row(part + " FAILED", error.substr(0, 60));
    failed = true;
    error.clear();
  };

  // 1 + 2: the disk, then the writer on it.
  RawSync seq_sync, inplace_sync;
  double raw_limit = 0;
  if (o.want("fsync") || o.want("append")) {
    progress("fsync: pwrite(%zu B) + fdatasync loop for %.1f s, twice", kPayloadBytes, o.raw_seconds);
    if (!measure_raw_fsync(dir.path() + "/raw-fsync.dat", o.raw_seconds, false, seq_sync, error) ||
        !measure_raw_fsync(dir.path() + "/raw-fsync.dat", o.raw_seconds, true, inplace_sync, error)) {
      fail("raw fdatasync");
    } else {
      raw_limit = std::max(seq_sync.per_second, inplace_sync.per_second);
      t.section("durability: one fdatasync per event is the raw limit (best of the two patterns below)");
      t.row("raw pwrite 200 B + fdatasync, appending", strf("%s syncs/s", commas(seq_sync.per_second).c_str()),
            ratio_text(seq_sync.per_second / raw_limit, "raw"));
      t.note(strf("p50 %.0f us, p99 %.0f us (%s syncs into a preallocated file, like a log segment)", seq_sync.p50_us,
                  seq_sync.p99_us, commas(double(seq_sync.syncs)).c_str()));
      t.row("raw pwrite 200 B + fdatasync, same block", strf("%s syncs/s", commas(inplace_sync.per_second).c_str()),
            ratio_text(inplace_sync.per_second / raw_limit, "raw"));
      t.note(strf("p50 %.0f us, p99 %.0f us", inplace_sync.p50_us, inplace_sync.p99_us));
    }
  }
  if (o.want("append") && raw_limit > 0) {
    t.section(strf("durable appends through log::Writer, fsync=always, %zu B events, closed loop, %.1f s each",
                   kPayloadBytes, o.append_seconds));
    for (int clients : o.appenders) {
      progress("append: %d appender(s) for %.1f s...", clients, o.append_seconds);
      AppendResult r;
      if (!run_appenders(dir.path(), clients, o, r, error)) {
        fail(strf("%d appenders", clients));
        continue;
      }
      const double ratio = r.per_second / raw_limit;
      std::string label = strf("%d appender%s", clients, clients == 1 ? "" : "s");
      if (clients == 256) {
        t.row(label, strf("%s ev/s", commas(r.per_second).c_str()), ratio_text(ratio, "raw"), ">= 100,000 ev/s",
              pass_miss(r.per_second >= kTargetDurablePerSecond));
        t.row("", "", "", ">= 10x raw", pass_miss(ratio >= kTargetDurableVsRaw));
      } else {
        t.row(label, strf("%s ev/s", commas(r.per_second).c_str()), ratio_text(ratio, "raw"));
      }
      t.note(strf("batch %.1f records/fdatasync, fdatasync %.2f ms mean; append->durable p50 %.2f ms, p99 %.2f ms",
                  r.mean_batch, r.fsync_mean_ms, r.p50_ms, r.p99_ms));
    }
  }
  if (o.want("micro") && !run_micro(o, hash_ns_before_init, t, error)) fail("micro");
  if (o.want("replay") && !run_replay(dir.path(), o, t, error)) fail("replay");
  if (o.want("restart") && !run_restart(dir.path(), o, t, error)) fail("restart");
  benchmark::Shutdown();

  std::printf("load average at end %s\n\n", load_average().c_str());
  t.print(stdout);
  std::fflush(stdout);
  return failed ? 1 : 0;
}

}  // namespace pilot::bench
