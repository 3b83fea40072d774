// How code on other threads (the admin HTTP handlers) reads the rendezvous state:
// by posting a function to the loop thread and waiting for its result.
//
// The loop thread owns the projections, the dispatcher's counters and the log writer
// (ARCHITECTURE.md §3: single writer, no locks on the hot path). Posting a query there
// is the "explicit, thread-safe interface" the architecture asks for: a query sees a
// consistent state between two requests, costs the RPC path one uv_async wake-up per
// batch of queries, and needs no lock anywhere else.
//
// `call_durable` also keeps the durability rule for HTTP: a reply computed from the
// state leaves only once every record that state could contain is durable (the same
// rule net/rpc/server.h applies to registry replies), so an operator never sees a
// node that a crash could still take back.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <vector>

namespace pilot::log {
class Writer;
}

namespace pilot::admin {

class LoopBridge {
 public:
  // Create and destroy on the loop thread. `writer` may be null (no durability wait).
  // `visible_seq` is the highest seq a reply must wait for (Registry::visible_seq).
  LoopBridge(uv_loop_t* loop, log::Writer* writer, std::function<uint64_t()> visible_seq);
  ~LoopBridge();
  LoopBridge(const LoopBridge&) = delete;
  LoopBridge& operator=(const LoopBridge&) = delete;

  // Loop thread: stop taking queries and close the handle. Queued queries and those
  // still waiting for durability get nullopt, so no caller outlives the bridge by
  // more than a moment; after this every call returns nullopt at once.
  void close();

  // Any thread but the loop's: runs `fn` on the loop thread and returns its result, or
  // nullopt if the bridge is closed or the loop does not get to it within `timeout`.
  template <class F>
  auto call(F&& fn, std::chrono::milliseconds timeout = std::chrono::seconds(5))
      -> std::optional<std::invoke_result_t<F>> {
    return run<std::invoke_result_t<F>>(std::forward<F>(fn), false, timeout);
  }

  // As call(), and the result is handed back only once the log is durable up to the
  // visible seq at the time `fn` ran.
  template <class F>
  auto call_durable(F&& fn, std::chrono::milliseconds timeout = std::chrono::seconds(5))
      -> std::optional<std::invoke_result_t<F>> {
    return run<std::invoke_result_t<F>>(std::forward<F>(fn), true, timeout);
  }

 private:
  struct Task {
    std::function<void()> run;     // computes the result (loop thread)
    std::function<void()> finish;  // hands it over (loop thread)
    std::function<void()> cancel;  // bridge closed: hands over nothing
    bool durable = false;
  };

  // The caller may give up (timeout) while its task is still queued: `fn` may hold
  // references into the caller's frame, so it runs only under the slot's mutex and
  // only if the caller has not left; a caller that times out takes the mutex first.
  template <class R>
  struct Slot {
    std::mutex mu;
    bool abandoned = false;
    std::optional<R> result;
    std::promise<bool> done;
  };

  template <class R>
  std::optional<R> run(std::function<R()> fn, bool durable, std::chrono::milliseconds timeout) {
    auto slot = std::make_shared<Slot<R>>();
    std::future<bool> ready = slot->done.get_future();
    Task t;
    t.run = [slot, fn = std::move(fn)] {
      std::lock_guard lk(slot->mu);
      if (!slot->abandoned) slot->result.emplace(fn());
    };
    t.finish = [slot] { slot->done.set_value(true); };
    t.cancel = [slot] { slot->done.set_value(false); };
    t.durable = durable;
    if (!post(std::move(t))) return std::nullopt;
    if (ready.wait_for(timeout) == std::future_status::ready) {
      if (!ready.get()) return std::nullopt;
      std::lock_guard lk(slot->mu);
      return std::move(slot->result);
    }
    std::lock_guard lk(slot->mu);  // waits for a running fn to finish
    slot->abandoned = true;
    return std::nullopt;
  }

  bool post(Task t);
  void drain();  // loop thread

  // A query that ran and waits for the log: finished by the writer's callback or
  // cancelled by close(), whichever comes first (both on the loop thread).
  struct Waiting {
    Task task;
    bool settled = false;
  };

  uv_loop_t* loop_;
  log::Writer* writer_;
  std::function<uint64_t()> visible_seq_;
  uv_async_t async_{};
  std::mutex mu_;
  std::deque<Task> queue_;
  bool closed_ = false;
  std::vector<std::shared_ptr<Waiting>> waiting_;  // loop thread only
};

}  // namespace pilot::admin
