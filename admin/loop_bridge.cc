#include "admin/loop_bridge.h"

#include <utility>

#include "log/writer.h"

namespace pilot::admin {

LoopBridge::LoopBridge(uv_loop_t* loop, log::Writer* writer, std::function<uint64_t()> visible_seq)
    : loop_(loop), writer_(writer), visible_seq_(std::move(visible_seq)) {
  uv_async_init(loop_, &async_, [](uv_async_t* a) { static_cast<LoopBridge*>(a->data)->drain(); });
  async_.data = this;
}

LoopBridge::~LoopBridge() { close(); }

void LoopBridge::close() {
  std::deque<Task> left;
  {
    std::lock_guard lk(mu_);
    if (closed_) return;
    closed_ = true;
    left.swap(queue_);
  }
  for (Task& t : left) t.cancel();
  for (auto& w : waiting_)
    if (!w->settled) w->settled = true, w->task.cancel();
  waiting_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

bool LoopBridge::post(Task t) {
  {
    std::lock_guard lk(mu_);
    if (closed_) return false;
    queue_.push_back(std::move(t));
  }
  uv_async_send(&async_);
  return true;
}

void LoopBridge::drain() {
  std::deque<Task> batch;
  {
    std::lock_guard lk(mu_);
    batch.swap(queue_);
  }
  for (Task& t : batch) {
    t.run();
    if (!t.durable || !writer_) {
      t.finish();
      continue;
    }
    const uint64_t seq = visible_seq_ ? visible_seq_() : writer_->last_seq();
    if (seq <= writer_->durable_seq()) {
      t.finish();
    } else {
      auto w = std::make_shared<Waiting>();
      w->task = std::move(t);
      waiting_.push_back(w);
      writer_->on_durable(seq, [this, w](uint64_t) {
        if (w->settled) return;
        w->settled = true;
        w->task.finish();
        std::erase(waiting_, w);
      });
    }
  }
}

}  // namespace pilot::admin
