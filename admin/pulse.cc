#include "admin/pulse.h"

#include <chrono>

namespace pilot::admin {

Pulse::Pulse(uv_loop_t* loop, std::function<uint64_t()> total) : loop_(loop), total_(std::move(total)) {}

void Pulse::start() {
  if (running_) return;
  running_ = true;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  auto tick = [](uv_timer_t* t) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    static_cast<Pulse*>(t->data)->sample(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  };
  tick(&timer_);
  uv_timer_start(&timer_, tick, 1000, 1000);
}

void Pulse::stop() {
  if (!running_) return;
  running_ = false;
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

void Pulse::sample(int64_t now_ms) {
  const uint64_t total = total_();
  std::lock_guard lk(mu_);
  ring_.push_back({now_ms, total});
  while (ring_.size() > kSamples) ring_.pop_front();
}

std::vector<Pulse::Sample> Pulse::samples() const {
  std::lock_guard lk(mu_);
  return {ring_.begin(), ring_.end()};
}

uint64_t Pulse::latest_total() const {
  std::lock_guard lk(mu_);
  return ring_.empty() ? 0 : ring_.back().total;
}

double Pulse::rate(int window_s) const {
  std::lock_guard lk(mu_);
  if (ring_.size() < 2) return 0;
  const Sample& last = ring_.back();
  const Sample* first = &ring_.front();
  for (auto it = ring_.rbegin(); it != ring_.rend(); ++it) {
    first = &*it;
    if (last.ts_ms - it->ts_ms >= int64_t(window_s) * 1000) break;
  }
  const int64_t dt = last.ts_ms - first->ts_ms;
  if (dt <= 0 || last.total < first->total) return 0;
  return double(last.total - first->total) * 1000.0 / double(dt);
}

}  // namespace pilot::admin
