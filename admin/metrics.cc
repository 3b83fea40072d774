#include "admin/metrics.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "admin/loop_bridge.h"
#include "core/events.h"
#include "log/format.h"
#include "log/writer.h"
#include "net/beacon/beacon.h"
#include "net/beacon/udp_server.h"
#include "net/beacon/wss_server.h"
#include "net/replication/follower.h"
#include "net/replication/leader.h"
#include "net/replication/sync_gate.h"
#include "net/rpc/dispatcher.h"
#include "net/rpc/loop_meter.h"
#include "net/rpc/rate_limit.h"
#include "net/rpc/registry.h"
#include "net/rpc/server.h"

namespace pilot::admin {

using prom::Exposition;
using prom::Labels;

namespace {

constexpr double kNsPerSecond = 1e9;

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t u64(size_t n) { return static_cast<uint64_t>(n); }

// ---- loop thread ----------------------------------------------------------------

void requests(const rpc::Dispatcher& d, Exposition& out) {
  auto& total = out.counter("pilot_requests_total", "Requests handled, by op (binary frames under their JSON op).");
  auto& errors = out.counter("pilot_errors_total", "Requests answered with an error, by op.");
  auto& duration =
      out.histogram("pilot_request_duration_seconds", "Time to handle a request on the loop thread, by op.");
  for (const auto& [type, st] : d.stats()) {
    total.add({{"type", type}}, st.requests);
    errors.add({{"type", type}}, st.errors);
    duration.add({{"type", type}}, st.duration.data(), kNsPerSecond);
  }
  out.counter("pilot_recovered_panics_total", "Handler exceptions caught and answered \"internal error\".")
      .add(d.recovered_panics());
}

void loop(const rpc::LoopMeter& m, Exposition& out) {
  out.histogram(
         "pilot_loop_iteration_seconds",
         "Time the loop thread ran callbacks between two waits for I/O (net/rpc/loop_meter.h: a stall, or saturation).")
      .add(m.iterations(), kNsPerSecond);
  out.counter("pilot_loop_busy_seconds_total", "Time the loop thread spent running callbacks (not waiting for I/O).")
      .add(double(m.busy_ns()) / kNsPerSecond);
  out.gauge("pilot_loop_longest_iteration_seconds", "The longest loop iteration since the process started.")
      .add(double(m.longest_ns()) / kNsPerSecond);
}

void registry_state(const rpc::Registry& reg, size_t max_network_series, OnlineCountCache* cache, Exposition& out) {
  const State& st = reg.state();
  const int64_t now = reg.now_ns();
  uint64_t online = 0;
  const size_t registered = st.directory.nodes().size();
  if (cache && cache->counted_at_ns != 0 && cache->registered == registered && now >= cache->counted_at_ns &&
      now - cache->counted_at_ns < 1000000000) {
    online = cache->online;
  } else {
    const int64_t online_since = now - reg.options().stale_threshold_ns;
    for (auto [id, node] : st.directory.nodes())
      if (reg.liveness().last_seen_ns(id) >= online_since) ++online;
    if (cache) *cache = {now, registered, online};
  }
  out.gauge("pilot_nodes_online", "Registered nodes heard from within the stale threshold.").add(online);
  out.gauge("pilot_nodes_total", "Registered nodes (not deregistered or expired).").add(u64(st.directory.size()));
  out.gauge("pilot_task_executors", "Nodes flagged task_exec: always 0 (the flag is legacy and never set).")
      .add(uint64_t{0});
  out.gauge("pilot_pubkeys_total", "Public keys in the key index.").add(u64(st.directory.key_index().size()));
  out.gauge("pilot_trust_links", "Trust pairs.").add(u64(st.trust.pair_count()));
  uint64_t requests = 0, responses = 0;
  for (const auto& [node, list] : st.trust.request_inbox()) requests += list.size();
  for (const auto& [node, list] : st.trust.response_inbox()) responses += list.size();
  out.gauge("pilot_handshake_inbox_size", "Handshake requests waiting in inboxes.").add(requests);
  out.gauge("pilot_handshake_responses_size", "Handshake responses waiting in inboxes.").add(responses);

  uint64_t invites = 0;
  for (const auto& [node, list] : st.networks.invite_inbox()) invites += list.size();
  std::vector<const Network*> nets;
  uint64_t enterprise = 0;
  for (const auto& [id, net] : st.networks.all()) {
    if (id == 0) continue;  // backbone: membership is liveness
    nets.push_back(&net);
    enterprise += net.enterprise;
  }
  out.gauge("pilot_networks_total", "Custom networks (the backbone not counted).").add(u64(nets.size()));
  out.gauge("pilot_networks_enterprise", "Custom networks with enterprise features on.").add(enterprise);
  out.gauge("pilot_invites_pending", "Network invites waiting for an answer.").add(invites);

  std::sort(nets.begin(), nets.end(), [](const Network* a, const Network* b) { return a->name < b->name; });
  if (nets.size() > max_network_series) nets.resize(max_network_series);
  auto& members = out.gauge("pilot_network_members", "Members of a custom network, by network name.");
  auto& admins = out.gauge("pilot_network_admins", "Members with the admin role, by network name.");
  auto& owners = out.gauge("pilot_network_owners", "Members with the owner role, by network name.");
  auto& ent = out.gauge("pilot_network_enterprise", "1 if the network has enterprise features on.");
  auto& policy = out.gauge("pilot_network_policy_set", "1 if the network has a member/port policy or an expr policy.");
  for (const Network* n : nets) {
    uint64_t a = 0, o = 0;
    for (const auto& [node, role] : n->roles) {
      if (role == Role::kAdmin) ++a;
      if (role == Role::kOwner) ++o;
    }
    const Labels l{{"network", n->name}};
    members.add(l, u64(n->members.size()));
    admins.add(l, a);
    owners.add(l, o);
    ent.add(l, uint64_t{n->enterprise});
    policy.add(l, uint64_t{n->policy != NetworkPolicy{} || !n->expr_policy_json.empty()});
  }

  out.gauge("pilot_idp_configured", "1 if an identity provider is configured.")
      .add(uint64_t{st.settings.idp.configured()});
  out.gauge("pilot_webhook_configured", "1 if the audit webhook URL is set.")
      .add(uint64_t{!st.settings.webhook_url.empty()});
  out.gauge("pilot_audit_export_active", "1 if audit export is configured.")
      .add(uint64_t{st.settings.audit_export.enabled()});
}

// The audit view (spec §12.1: every audit entry counts, by action).
void audit(const State& st, Exposition& out) {
  out.counter("pilot_audit_events_total", "Audit entries chained (one or more per log record).").add(st.audit.total());
  auto& by_action = out.counter("pilot_audit_action_total", "Audit entries by action (spec §12.2 names).");
  for (size_t i = 0; i < kAuditActionCount; ++i)
    if (uint64_t n = st.audit.counts()[i])
      by_action.add({{"action", std::string(audit_action_name(AuditAction(i)))}}, n);
}

void outbound(const OutboundMetrics& m, Exposition& out) {
  out.counter("pilot_webhook_deliveries_total",
              "Audit webhook deliveries by result (error: given up, now in the dead-letter queue).")
      .add({{"result", "dropped"}}, m.webhook_dropped)
      .add({{"result", "error"}}, m.webhook_error)
      .add({{"result", "ok"}}, m.webhook_ok);
  out.gauge("pilot_webhook_last_delivery_unix_seconds", "Time of the last delivered webhook (0 = none yet).")
      .add(uint64_t(std::max<int64_t>(0, m.webhook_last_delivery_unix_s)));
  out.gauge("pilot_webhook_dlq_size", "Webhook events in the dead-letter queue (the last 100 kept).")
      .add(m.webhook_dlq_size);
  out.counter("pilot_audit_exports_total", "Audit entries shipped by the live audit exporter.").add(m.audit_exports);
  out.counter("pilot_audit_export_errors_total", "Audit entries the exporter gave up on after its retries.")
      .add(m.audit_export_errors);
  out.counter("pilot_audit_export_dropped_total", "Audit entries the exporter never sent (overtaken or switched away).")
      .add(m.audit_export_dropped);
}

void registry_counters(const rpc::Registry& reg, Exposition& out) {
  const rpc::Registry::Counters& c = reg.counters();
  out.counter("pilot_registrations_total", "Registrations that created a node.").add(c.registrations);
  out.counter("pilot_deregistrations_total", "Deregister requests that removed a node.").add(c.deregistrations);
  out.counter("pilot_nodes_expired_total", "Nodes the reaper expired (silent past the stale threshold).").add(c.reaped);
  out.counter("pilot_trust_reports_total", "Accepted report_trust requests.").add(c.trust_reports);
  out.counter("pilot_trust_revocations_total", "Trust pairs revoked.").add(c.trust_revocations);
  out.counter("pilot_handshake_requests_total", "Handshake requests delivered to an inbox.").add(c.handshake_requests);
  out.counter("pilot_key_rotations_total", "Key rotations.").add(c.key_rotations);
  out.counter("pilot_signature_verify_total", "Signature checks, by result (a verify-memo hit counts as ok).")
      .add({{"result", "fail"}}, c.signatures_failed)
      .add({{"result", "ok"}}, c.signatures_ok);
  out.counter("pilot_signature_verify_cache_total", "Lookups in the verify memo (spec §4.2 step 5), by result.")
      .add({{"result", "hit"}}, reg.verify_cache().hits)
      .add({{"result", "miss"}}, reg.verify_cache().misses);
  out.gauge("pilot_replication_is_standby", "1 on a follower (read ops only).").add(uint64_t{reg.standby()});
}

void server(const rpc::RpcServer& srv, Exposition& out) {
  const rpc::ServerStats& s = srv.stats();
  out.gauge("pilot_registry_tcp_connections", "Open registry-port connections.").add(u64(s.open));
  out.counter("pilot_registry_connections_accepted_total", "Registry-port connections accepted.").add(s.accepted);
  out.counter("pilot_registry_connections_closed_total", "Registry-port connections closed by the server, by reason.")
      .add({{"reason", "bad_frame"}}, s.closed_bad_frame)
      .add({{"reason", "idle"}}, s.closed_idle)
      .add({{"reason", "over_limit"}}, s.rejected_over_limit);
  out.counter("pilot_registry_frames_total", "Request frames read on the registry port.").add(s.frames);
}

void limiter(const rpc::RateLimiter& l, Exposition& out) {
  auto& denied = out.counter("pilot_ratelimit_denied_total", "Requests refused \"rate limited\", by bucket.");
  for (rpc::Deny d : {rpc::Deny::kIp, rpc::Deny::kBucketTable, rpc::Deny::kGlobal})
    denied.add({{"kind", std::string(rpc::deny_label(d))}}, l.denied(d));
  out.gauge("pilot_ratelimit_tracked_ips", "Peer IPs with a rate-limit bucket.").add(u64(l.tracked_ips()));
}

void writer_loop_side(const log::Writer& w, Exposition& out) {
  out.gauge("pilot_replication_term", "Term (leader epoch) of the log.").add(w.term());
  out.gauge("pilot_log_last_seq", "Sequence number of the last record appended.").add(w.last_seq());
  auto& appends = out.counter("pilot_log_appends_total", "Records appended to the log since start, by event kind.");
  const auto& by_kind = w.appended_by_kind();
  for (size_t k = 0; k < by_kind.size(); ++k) {
    const std::string_view name = kind_name(static_cast<EventKind>(k));
    if (!name.empty()) appends.add({{"event", std::string(name)}}, by_kind[k]);
  }
}

void follower(const repl::Follower& f, const log::Writer* w, Exposition& out) {
  const uint64_t ours = w ? w->durable_seq() : 0;
  const uint64_t theirs = f.leader_durable_seq();
  // Not started (caught_up_ns 0): nothing to lag behind yet.
  const bool caught_up = f.caught_up_ns() == 0 || (f.streaming() && ours >= theirs);
  out.gauge("pilot_replication_connected", "1 while the follower is streaming from the leader.")
      .add(uint64_t{f.streaming()});
  out.gauge("pilot_replication_lag_records", "Records the leader reported durable that are not durable here yet.")
      .add(theirs > ours ? theirs - ours : 0);
  out.gauge("pilot_replication_lag_seconds",
            "Seconds since this follower last had every record the leader reported durable (0 while caught up).")
      .add(caught_up ? 0.0 : double(std::max<int64_t>(0, steady_ns() - f.caught_up_ns())) / kNsPerSecond);
}

// ---- any thread -----------------------------------------------------------------

void writer_shared_side(const log::Writer& w, Exposition& out) {
  const log::WriterStats s = w.stats();
  out.gauge("pilot_log_durable_seq", "Last sequence number durable in the --fsync sense (replies may leave).")
      .add(w.durable_seq());
  out.counter("pilot_log_records_written_total", "Records written to log segments.").add(s.records);
  out.counter("pilot_log_bytes_written_total", "Bytes of records written to log segments.").add(s.bytes);
  out.counter("pilot_log_batches_total", "Group-commit batches the writer thread took.").add(s.batches);
  out.counter("pilot_log_fsyncs_total", "fdatasync calls on log segments.").add(s.fsyncs);
  const log::WriterHistograms& h = w.histograms();
  out.histogram("pilot_log_commit_latency_seconds",
                "From the first append of a group-commit chunk until it is durable (its replies may leave).")
      .add(h.commit_ns.data(), kNsPerSecond);
  out.histogram("pilot_log_fsync_duration_seconds", "Duration of each fdatasync of the log.")
      .add(h.fsync_ns.data(), kNsPerSecond);
  out.histogram("pilot_log_fsync_batch_records", "Records made durable by one fdatasync (group-commit batch size).")
      .add(h.batch_records.data());
}

void wal_size(const std::string& dir, Exposition& out) {
  namespace fs = std::filesystem;
  uint64_t bytes = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    uint64_t first_seq;
    if (!log::parse_segment_file_name(it->path().filename().string(), first_seq)) continue;
    const uint64_t size = it->file_size(ec);
    if (!ec) bytes += size;
    ec.clear();
  }
  out.gauge("pilot_wal_size_bytes", "Size of the log segment files (preallocated to the segment size).").add(bytes);
}

void leader(const repl::Leader& l, const log::Writer* w, Exposition& out) {
  const uint64_t acked = l.acked_seq();
  out.gauge("pilot_replication_followers", "Followers connected to this leader.").add(u64(l.followers()));
  out.gauge("pilot_replication_consumers",
            "Log consumers (standalone beacons) streaming from this leader; not followers, not counted for sync.")
      .add(u64(l.consumers()));
  out.gauge("pilot_replication_acked_seq", "Highest seq a follower acknowledged as durable.").add(acked);
  if (w) {
    const uint64_t durable = w->durable_seq();
    out.gauge("pilot_replication_follower_lag_records", "Durable records here that no follower has acknowledged.")
        .add(durable > acked ? durable - acked : 0);
  }
}

void beacon_engine(const beacon::Engine& e, Exposition& out) {
  const beacon::Counters c = e.counters();
  out.counter("pilot_beacon_relay_forwarded_total", "Relay frames handed on (local delivery or peer beacon).")
      .add(c.relay_forwarded);
  out.counter("pilot_beacon_relay_dropped_total", "Relay frames dropped (breaker open, or the send failed).")
      .add(c.relay_dropped);
  out.counter("pilot_beacon_relay_not_found_total", "Relay frames for a destination neither local nor routed.")
      .add(c.relay_not_found);
  out.counter("pilot_beacon_sent_total", "Beacon datagrams produced, by type (relays: see relay_forwarded).")
      .add({{"type", "discover_reply"}}, c.discover_replies)
      .add({{"type", "notify"}}, c.notifies_sent)
      .add({{"type", "punch_command"}}, c.punch_commands)
      .add({{"type", "sync"}}, c.syncs_sent);
  out.counter("pilot_beacon_syncs_received_total", "Gossip Syncs accepted from peer beacons.").add(c.syncs_received);
  out.counter("pilot_beacon_sync_routes_refused_total", "Gossip route ids not installed (route cap).")
      .add(c.sync_routes_refused);
  out.counter("pilot_beacon_recovered_total", "Exceptions caught around one datagram.").add(c.recovered);
  auto& drops = out.counter("pilot_beacon_dropped_total", "Beacon datagrams dropped, by reason.");
  for (size_t i = 0; i < beacon::kDropReasons; ++i)
    drops.add({{"reason", beacon::drop_label(static_cast<beacon::Drop>(i))}}, c.drops[i]);
  out.gauge("pilot_beacon_nodes", "Nodes in the beacon's table.").add(u64(e.nodes().size()));
}

void beacon_udp(const beacon::UdpServer& s, Exposition& out) {
  const beacon::UdpServer::Stats st = s.stats();
  out.counter("pilot_beacon_rx_datagrams_total", "UDP datagrams received by the beacon.").add(st.rx_datagrams);
  out.counter("pilot_beacon_rx_batches_total", "recvmmsg batches read by the beacon.").add(st.rx_batches);
  out.counter("pilot_beacon_tx_datagrams_total", "UDP datagrams sent by the beacon.").add(st.tx_datagrams);
}

// The WebSocket bridge (spec/beacon.md §10.3's metrics, and why connections closed).
void beacon_wss(const beacon::WssServer& s, Exposition& out) {
  const beacon::WssCounters k = s.counters();
  auto& upgrades = out.counter("pilot_beacon_wss_upgrades_total", "WebSocket upgrades on /v1/compat, by result.");
  upgrades.add({{"result", "ok"}}, k.upgrade_ok);
  upgrades.add({{"result", "fail"}}, k.upgrade_fail);
  auto& auths = out.counter("pilot_beacon_wss_auth_total", "WebSocket auth challenges answered, by result.");
  auths.add({{"result", "ok"}}, k.auth_ok);
  auths.add({{"result", "fail"}}, k.auth_fail);
  out.counter("pilot_beacon_wss_frames_in_total", "Beacon packets received over WebSocket.").add(k.frames_in);
  out.counter("pilot_beacon_wss_frames_out_total", "Relay deliveries written to WebSocket peers.").add(k.frames_out);
  auto& closes = out.counter("pilot_beacon_wss_disconnects_total", "WebSocket peers dropped, by reason.");
  closes.add({{"reason", "idle"}}, k.idle_disconnects);
  closes.add({{"reason", "protocol_error"}}, k.protocol_errors);
  closes.add({{"reason", "oversized"}}, k.oversized);
  closes.add({{"reason", "write_timeout"}}, k.write_timeouts);
  closes.add({{"reason", "replaced"}}, k.replaced);
  out.counter("pilot_beacon_wss_deliveries_refused_total", "Relay deliveries a WebSocket session could not take.")
      .add(k.deliveries_refused);
  out.counter("pilot_beacon_wss_http_requests_total", "HTTP requests on the WebSocket listener.").add(k.http_requests);
  out.gauge("pilot_beacon_wss_peers", "Authenticated WebSocket sessions.").add(k.active_peers);
  out.gauge("pilot_beacon_wss_read_buffer_bytes", "Read buffer held by WebSocket connections (bytes not parsed yet).")
      .add(k.read_buffer_bytes);
}

void snapshots(const SnapshotMetrics& s, Exposition& out) {
  out.counter("pilot_save_total", "Snapshots written (background and at shutdown).").add(s.written());
  out.counter("pilot_save_failures_total", "Snapshots that failed (the log still holds everything).").add(s.failed());
  out.gauge("pilot_save_last_unix_seconds", "When the last snapshot was written (0 = none since start).")
      .add(double(s.last_unix_ns()) / kNsPerSecond);
  out.histogram("pilot_save_duration_seconds", "Time to write one snapshot.").add(s.duration(), kNsPerSecond);
  out.gauge("pilot_snapshot_last_seq", "Log seq covered by the newest snapshot (0 = none).").add(s.last_seq());
}

}  // namespace

void SnapshotMetrics::record(const Snapshotter::Result& r, int64_t unix_ns) {
  if (!r.error.empty()) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  duration_ns_.observe(static_cast<uint64_t>(std::max(0.0, r.seconds) * kNsPerSecond));
  last_seq_.store(r.seq, std::memory_order_relaxed);
  last_unix_ns_.store(unix_ns, std::memory_order_relaxed);
  written_.fetch_add(1, std::memory_order_relaxed);
}

void append_loop_metrics(const MetricsSources& src, Exposition& out) {
  if (src.dispatcher) requests(*src.dispatcher, out);
  if (src.registry) {
    registry_state(*src.registry, src.max_network_series, src.online_cache, out);
    registry_counters(*src.registry, out);
    audit(src.registry->state(), out);
  }
  if (src.server) server(*src.server, out);
  if (src.loop_meter && src.loop_meter->running()) loop(*src.loop_meter, out);
  if (src.limiter) limiter(*src.limiter, out);
  if (src.writer) writer_loop_side(*src.writer, out);
  if (src.follower) follower(*src.follower, src.writer, out);
  if (src.sync) {
    out.gauge("pilot_replication_sync_degraded",
              "1 while sync replication has no follower ack within --sync-timeout (degraded to async, or refusing).")
        .add(uint64_t{src.sync->degraded()});
    out.gauge("pilot_replication_writes_refused", "1 while --sync-fallback=refuse refuses writes.")
        .add(uint64_t{src.sync->refusing()});
  }
}

void append_shared_metrics(const MetricsSources& src, Exposition& out) {
  out.gauge("pilot_uptime_seconds", "Seconds since the process started serving.")
      .add(std::chrono::duration<double>(std::chrono::steady_clock::now() - src.started).count());
  if (src.writer) writer_shared_side(*src.writer, out);
  if (!src.log_dir.empty()) wal_size(src.log_dir, out);
  if (src.leader) {
    leader(*src.leader, src.writer, out);
    out.gauge("pilot_replication_go_standbys", "Go standbys fed by subscribe_replication (spec §9.2).")
        .add(u64(src.go_standbys));
  }
  if (src.beacon) beacon_engine(*src.beacon, out);
  if (src.beacon_server) beacon_udp(*src.beacon_server, out);
  if (src.beacon_wss) beacon_wss(*src.beacon_wss, out);
  if (src.snapshots) snapshots(*src.snapshots, out);
  if (src.outbound)
    if (auto m = src.outbound()) outbound(*m, out);
}

std::string render_metrics(const MetricsSources& src) {
  Exposition out;
  append_loop_metrics(src, out);
  append_shared_metrics(src, out);
  return out.text();
}

std::optional<std::string> render_metrics(const MetricsSources& src, LoopBridge& bridge) {
  std::optional<std::string> text = bridge.call([&src] {
    Exposition out;
    append_loop_metrics(src, out);
    return out.text();
  });
  if (!text) return std::nullopt;
  Exposition shared;
  append_shared_metrics(src, shared);
  shared.append_to(*text);
  return text;
}

}  // namespace pilot::admin
