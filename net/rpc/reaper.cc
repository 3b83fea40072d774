#include "net/rpc/reaper.h"

#include <vector>

namespace pilot::rpc {

size_t reap_stale_nodes(Registry& reg, size_t max) {
  const int64_t cutoff = reg.now_ns() - reg.options().stale_threshold_ns;
  std::vector<uint32_t> stale;
  for (auto [id, node] : reg.state().directory.nodes()) {
    if (stale.size() >= max) break;
    const int64_t seen = std::max(reg.liveness().last_seen_ns(id), node.last_registered_ns);
    if (seen < cutoff) stale.push_back(id);
  }
  for (uint32_t id : stale) reg.emit(NodeExpired{id});  // not while iterating the table
  reg.counters().reaped += stale.size();
  return stale.size();
}

}  // namespace pilot::rpc
