#include "log/tailer.h"

#include <thread>

namespace pilot::log {
namespace {
constexpr auto kPollInterval = std::chrono::milliseconds(2);
constexpr auto kUnreadableLimit = std::chrono::seconds(2);
}  // namespace

Tailer::Tailer(std::string log_dir, uint64_t from_seq, const Writer* writer)
    : scanner_(std::move(log_dir), from_seq, /*verify_chain=*/true), writer_(writer), next_seq_(from_seq) {
  scanner_.set_live(true);
}

Tailer::Status Tailer::next(Record& out, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    // Only durable records: a non-durable one may still vanish in recovery.
    bool may_read = !writer_ || writer_->durable_seq() >= next_seq_;
    if (may_read) {
      switch (scanner_.next(out)) {
        case Scanner::Status::kRecord:
          next_seq_ = out.seq + 1;
          unreadable_since_.reset();
          return Status::kRecord;
        case Scanner::Status::kError: return Status::kError;
        case Scanner::Status::kEnd: break;
      }
      // The writer says it is durable, yet it does not parse: a write in flight looks
      // like this for a moment, damage looks like this for ever.
      if (writer_) {
        auto now = std::chrono::steady_clock::now();
        if (!unreadable_since_) unreadable_since_ = now;
        if (now - *unreadable_since_ > kUnreadableLimit) {
          unreadable_error_.segment = scanner_.current_segment();
          unreadable_error_.offset = scanner_.current_offset();
          unreadable_error_.after_seq = scanner_.last_seq();
          unreadable_error_.what = "durable record " + std::to_string(next_seq_) + " is unreadable";
          return Status::kError;
        }
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return Status::kTimeout;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (writer_ && !may_read && !writer_->closed())
      writer_->wait_durable(next_seq_ - 1, left);
    else
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(left, kPollInterval));
  }
}

const ScanError& Tailer::error() const { return unreadable_error_.what.empty() ? scanner_.error() : unreadable_error_; }

}  // namespace pilot::log
