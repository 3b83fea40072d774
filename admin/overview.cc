#include "admin/overview.h"

#include "log/writer.h"
#include "net/beacon/service.h"
#include "net/replication/follower.h"
#include "net/replication/leader.h"
#include "net/rpc/service.h"
#include "projections/state.h"

namespace pilot::admin {

namespace {

constexpr int64_t kReuseNs = 1000000000;  // one walk of the nodes per second at most

}  // namespace

const Overview& collect_overview(const AdminContext& ctx, Overview& o, int64_t now_ns) {
  // Cheap fields are always fresh; the node walk is reused for a second.
  const bool walk =
      o.collected_unix_ns == 0 || now_ns - o.collected_unix_ns >= kReuseNs || now_ns < o.collected_unix_ns;
  const State& st = *ctx.state;
  rpc::Registry& reg = ctx.registry->registry();
  if (walk) {
    o.collected_unix_ns = now_ns;
    o.live_nodes = st.directory.nodes().size();
    o.online_nodes = 0;
    o.versions.clear();
    for (const auto& [id, node] : st.directory.nodes()) {
      if (now_ns - reg.liveness().last_seen_ns(id) < ctx.stale_threshold_ns) ++o.online_nodes;
      ++o.versions[node.version.empty() ? "unknown" : node.version];
    }
    o.networks = o.enterprise_networks = 0;
    for (const auto& [id, net] : st.networks.all()) {
      if (id == 0) continue;
      ++o.networks;
      if (net.enterprise) ++o.enterprise_networks;
    }
  }
  const uint64_t next = st.directory.next_node();
  o.total_nodes = next > 0 ? next - 1 : 0;
  o.trust_links = st.trust.pair_count();
  o.total_requests = o.total_errors = 0;
  for (const auto& [type, s] : ctx.registry->dispatcher().stats()) {
    o.total_requests += s.requests;
    o.total_errors += s.errors;
  }
  o.last_seq = st.last_seq;
  o.durable_seq = ctx.writer ? ctx.writer->durable_seq() : st.last_seq;
  // The writer's term: right after a promotion it is already the new one, before any
  // record of that term exists.
  o.term = ctx.writer ? ctx.writer->term() : st.term;
  o.standby = reg.standby();
  o.role = ctx.follower ? "follower" : ctx.leader ? "leader" : "standalone";
  o.follower_streaming = ctx.follower && ctx.follower->streaming();
  o.leader_durable_seq = ctx.follower ? ctx.follower->leader_durable_seq() : 0;
  o.followers = ctx.leader ? ctx.leader->followers() : 0;
  o.consumers = ctx.leader ? ctx.leader->consumers() : 0;
  o.go_standbys = ctx.go_standbys ? ctx.go_standbys() : 0;
  o.follower_acked_seq = ctx.leader ? ctx.leader->acked_seq() : 0;
  o.registry_connections = ctx.registry->server().stats().open;
  o.beacon = ctx.beacon != nullptr;
  if (ctx.beacon) {
    const beacon::Counters c = ctx.beacon->engine().counters();
    o.beacon_nodes = ctx.beacon->engine().nodes().size();
    o.relay_forwarded = c.relay_forwarded;
    o.relay_dropped = c.relay_dropped;
    o.relay_not_found = c.relay_not_found;
  }
  return o;
}

}  // namespace pilot::admin
