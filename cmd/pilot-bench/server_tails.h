// The server's own share of a latency tail, read from its /metrics over a run's
// measured window: how many of its loop thread's iterations were long
// (pilot_loop_iteration_seconds, net/rpc/loop_meter.h) and, for durable writes, how
// many fdatasyncs of its log were (pilot_log_fsync_duration_seconds). Scraped when the
// window begins and ends; the difference is the window's. Not before and after the
// whole run: opening and closing 1024 connections makes a few 2-25 ms iterations of
// its own (hundreds of accepts or closes in one iteration), outside the latencies
// measured. A request in flight during a 3 ms iteration or waiting on a 3 ms
// fdatasync waited up to 3 ms, so long ones next to a p99 over 1 ms say "the server"
// (or its disk); none says the time was lost elsewhere (the client, the kernel, the VM
// taking the CPU away).
#pragma once

#include <cstdint>
#include <future>
#include <string>
#include <vector>

namespace pilot::bench {

struct ScrapedHistogram {
  std::vector<double> le;            // bucket upper bounds, seconds (+Inf last)
  std::vector<uint64_t> cumulative;  // Prometheus cumulative counts, one per bound
};

struct ServerTails {
  bool ok = false;  // the GET worked
  ScrapedHistogram loop, fsync;
};

// GET http://127.0.0.1:<admin_port>/metrics; ok = false without an admin server.
ServerTails scrape_server_tails(uint16_t admin_port);

// "server loop: 3 of 41,200 iterations over 1 ms, the longest 2-5 ms; fdatasync: 0 of
// 9,100 over 1 ms, the longest 0.5-1 ms" between two scrapes (the fdatasync part only
// when the log synced meanwhile); "" if either scrape failed.
std::string describe_server_tails(const ServerTails& before, const ServerTails& after);

// Scrapes at the window's begin and end without holding up the caller (the load
// client's thread, whose lateness would count as latency): each scrape runs on a
// thread of its own. mark() twice, then describe() waits for both.
class ServerTailWatch {
 public:
  explicit ServerTailWatch(uint16_t admin_port) : port_(admin_port) {}
  void mark(bool begin);
  std::string describe();  // "" unless both marks were made and both scrapes worked

 private:
  uint16_t port_;
  std::future<ServerTails> begin_, end_;
};

}  // namespace pilot::bench
