// The webhook's dead-letter queue (spec §13): the last 100 entries the webhook gave up
// on (a 4xx, or every attempt failed), oldest evicted first. Kept in
// <data-dir>/webhook-dlq.jsonl (outbound_files.h) so get_webhook_dlq shows the same
// list after a restart. Any thread.
#pragma once

#include <cstddef>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pilot::admin {

class DeadLetterQueue {
 public:
  static constexpr size_t kCapacity = 100;

  // Loads `path` if it exists ("" = memory only); damaged lines are skipped and logged.
  explicit DeadLetterQueue(std::string path, size_t capacity = kCapacity);

  // Appends (evicting the oldest beyond capacity) and rewrites the file.
  void add(nlohmann::json letter);
  nlohmann::json list() const;  // array, oldest first
  size_t size() const;

 private:
  const std::string path_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::vector<nlohmann::json> letters_;
};

}  // namespace pilot::admin
