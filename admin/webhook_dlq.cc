#include "admin/webhook_dlq.h"

#include <sys/stat.h>

#include "admin/outbound_files.h"
#include "core/logging.h"
#include "log/file_util.h"

namespace pilot::admin {

namespace {

// 100 letters are a few tens of KiB; a much larger file was not written by us.
constexpr off_t kMaxFileBytes = 16 << 20;

}  // namespace

DeadLetterQueue::DeadLetterQueue(std::string path, size_t capacity) : path_(std::move(path)), capacity_(capacity) {
  if (path_.empty()) return;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return;  // none yet
  std::string bytes;
  if (st.st_size > kMaxFileBytes || !log::read_file_from(path_, 0, bytes)) {
    LOG_WARN("webhook: cannot read the dead-letter queue %s (starting empty)", path_.c_str());
    return;
  }
  size_t skipped = 0;
  letters_ = decode_dead_letters(bytes, capacity_, skipped);
  if (skipped) LOG_WARN("webhook: skipped %zu damaged lines of %s", skipped, path_.c_str());
}

void DeadLetterQueue::add(nlohmann::json letter) {
  std::lock_guard lk(mu_);
  letters_.push_back(std::move(letter));
  if (letters_.size() > capacity_)
    letters_.erase(letters_.begin(), letters_.end() - static_cast<std::ptrdiff_t>(capacity_));
  if (path_.empty()) return;
  std::string err;
  if (!log::write_file_atomic(path_, encode_dead_letters(letters_), err))
    LOG_WARN("webhook: cannot write the dead-letter queue %s: %s (kept in memory)", path_.c_str(), err.c_str());
}

nlohmann::json DeadLetterQueue::list() const {
  std::lock_guard lk(mu_);
  return nlohmann::json(letters_);
}

size_t DeadLetterQueue::size() const {
  std::lock_guard lk(mu_);
  return letters_.size();
}

}  // namespace pilot::admin
