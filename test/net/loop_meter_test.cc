// The loop meter counts the time callbacks run, not the time the loop waits: a real
// libuv loop with timers that busy-wait and timers that only fire.
#include "net/rpc/loop_meter.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <thread>

namespace pilot::rpc {
namespace {

void spin_for(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

// A loop with idle-time accounting; destroyed after its handles are closed.
struct Loop {
  uv_loop_t loop{};
  Loop() {
    uv_loop_init(&loop);
    EXPECT_TRUE(LoopMeter::enable_idle_time(&loop));
  }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);  // close callbacks
    uv_loop_close(&loop);
  }
};

uint64_t iterations_over(const HistogramData& h, uint64_t ns) {
  uint64_t n = 0;
  for (size_t i = 0; i < h.counts.size(); ++i)
    if (i == h.bounds.size() || h.bounds[i] > ns) n += h.counts[i];
  return n;
}

TEST(LoopMeter, ABusyCallbackIsOneLongIterationAndWaitingIsNotCounted) {
  Loop l;
  LoopMeter meter;
  meter.start(&l.loop);
  // Three idle waits of 40 ms, then one callback that keeps the thread for 30 ms, then
  // a last short wait so that the loop prepares to poll once more (the meter measures
  // an iteration when the next one starts).
  struct Ctx {
    int fired = 0;
    uv_timer_t done{};
  } ctx;
  uv_timer_t wait{}, busy{};
  uv_timer_init(&l.loop, &wait);
  uv_timer_init(&l.loop, &busy);
  uv_timer_init(&l.loop, &ctx.done);
  wait.data = busy.data = &ctx;
  uv_timer_start(
      &wait,
      [](uv_timer_t* t) {
        if (++static_cast<Ctx*>(t->data)->fired == 3) uv_timer_stop(t);
      },
      40, 40);
  uv_timer_start(
      &busy,
      [](uv_timer_t* t) {
        spin_for(std::chrono::milliseconds(30));
        uv_timer_start(
            &static_cast<Ctx*>(t->data)->done, [](uv_timer_t*) {}, 10, 0);
      },
      130, 0);
  const auto t0 = std::chrono::steady_clock::now();
  uv_run(&l.loop, UV_RUN_DEFAULT);  // until every timer is done
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(ctx.fired, 3);

  const HistogramData h = meter.iterations();
  EXPECT_EQ(iterations_over(h, 25'000'000), 1u) << "the 30 ms callback is one iteration over 25 ms";
  EXPECT_GE(meter.longest_ns(), 30'000'000u);
  EXPECT_LT(meter.longest_ns(), 1'000'000'000u);
  // About 30 ms busy out of ~170 ms: the ~130 ms of waiting are not in it.
  EXPECT_GE(meter.busy_ns(), 30'000'000u);
  EXPECT_LT(double(meter.busy_ns()) / 1e6, wall_ms - 90) << "waiting was counted as busy";
  EXPECT_GE(h.count(), 4u);

  meter.stop();
  uv_close(reinterpret_cast<uv_handle_t*>(&wait), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&busy), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&ctx.done), nullptr);
}

TEST(LoopMeter, TheMeterAloneKeepsNoLoopAlive) {
  Loop l;
  LoopMeter meter;
  meter.start(&l.loop);
  EXPECT_EQ(uv_run(&l.loop, UV_RUN_DEFAULT), 0);  // returns: nothing else is active
  EXPECT_TRUE(meter.running());
  meter.stop();
  EXPECT_FALSE(meter.running());
}

}  // namespace
}  // namespace pilot::rpc
