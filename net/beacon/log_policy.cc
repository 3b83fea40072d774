#include "net/beacon/log_policy.h"

#include <mutex>
#include <shared_mutex>

namespace pilot::beacon {

bool LogPolicy::may_punch(uint32_t requester, uint32_t target) {
  std::shared_lock lock(mu_);
  const Node* t = state_.directory.find(target);
  if (t && t->is_public) return true;
  return state_.trust.trusted(requester, target) || state_.networks.share_custom_network(requester, target);
}

std::optional<PublicKey> LogPolicy::node_key(uint32_t id) {
  std::shared_lock lock(mu_);
  const Node* n = state_.directory.find(id);
  // A legacy record without a key has none to check against: fall back to the
  // engine's own (Discover) key, as with no policy.
  if (!n || n->public_key == PublicKey{}) return std::nullopt;
  return n->public_key;
}

}  // namespace pilot::beacon
