#include "cmd/pilot-bench/admin_poll.h"

#include <httplib.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cmd/pilot-bench/machine.h"

namespace pilot::bench {

namespace {

using Clock = std::chrono::steady_clock;

int64_t ns_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

}  // namespace

struct AdminPoller::Impl {
  // What one thread saw; merged by stop().
  struct Worker {
    std::thread thread;
    AdminPollStats stats;
    std::vector<std::vector<int64_t>> lat_ns;  // per path
    Clock::time_point last_answer;
  };

  AdminPollOptions o;
  std::vector<Worker> workers;
  Clock::time_point t0;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  uint64_t done = 0;  // answered or failed, all workers (under mu)
  std::atomic<bool> paused{false};

  // Worker w sends requests w, w + n, w + 2n, … (n workers), each at its due time.
  void run(size_t w) {
    if (!o.cpus.empty()) {
      cpu_set_t set;
      CPU_ZERO(&set);
      for (int c : o.cpus) CPU_SET(c, &set);
      ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
    }
    Worker& me = workers[w];
    std::unique_ptr<httplib::Client> cli;
    const httplib::Headers headers = {{"X-Admin-Token", o.token}};
    const auto period = std::chrono::nanoseconds(int64_t(1e9 / o.rate));
    me.stats.paths.resize(o.paths.size());
    me.lat_ns.resize(o.paths.size());
    me.last_answer = t0;
    for (uint64_t k = w;; k += workers.size()) {
      const Clock::time_point due = t0 + period * int64_t(k);
      {
        std::unique_lock lk(mu);
        if (cv.wait_until(lk, due, [&] { return stop && done >= o.min_requests; })) break;
      }
      if (paused.load(std::memory_order_relaxed)) {
        cli.reset();  // closes the connection
        continue;
      }
      if (!cli) {
        cli = std::make_unique<httplib::Client>("127.0.0.1", o.port);
        // A dashboard tab and a Prometheus scraper each keep their connection open.
        cli->set_keep_alive(o.keep_alive);
        cli->set_tcp_nodelay(true);
        cli->set_connection_timeout(5, 0);
        cli->set_read_timeout(5, 0);
      }
      const size_t p = size_t(k % o.paths.size());
      const Clock::time_point sent = Clock::now();
      if (sent - due > period) ++me.stats.late;
      ++me.stats.sent;
      httplib::Result res = cli->Get(o.paths[p].c_str(), headers);
      const Clock::time_point got = Clock::now();
      me.last_answer = got;
      if (res && res->status == 200) {
        ++me.stats.answered;
        me.stats.paths[p].answered += 1;
        me.stats.paths[p].bytes += res->body.size();
        me.lat_ns[p].push_back(ns_between(sent, got));
      } else if (me.stats.errors++ == 0) {
        me.stats.first_error =
            o.paths[p] + ": " +
            (res ? strf("HTTP %d %s", res->status, res->body.substr(0, 120).c_str()) : httplib::to_string(res.error()));
      }
      {
        std::lock_guard lk(mu);
        ++done;
      }
      cv.notify_all();
    }
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    me.stats.cpu_seconds = double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
  }

  AdminPollStats merge() {
    AdminPollStats s;
    s.paths.resize(o.paths.size());
    std::vector<int64_t> all;
    std::vector<std::vector<int64_t>> by_path(o.paths.size());
    Clock::time_point last = t0;
    for (Worker& w : workers) {
      s.sent += w.stats.sent;
      s.answered += w.stats.answered;
      s.late += w.stats.late;
      s.cpu_seconds += w.stats.cpu_seconds;
      if (s.errors == 0 && w.stats.errors > 0) s.first_error = w.stats.first_error;
      s.errors += w.stats.errors;
      last = std::max(last, w.last_answer);
      for (size_t p = 0; p < o.paths.size(); ++p) {
        s.paths[p].answered += w.stats.paths[p].answered;
        s.paths[p].bytes += w.stats.paths[p].bytes;
        by_path[p].insert(by_path[p].end(), w.lat_ns[p].begin(), w.lat_ns[p].end());
        all.insert(all.end(), w.lat_ns[p].begin(), w.lat_ns[p].end());
      }
    }
    s.seconds = double(ns_between(t0, last)) / 1e9;
    s.rate = s.seconds > 0 ? double(s.answered) / s.seconds : 0;
    s.p50_ns = percentile(all, 0.50);
    s.p99_ns = percentile(all, 0.99);
    s.max_ns = percentile(all, 1.0);
    for (size_t p = 0; p < o.paths.size(); ++p) {
      s.paths[p].path = o.paths[p];
      s.paths[p].p50_ns = percentile(by_path[p], 0.50);
      s.paths[p].p99_ns = percentile(by_path[p], 0.99);
    }
    return s;
  }
};

AdminPoller::AdminPoller(AdminPollOptions o) : impl_(std::make_unique<Impl>()) { impl_->o = std::move(o); }

AdminPoller::~AdminPoller() { stop(); }

void AdminPoller::start() {
  Impl& m = *impl_;
  if (!m.workers.empty() || m.o.paths.empty() || m.o.rate <= 0) return;
  m.stop = false;
  m.done = 0;
  m.t0 = Clock::now();
  m.workers = std::vector<Impl::Worker>(size_t(std::max(1, m.o.connections)));
  for (size_t w = 0; w < m.workers.size(); ++w) m.workers[w].thread = std::thread([&m, w] { m.run(w); });
}

void AdminPoller::pause(bool paused) { impl_->paused.store(paused, std::memory_order_relaxed); }

AdminPollStats AdminPoller::stop() {
  Impl& m = *impl_;
  if (m.workers.empty()) return {};
  m.paused = false;  // a paused poller would never reach min_requests
  {
    std::lock_guard lk(m.mu);
    m.stop = true;
  }
  m.cv.notify_all();
  for (Impl::Worker& w : m.workers) w.thread.join();
  AdminPollStats s = m.merge();
  m.workers.clear();
  return s;
}

}  // namespace pilot::bench
