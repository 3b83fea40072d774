// A reader/writer mutex that lets a waiting writer in before new readers.
//
// Used between the rendezvous loop thread, which applies events to the projections
// (the writer), and the embedded beacon's reader threads, which look things up in them
// (net/rpc/registry.h, net/beacon/log_policy.h). std::shared_mutex is glibc's default
// rwlock, which prefers readers: reader threads asking back to back — a whitelisted
// punch flood does exactly that — can keep a shared hold on it between them forever
// and stall the loop thread's next apply, and with it the whole registry. Here a
// waiting writer makes new readers wait, so an apply waits at most for the reads
// already in progress. Meets the SharedMutex requirements used by std::unique_lock and
// std::shared_lock. Not recursive: a thread must not take it twice.
#pragma once

#include <pthread.h>

namespace pilot {

class RwMutex {
 public:
  RwMutex();
  ~RwMutex();
  RwMutex(const RwMutex&) = delete;
  RwMutex& operator=(const RwMutex&) = delete;

  void lock();
  void unlock();
  void lock_shared();
  void unlock_shared();

 private:
  pthread_rwlock_t rw_;
};

}  // namespace pilot
