// The two small files the outbound side keeps in the data directory, and their bytes:
//
//   <data-dir>/webhook.cursor, audit-export.cursor — one JSON object
//       {"target":"…","seq":N,"ordinal":K}: the last audit entry delivered or given up
//       for `target` (the webhook URL, or the export's format and endpoint — never a
//       token), so a restart resumes right after it. Written atomically.
//   <data-dir>/webhook-dlq.jsonl — the webhook's dead-letter queue, one JSON object
//       per line ({event_id, action, timestamp, details?}), oldest first, at most the
//       last 100. Rewritten atomically on every change (it is small and changes only
//       when a delivery is given up).
//
// The decoders take whatever is on disk (a hand-edited or damaged file): a cursor that
// does not decode is treated as absent, a DLQ line that does not decode is skipped.
// fuzz_outbound_files feeds them arbitrary bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::admin {

struct OutboundCursor {
  std::string target;    // what the position is for ("" = nothing configured)
  uint64_t seq = 0;      // log seq of the last entry delivered or given up
  uint64_t ordinal = 0;  // its position in the audit chain (1 = first entry ever chained)
  bool operator==(const OutboundCursor&) const = default;
};

std::string encode_cursor(const OutboundCursor& c);
std::optional<OutboundCursor> decode_cursor(std::string_view bytes);

// nullopt when the file is missing or does not decode (`problem` says which, "" when
// simply missing).
std::optional<OutboundCursor> load_cursor(const std::string& path, std::string& problem);
bool save_cursor(const std::string& path, const OutboundCursor& c, std::string& error);

// One dead letter: {event_id (uint), action (string), timestamp (string), details?
// (object)}; nothing else is kept.
bool valid_dead_letter(const nlohmann::json& j);

std::string encode_dead_letters(const std::vector<nlohmann::json>& letters);
// The valid lines of `bytes`, oldest first, keeping at most the last `keep`;
// `skipped` counts the lines that did not decode.
std::vector<nlohmann::json> decode_dead_letters(std::string_view bytes, size_t keep, size_t& skipped);

}  // namespace pilot::admin
