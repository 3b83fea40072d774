// The trust projection: symmetric trust pairs and the handshake relay (per-node inbox
// of requests, per-node inbox of responses, and pending from→to markers).
//
// All of it is identity-level: it survives deregistration and expiry. Events naming
// unknown nodes are applied as they are (the projection does not know which nodes
// exist; the handlers check that).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/events.h"

namespace pilot {

struct HandshakeRequest {
  uint32_t from_node_id = 0;
  std::string justification;
  int64_t time_ns = 0;
  bool operator==(const HandshakeRequest&) const = default;
};

struct HandshakeResponse {
  uint32_t from_node_id = 0;  // the responder
  bool accept = false;
  int64_t time_ns = 0;
  bool operator==(const HandshakeResponse&) const = default;
};

class Trust {
 public:
  // Pairs and markers are packed as (high << 32 | low).
  static uint64_t pack(uint32_t hi, uint32_t lo) { return (uint64_t{hi} << 32) | lo; }
  static uint64_t pair_key(uint32_t a, uint32_t b) { return a < b ? pack(a, b) : pack(b, a); }

  // ---- queries ----
  bool trusted(uint32_t a, uint32_t b) const { return pairs_.count(pair_key(a, b)) != 0; }
  bool pending(uint32_t from, uint32_t to) const { return pending_.count(pack(from, to)) != 0; }
  const std::vector<HandshakeRequest>& requests_for(uint32_t node) const;
  const std::vector<HandshakeResponse>& responses_for(uint32_t node) const;
  size_t pair_count() const { return pairs_.size(); }
  // Sorted copies (for listings, dumps and snapshots).
  std::vector<std::pair<uint32_t, uint32_t>> sorted_pairs() const;    // (min, max)
  std::vector<std::pair<uint32_t, uint32_t>> sorted_pending() const;  // (from, to)
  const std::unordered_map<uint32_t, std::vector<HandshakeRequest>>& request_inbox() const { return requests_; }
  const std::unordered_map<uint32_t, std::vector<HandshakeResponse>>& response_inbox() const { return responses_; }

  // ---- apply ----
  void apply(const EventMeta& m, const TrustAdded& e);
  void apply(const EventMeta& m, const TrustRevoked& e);
  void apply(const EventMeta& m, const HandshakeRequested& e);
  void apply(const EventMeta& m, const HandshakeResponded& e);
  void apply(const EventMeta& m, const HandshakeInboxDrained& e);

  bool operator==(const Trust&) const = default;

 private:
  friend struct SnapshotAccess;

  std::unordered_set<uint64_t> pairs_;                                      // pair_key(a, b)
  std::unordered_set<uint64_t> pending_;                                    // pack(from, to)
  std::unordered_map<uint32_t, std::vector<HandshakeRequest>> requests_;    // no empty lists
  std::unordered_map<uint32_t, std::vector<HandshakeResponse>> responses_;  // no empty lists
};

}  // namespace pilot
