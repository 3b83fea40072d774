#include "core/rw_mutex.h"

#include <cstdlib>

namespace pilot {

RwMutex::RwMutex() {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  // The non-recursive kind is what makes glibc honour the writer preference.
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  if (pthread_rwlock_init(&rw_, &attr) != 0) std::abort();
  pthread_rwlockattr_destroy(&attr);
}

RwMutex::~RwMutex() { pthread_rwlock_destroy(&rw_); }

// The only failures are misuse (deadlock on a second lock by the same thread, unlock
// of a lock not held): abort rather than carry on unsynchronised.
void RwMutex::lock() {
  if (pthread_rwlock_wrlock(&rw_) != 0) std::abort();
}
void RwMutex::unlock() {
  if (pthread_rwlock_unlock(&rw_) != 0) std::abort();
}
void RwMutex::lock_shared() {
  if (pthread_rwlock_rdlock(&rw_) != 0) std::abort();
}
void RwMutex::unlock_shared() {
  if (pthread_rwlock_unlock(&rw_) != 0) std::abort();
}

}  // namespace pilot
