#include "projections/trust.h"

#include <algorithm>

namespace pilot {
namespace {

const std::vector<HandshakeRequest> kNoRequests;
const std::vector<HandshakeResponse> kNoResponses;

std::vector<std::pair<uint32_t, uint32_t>> unpack_sorted(const std::unordered_set<uint64_t>& s) {
  std::vector<uint64_t> keys(s.begin(), s.end());
  std::sort(keys.begin(), keys.end());
  std::vector<std::pair<uint32_t, uint32_t>> out;
  out.reserve(keys.size());
  for (uint64_t k : keys) out.emplace_back(static_cast<uint32_t>(k >> 32), static_cast<uint32_t>(k));
  return out;
}

}  // namespace

const std::vector<HandshakeRequest>& Trust::requests_for(uint32_t node) const {
  auto it = requests_.find(node);
  return it == requests_.end() ? kNoRequests : it->second;
}

const std::vector<HandshakeResponse>& Trust::responses_for(uint32_t node) const {
  auto it = responses_.find(node);
  return it == responses_.end() ? kNoResponses : it->second;
}

std::vector<std::pair<uint32_t, uint32_t>> Trust::sorted_pairs() const { return unpack_sorted(pairs_); }

std::vector<std::pair<uint32_t, uint32_t>> Trust::sorted_pending() const { return unpack_sorted(pending_); }

void Trust::apply(const EventMeta&, const TrustAdded& e) { pairs_.insert(pair_key(e.a, e.b)); }

void Trust::apply(const EventMeta&, const TrustRevoked& e) { pairs_.erase(pair_key(e.a, e.b)); }

void Trust::apply(const EventMeta& m, const HandshakeRequested& e) {
  requests_[e.to_node_id].push_back({e.from_node_id, e.justification, m.time_ns});
  pending_.insert(pack(e.from_node_id, e.to_node_id));
}

void Trust::apply(const EventMeta& m, const HandshakeResponded& e) {
  pending_.erase(pack(e.peer_id, e.responder_id));
  responses_[e.peer_id].push_back({e.responder_id, e.accept, m.time_ns});
  if (e.accept) pairs_.insert(pair_key(e.responder_id, e.peer_id));
}

void Trust::apply(const EventMeta&, const HandshakeInboxDrained& e) {
  requests_.erase(e.node_id);
  responses_.erase(e.node_id);
}

}  // namespace pilot
