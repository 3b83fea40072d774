#include "admin/outbound_queue.h"

#include <algorithm>

#include "core/logging.h"

namespace pilot::admin {

namespace {

using Clock = std::chrono::steady_clock;

// While busy the cursor is written at most this often (each write is an fsync'd
// rename); an idle queue writes it at once.
constexpr auto kPersistEvery = std::chrono::milliseconds(200);

int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

OutboundQueue::OutboundQueue(OutboundQueueOptions opts, OutboundCursor start, GiveUp on_give_up)
    : opts_(std::move(opts)),
      on_give_up_(std::move(on_give_up)),
      latest_target_(start.target),
      cursor_(start),
      persisted_(std::move(start)) {}

OutboundQueue::~OutboundQueue() { stop(std::chrono::milliseconds(0)); }

void OutboundQueue::start() {
  std::lock_guard lk(mu_);
  if (started_) return;
  started_ = true;
  worker_ = std::thread([this] { run(); });
}

void OutboundQueue::begin_stop(std::chrono::milliseconds drain) {
  std::lock_guard lk(mu_);
  if (!stopping_) {
    stopping_ = true;
    deadline_ = Clock::now() + drain;
  }
  cv_.notify_all();
}

void OutboundQueue::stop(std::chrono::milliseconds drain) {
  begin_stop(drain);
  std::unique_lock lk(mu_);
  if (!started_ || joined_) return;
  // The worker leaves by itself once the queue is empty or the deadline passed; a
  // delivery still in flight then is cut short (the sink's own timeouts bound the
  // rest).
  while (!exited_) {
    if (Clock::now() >= deadline_ && in_flight_) {
      std::shared_ptr<OutboundSink> sink = in_flight_;
      lk.unlock();
      sink->cancel();
      lk.lock();
    }
    cv_.wait_until(lk, std::max(deadline_, Clock::now() + std::chrono::milliseconds(20)));
  }
  joined_ = true;
  lk.unlock();
  worker_.join();
}

size_t OutboundQueue::room() const {
  std::lock_guard lk(mu_);
  return queue_.size() >= opts_.capacity ? 0 : opts_.capacity - queue_.size();
}

bool OutboundQueue::push(OutboundItem item) {
  std::lock_guard lk(mu_);
  if (queue_.size() >= opts_.capacity) return false;
  if (item.target != latest_target_) {
    latest_target_ = item.target;
    switched_at_ = Clock::now();
  }
  queue_.push_back(std::move(item));
  cv_.notify_all();
  return true;
}

OutboundCursor OutboundQueue::cursor() const {
  std::lock_guard lk(mu_);
  return cursor_;
}

bool OutboundQueue::idle() const {
  std::lock_guard lk(mu_);
  return queue_.empty() && !busy_;
}

bool OutboundQueue::past_deadline_locked() const { return stopping_ && Clock::now() >= deadline_; }

void OutboundQueue::run() {
  for (;;) {
    OutboundItem item;
    {
      std::unique_lock lk(mu_);
      if (queue_.empty() && !stopping_) {
        lk.unlock();
        persist(true);  // caught up: the file says so before we sleep
        lk.lock();
      }
      cv_.wait(lk, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty() || past_deadline_locked()) break;
      item = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      in_flight_ = item.sink;
    }
    const bool finished = !item.sink || deliver(item);
    if (finished) done(item);
    std::lock_guard lk(mu_);
    busy_ = false;
    in_flight_.reset();
    if (!finished) break;
  }
  persist(true);
  std::lock_guard lk(mu_);
  exited_ = true;
  cv_.notify_all();
}

bool OutboundQueue::deliver(const OutboundItem& item) {
  // Superseded by a newer target for longer than the drain allows: not attempted.
  auto superseded_expired = [&] {
    std::lock_guard lk(mu_);
    return item.target != latest_target_ && Clock::now() - switched_at_ >= opts_.switch_drain;
  };
  if (superseded_expired()) {
    ++counters_.dropped;
    return true;
  }
  auto delay = opts_.backoff;
  std::string last_error;
  int attempt = 1;
  for (;; ++attempt) {
    OutboundSink::Result r = item.sink->deliver(item.entry);
    if (r.outcome == OutboundSink::Outcome::kDelivered) {
      ++counters_.delivered;
      counters_.last_delivery_unix_s = unix_now_s();
      return true;
    }
    ++counters_.failed_attempts;
    last_error = std::move(r.error);
    if (r.outcome == OutboundSink::Outcome::kReject || attempt >= opts_.attempts) break;
    {
      std::lock_guard lk(mu_);
      if (past_deadline_locked()) return false;
    }
    if (superseded_expired()) {
      ++counters_.dropped;
      return true;
    }
    LOG_DEBUG("%s: event %llu attempt %d failed (%s); retrying in %lld ms", opts_.name.c_str(),
              (unsigned long long)item.entry.seq, attempt, last_error.c_str(), (long long)delay.count());
    if (!backoff_wait(delay)) return false;
    delay *= 2;
  }
  ++counters_.given_up;
  LOG_WARN("%s: gave up on event %llu (%.*s) after %d attempt(s): %s", opts_.name.c_str(),
           (unsigned long long)item.entry.seq, (int)item.entry.action_name().size(), item.entry.action_name().data(),
           attempt, last_error.c_str());
  if (on_give_up_) on_give_up_(item.entry, last_error);
  return true;
}

bool OutboundQueue::backoff_wait(std::chrono::milliseconds d) {
  const auto end = Clock::now() + d;
  std::unique_lock lk(mu_);
  for (;;) {
    if (past_deadline_locked()) return false;
    const auto now = Clock::now();
    if (now >= end) return true;
    cv_.wait_until(lk, stopping_ ? std::min(end, deadline_) : end);
  }
}

void OutboundQueue::done(const OutboundItem& item) {
  bool force;
  {
    std::lock_guard lk(mu_);
    cursor_ = {item.target, item.entry.seq, item.ordinal};
    force = !item.sink || queue_.empty();  // a target switch is written at once
  }
  persist(force);
}

void OutboundQueue::persist(bool force) {
  if (opts_.cursor_path.empty()) return;
  OutboundCursor c = cursor();
  if (c == persisted_) return;
  const auto now = Clock::now();
  if (!force && now - last_persist_ < kPersistEvery) return;
  std::string err;
  if (!save_cursor(opts_.cursor_path, c, err)) {
    // Not fatal: the position stays in memory and the write is tried again; a restart
    // before it succeeds re-sends from the older position (at least once).
    if (!persist_failing_)
      LOG_WARN("%s: cannot write the cursor %s: %s (retrying)", opts_.name.c_str(), opts_.cursor_path.c_str(),
               err.c_str());
    persist_failing_ = true;
    last_persist_ = now;
    return;
  }
  if (persist_failing_) LOG_INFO("%s: cursor %s written again", opts_.name.c_str(), opts_.cursor_path.c_str());
  persist_failing_ = false;
  persisted_ = std::move(c);
  last_persist_ = now;
}

}  // namespace pilot::admin
