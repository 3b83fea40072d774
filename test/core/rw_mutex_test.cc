// RwMutex: shared holds overlap, an exclusive hold excludes them, and a waiting writer
// gets in although readers keep overlapping (the reason it exists: core/rw_mutex.h).
#include "core/rw_mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

namespace pilot {
namespace {

using namespace std::chrono_literals;

TEST(RwMutex, ReadersShareWritersExclude) {
  RwMutex mu;
  {
    std::shared_lock a(mu);
    std::shared_lock b(mu);  // a second reader while the first holds it
    EXPECT_TRUE(a.owns_lock() && b.owns_lock());
  }
  int counter = 0;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        std::unique_lock lock(mu);
        ++counter;
      }
    });
  for (auto& t : writers) t.join();
  EXPECT_EQ(counter, 40000);
}

// Two readers take turns so that one of them always holds the lock: a reader-preferring
// rwlock (std::shared_mutex on glibc) lets the writer wait as long as that goes on.
TEST(RwMutex, AWaitingWriterIsNotStarvedByOverlappingReaders) {
  RwMutex mu;
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        std::shared_lock lock(mu);
        std::this_thread::sleep_for(2ms);
      }
    });
    std::this_thread::sleep_for(1ms);
  }
  std::this_thread::sleep_for(20ms);
  std::atomic<bool> writer_done{false};
  std::thread writer([&] {
    for (int i = 0; i < 20; ++i) {
      std::unique_lock lock(mu);
    }
    writer_done = true;
  });
  // Each lock waits for at most the reads in progress (2 ms each, plus scheduling). A
  // starved writer would wait for as long as the readers run: stop them after 2 s so
  // the test fails instead of hanging.
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!writer_done.load() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(writer_done.load()) << "the writer waited 2 s behind overlapping readers";
  stop = true;
  writer.join();
  for (auto& t : readers) t.join();
}

}  // namespace
}  // namespace pilot
