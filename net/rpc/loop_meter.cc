#include "net/rpc/loop_meter.h"

#include <iterator>

#include "core/logging.h"

namespace pilot::rpc {

// 10 µs .. 1 s: an iteration under 100 µs is a few requests; over 1 ms every open
// connection felt it.
const uint64_t LoopMeter::kBoundsNs[] = {10'000,     25'000,     50'000,      100'000,     250'000,
                                         500'000,    1'000'000,  2'000'000,   5'000'000,   10'000'000,
                                         25'000'000, 50'000'000, 100'000'000, 250'000'000, 1'000'000'000};

LoopMeter::LoopMeter() : iterations_(std::span<const uint64_t>(kBoundsNs, std::size(kBoundsNs))) {}

bool LoopMeter::enable_idle_time(uv_loop_t* loop) { return uv_loop_configure(loop, UV_METRICS_IDLE_TIME) == 0; }

void LoopMeter::start(uv_loop_t* loop) {
  if (running_) return;
  loop_ = loop;
  uv_prepare_init(loop, &prepare_);
  prepare_.data = this;
  uv_prepare_start(&prepare_, on_prepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));  // the meter alone keeps no loop alive
  last_ns_ = uv_hrtime();
  last_idle_ns_ = uv_metrics_idle_time(loop);
  running_ = true;
}

void LoopMeter::stop() {
  if (!running_) return;
  running_ = false;
  uv_prepare_stop(&prepare_);
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), nullptr);
}

void LoopMeter::on_prepare(uv_prepare_t* h) {
  auto* m = static_cast<LoopMeter*>(h->data);
  const uint64_t now = uv_hrtime();
  const uint64_t idle = uv_metrics_idle_time(m->loop_);
  const uint64_t wall = now - m->last_ns_;
  const uint64_t waited = idle - m->last_idle_ns_;
  const uint64_t busy = wall > waited ? wall - waited : 0;
  m->last_ns_ = now;
  m->last_idle_ns_ = idle;
  m->busy_ns_ += busy;
  if (busy > m->longest_ns_) m->longest_ns_ = busy;
  m->iterations_.observe(busy);
  if (int64_t(busy) > kLoopStallWarnNs && (m->last_warn_ns_ == 0 || now - m->last_warn_ns_ > kLoopStallWarnEveryNs)) {
    m->last_warn_ns_ = now;
    LOG_WARN(
        "loop: one iteration of the loop thread ran for %.0f ms without waiting for I/O (a slow callback, or the "
        "loop saturated: requests arriving as fast as it answers them); connections waiting in it waited that long",
        double(busy) / 1e6);
  }
}

}  // namespace pilot::rpc
