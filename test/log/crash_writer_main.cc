// Test helper for crash_test: appends records to the log in <dir> as fast as the
// disk allows (fsync=always) and prints "<seq>\n" on stdout for every record whose
// durable callback fired, after a first line "ready" once the log is open. The test SIGKILLs it at random moments and
// checks that every printed sequence number survived.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "log/recovery.h"
#include "log/writer.h"
#include "test/log/crash_events.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <log-dir>\n", argv[0]);
    return 2;
  }
  using namespace pilot::log;
  RecoveryResult rec;
  std::string err;
  if (!recover(argv[1], kDefaultSegmentBytes / 64, rec, err)) {
    std::fprintf(stderr, "recover: %s\n", err.c_str());
    return 1;
  }
  WriterOptions opts;
  opts.log_dir = argv[1];
  opts.segment_bytes = kDefaultSegmentBytes / 64;  // 1 MiB: rollovers happen under the knife too
  auto w = Writer::open(opts, rec, err);
  if (!w) {
    std::fprintf(stderr, "open: %s\n", err.c_str());
    return 1;
  }
  (void)!::write(1, "ready\n", 6);
  unsigned seed = static_cast<unsigned>(getpid());
  for (;;) {
    // Mostly small bursts; now and then one of ~1.5 MiB, so that batches span several
    // chunks and segments roll over while the kill can land.
    int burst = rand_r(&seed) % 8 == 0 ? 5000 : 1 + static_cast<int>(rand_r(&seed) % 64);
    for (int i = 0; i < burst; ++i) {
      uint64_t seq = w->last_seq() + 1;
      w->append(pilot::testsupport::crash_event(seq), static_cast<int64_t>(seq), [](uint64_t s) {
        char line[32];
        int n = std::snprintf(line, sizeof line, "%llu\n", static_cast<unsigned long long>(s));
        (void)!::write(1, line, static_cast<size_t>(n));
      });
    }
    while (w->durable_seq() < w->last_seq()) w->wait_durable(w->durable_seq(), std::chrono::milliseconds(50));
    w->run_callbacks();
  }
}
