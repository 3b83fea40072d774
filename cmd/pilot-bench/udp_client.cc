#include "cmd/pilot-bench/udp_client.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <thread>

#include "cmd/pilot-bench/cpu_time.h"
#include "cmd/pilot-bench/loopback_udp.h"

namespace pilot::bench {
namespace {

constexpr double kBurst = 32;  // per-flow token bucket depth
// Open loop: a client this far behind its schedule stops catching up (and says so).
constexpr double kMaxBacklogSeconds = 0.05;

struct Flow {
  uint64_t next_seq = 0;     // datagrams handed to the kernel (the next one's number)
  uint64_t credited = 0;     // came back
  uint64_t written_off = 0;  // closed loop: in flight when the flow stalled
  int64_t last_progress = 0;
  double tokens = kBurst;
  int64_t tokens_at = 0;
  bool seen = false;
  uint64_t highest = 0;
};

struct Edge {
  uint64_t sent = 0, received = 0, extra = 0;
  double client = 0, server = 0, busy = 0;
  int64_t t = 0;
};

// What one client thread saw; run_udp adds them up.
struct Partial {
  Edge e0, e1;
  uint64_t sent = 0, received = 0, refused = 0, reordered = 0, duplicates = 0, stalls = 0;
  bool fell_behind = false;
};

// One client thread: flows [lo, hi) and the receive sockets they own.
class Runner {
 public:
  Runner(const UdpRun& r, size_t lo, size_t hi, bool lead)
      : r_(r),
        flows_(r.tx.size()),
        lo_(lo),
        hi_(hi),
        lead_(lead),
        rr_(lo),
        rate_(r.rate * double(hi - lo) / double(r.tx.size())) {}

  Partial run(int64_t start) {
    UdpRunResult res;
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    for (size_t i = 0; i < r_.rx.size(); ++i) {
      const size_t home = i % r_.tx.size();  // rx socket i belongs to flow i (mod the flows)
      if (home < lo_ || home >= hi_) continue;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      ::epoll_ctl(ep_, EPOLL_CTL_ADD, r_.rx[i], &ev);
    }
    const int64_t w0 = start + int64_t(r_.warmup_s * 1e9), w1 = w0 + int64_t(r_.seconds * 1e9);
    int64_t end = w1 + int64_t(r_.drain_s * 1e9);
    for (Flow& f : flows_) f.last_progress = f.tokens_at = start;
    Edge e0, e1;
    bool at0 = false, at1 = false;
    for (;;) {
      const int64_t now = mono_ns();
      if (!at0 && now >= w0) e0 = edge(now), at0 = true;
      if (!at1 && now >= w1) e1 = edge(now), at1 = true;
      if (at0 && !at1 && !r_.limits.empty() && all_sent()) {
        e1 = edge(now);
        at1 = true;
        end = now + int64_t(r_.drain_s * 1e9);
      }
      if (now >= end || (at1 && drained())) break;
      size_t sent = 0;
      if (!at1) sent = r_.window ? send_closed(now) : send_open(now, start, res);
      const bool got = receive(now, sent == 0 ? wait_ns(now, start) : 0);
      (void)got;
    }
    if (!at1) e1 = edge(mono_ns());
    ::close(ep_);
    return {e0, e1, sent_, received_, refused_, reordered_, duplicates_, stalls_, res.open_loop_fell_behind};
  }

 private:
  Edge edge(int64_t now) const {
    // The server and the machine are read by the lead thread only (once per edge).
    return {sent_,
            received_,
            extra_,
            thread_cpu_seconds(),
            lead_ && r_.server_cpu ? r_.server_cpu() : 0,
            lead_ ? machine_busy_seconds() : 0,
            now};
  }

  bool all_sent() const {
    for (size_t i = lo_; i < hi_; ++i)
      if (flows_[i].next_seq < r_.limits[i]) return false;
    return true;
  }

  // What flow i may still send under its count.
  size_t left(size_t i, size_t want) const {
    if (r_.limits.empty()) return want;
    return size_t(std::min<uint64_t>(want, r_.limits[i] - std::min(r_.limits[i], flows_[i].next_seq)));
  }

  bool drained() const {
    // Written-off datagrams may still come back late: only everything back ends the
    // drain early.
    return received_ >= sent_;
  }

  // How many datagrams flow f may send now under its budget (and takes them).
  size_t budget(Flow& f, size_t want, int64_t now) {
    if (r_.per_flow_rate <= 0) return want;
    f.tokens = std::min(kBurst, f.tokens + r_.per_flow_rate * double(now - f.tokens_at) / 1e9);
    f.tokens_at = now;
    const size_t n = std::min(want, size_t(f.tokens));
    f.tokens -= double(n);
    return n;
  }

  size_t send_flow(size_t i, size_t n) {
    Flow& f = flows_[i];
    n = std::min(n, kUdpBatch);
    for (size_t k = 0; k < n; ++k) {
      char* b = tx_.slot();
      tx_.commit(r_.build(i, f.next_seq + k, b), r_.to);
    }
    const size_t taken = tx_.flush(r_.tx[i]);
    // Sequence numbers stay dense in what left: a refused datagram never existed.
    f.next_seq += taken;
    sent_ += taken;
    refused_ += n - taken;
    return taken;
  }

  size_t send_closed(int64_t now) {
    size_t sent = 0;
    const int64_t stall = int64_t(r_.stall_ms) * 1'000'000;
    for (size_t i = lo_; i < hi_; ++i) {
      Flow& f = flows_[i];
      const uint64_t gone = f.credited + f.written_off;
      uint64_t inflight = f.next_seq > gone ? f.next_seq - gone : 0;
      if (inflight > 0 && now - f.last_progress > stall) {
        f.written_off += inflight;
        inflight = 0;
        f.last_progress = now;
        ++stalls_;
      }
      if (inflight >= r_.window) continue;
      const size_t n = budget(f, left(i, r_.window - inflight), now);
      if (n > 0) {
        if (inflight == 0) f.last_progress = now;  // the stall clock runs from the first in flight
        sent += send_flow(i, n);
      }
    }
    return sent;
  }

  size_t send_open(int64_t now, int64_t start, UdpRunResult& res) {
    const double due = rate_ * double(now - start) / 1e9;
    if (due - scheduled_ > rate_ * kMaxBacklogSeconds) {
      res.open_loop_fell_behind = true;
      scheduled_ = due - rate_ * kMaxBacklogSeconds;
    }
    size_t sent = 0, idle_flows = 0;
    while (due - scheduled_ >= 1 && idle_flows < hi_ - lo_) {
      const size_t i = rr_;
      rr_ = rr_ + 1 == hi_ ? lo_ : rr_ + 1;
      const size_t n = budget(flows_[i], left(i, std::min<size_t>(size_t(due - scheduled_), kUdpBatch)), now);
      if (n == 0) {
        ++idle_flows;
        continue;
      }
      idle_flows = 0;
      // Refused datagrams were offered on schedule too: they are not sent again.
      sent += send_flow(i, n);
      scheduled_ += double(n);
    }
    return sent;
  }

  // Nothing was sent: how long the receive may wait.
  int64_t wait_ns(int64_t now, int64_t start) const {
    if (r_.window) return 1'000'000;
    const double next = (scheduled_ + 1) / rate_ * 1e9 + double(start);
    return std::clamp<int64_t>(int64_t(next) - now, 20'000, 1'000'000);
  }

  bool receive(int64_t now, int64_t wait) {
    epoll_event evs[64];
    timespec ts{wait / 1'000'000'000, wait % 1'000'000'000};
    const int n = ::epoll_pwait2(ep_, evs, 64, &ts, nullptr);
    bool any = false;
    for (int e = 0; e < n; ++e) {
      const size_t ri = size_t(evs[e].data.u64);
      // A few batches per socket, then the others and the schedule get their turn.
      for (int round = 0; round < 8; ++round) {
        const int got = rx_.receive(r_.rx[ri]);
        if (got <= 0) break;
        any = true;
        for (int k = 0; k < got; ++k) credit(r_.classify(ri, {rx_.data(k), rx_.size(k)}), now);
      }
    }
    return any;
  }

  void credit(const Credit& c, int64_t now) {
    if (c.extra) ++extra_;
    if (c.flow < 0 || size_t(c.flow) >= flows_.size()) return;
    Flow& f = flows_[size_t(c.flow)];
    ++f.credited;
    ++received_;
    f.last_progress = now;
    if (!c.has_seq) return;
    if (f.seen && c.seq < f.highest)
      ++reordered_;
    else if (f.seen && c.seq == f.highest)
      ++duplicates_;
    else
      f.highest = c.seq;
    f.seen = true;
  }

  const UdpRun& r_;
  std::vector<Flow> flows_;
  SendBatch tx_;
  RecvBatch rx_;
  size_t lo_, hi_;
  bool lead_;
  int ep_ = -1;
  size_t rr_;
  double rate_;  // open loop: this thread's share
  double scheduled_ = 0;
  uint64_t sent_ = 0, received_ = 0, extra_ = 0, refused_ = 0, reordered_ = 0, duplicates_ = 0, stalls_ = 0;
};

}  // namespace

UdpRunResult run_udp(const UdpRun& run) {
  const size_t flows = run.tx.size();
  const size_t threads = std::clamp<size_t>(run.threads, 1, std::max<size_t>(flows, 1));
  std::vector<Partial> parts(threads);
  std::vector<std::thread> pool;
  const int64_t start = mono_ns();
  for (size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      Runner r(run, flows * t / threads, flows * (t + 1) / threads, t == 0);
      parts[t] = r.run(start);
    });
  for (std::thread& th : pool) th.join();

  UdpRunResult res;
  const Partial& lead = parts[0];
  res.seconds = double(lead.e1.t - lead.e0.t) / 1e9;
  double client = 0;
  for (const Partial& p : parts) {
    res.sent += p.e1.sent - p.e0.sent;
    res.received += p.e1.received - p.e0.received;
    res.extra += p.e1.extra - p.e0.extra;
    const double s = double(p.e1.t - p.e0.t) / 1e9;
    if (s > 0) client += (p.e1.client - p.e0.client) / s;
    res.total_sent += p.sent;
    res.total_received += p.received;
    res.send_refused += p.refused;
    res.reordered += p.reordered;
    res.duplicates += p.duplicates;
    res.stalls += p.stalls;
    res.open_loop_fell_behind = res.open_loop_fell_behind || p.fell_behind;
  }
  if (res.seconds > 0) {
    res.sent_rate = double(res.sent) / res.seconds;
    res.rate = double(res.received) / res.seconds;
    res.extra_rate = double(res.extra) / res.seconds;
    res.client_cores = client;
    res.server_cores = (lead.e1.server - lead.e0.server) / res.seconds;
    res.other_cores = std::max(0.0, (lead.e1.busy - lead.e0.busy) / res.seconds - client - res.server_cores);
  }
  return res;
}

}  // namespace pilot::bench
