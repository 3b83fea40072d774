// pilot-bench: measurements of the rendezvous' building blocks on this machine.
// `pilot-bench log --help` for the log benchmark, `pilot-bench rpc --help` for the
// registry port, `pilot-bench repl --help` for replication, `pilot-bench beacon --help`
// for the beacon's UDP side; BENCHMARKS.md has recorded results.
#include <cstdio>
#include <cstring>

#include "cmd/pilot-bench/beacon_bench.h"
#include "cmd/pilot-bench/log_bench.h"
#include "cmd/pilot-bench/repl_bench.h"
#include "cmd/pilot-bench/rpc_bench.h"

namespace {

constexpr const char* kUsage =
    "Usage: pilot-bench COMMAND [flags]\n"
    "\n"
    "Commands:\n"
    "  log   write-ahead log: raw fdatasync limit, durable appends with 1/16/256\n"
    "        concurrent appenders, replay speed, restart time (see `pilot-bench log --help`)\n"
    "  rpc   registry port of the real rendezvous binary: heartbeats, lookups, resolves and\n"
    "        durable registrations with 1/64/1024 connections against the raw loopback limit,\n"
    "        p50/p99 latency, server RSS with 1M nodes, heartbeats with and without admin HTTP\n"
    "        polling (see `pilot-bench rpc --help`)\n"
    "  repl  hot-standby replication between two real rendezvous processes: follower lag under\n"
    "        10,000 mutations/s, sync-mode throughput as a ratio of async, catch-up rate of an\n"
    "        empty follower 1M records behind (see `pilot-bench repl --help`)\n"
    "  beacon  the real standalone beacon on UDP loopback next to a raw recvmmsg/sendmmsg echo and\n"
    "        forwarder: Discover replies/s, relay packets/s and Gbit/s (64 and 1400 B) with drop rate\n"
    "        and order, punch coordinations/s, RSS of 500,000 nodes (see `pilot-bench beacon --help`)\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "log") == 0) return pilot::bench::run_log_bench(argc, argv, 2);
  if (std::strcmp(argv[1], "rpc") == 0) return pilot::bench::run_rpc_bench(argc, argv, 2);
  if (std::strcmp(argv[1], "repl") == 0) return pilot::bench::run_repl_bench(argc, argv, 2);
  if (std::strcmp(argv[1], "beacon") == 0) return pilot::bench::run_beacon_bench(argc, argv, 2);
  std::fprintf(stderr, "pilot-bench: unknown command \"%s\"\n\n%s", argv[1], kUsage);
  return 2;
}
