// The registry's business context: what every op handler works with.
//
// A handler runs on the loop thread. It reads the projections (`state()`), checks the
// request (signatures, tokens, rules), and records every decision as an event through
// `emit()`, which appends to the log and applies the event to the projections at once
// — so the next request, even on the same connection, sees it. The reply is held by
// the connection until the log says the event is durable (ARCHITECTURE.md §3); the
// handler does not wait.
//
// Liveness (last heartbeat, the heartbeat verify skip window, the register signature
// ratchet) is not state: it lives here, in memory, and is never logged.
//
// Readers on other threads. The projections belong to the loop thread, which reads
// them without locks. The one exception is the embedded beacon's policy
// (net/beacon/log_policy.h), whose reader threads look up keys, trust and memberships:
// they hold state_mutex() shared, and every apply holds it exclusively — emit() here
// and the follower's Applier (given this same mutex by cmd/host). The loop thread
// never takes it shared, so there is one lock and no order to get wrong.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/ed25519.h"
#include "core/events.h"
#include "core/rw_mutex.h"
#include "net/rpc/liveness.h"
#include "net/rpc/verify_cache.h"
#include "projections/state.h"

namespace pilot::log {
class Writer;
}

namespace pilot::rpc {

class OutboundStatus;  // net/rpc/outbound_status.h

struct RegistryOptions {
  std::string admin_token;  // global admin token; empty = admin ops disabled
  std::string beacon_addr;  // handed out as the endpoint of relay-only nodes
  bool strict_directory_auth = false;
  bool strict_registration_auth = false;
  bool strict_heartbeat_freshness = false;
  bool strict_expiry_binding = false;
  int64_t stale_threshold_ns = int64_t{30} * 60 * 1000000000;  // reaper (spec §16)
  size_t max_live_nodes = 1000000;                             // "registry full"
  int64_t beacon_ttl_ns = int64_t{60} * 1000000000;            // beacon_list window
  int64_t beacon_cooldown_ns = int64_t{5} * 1000000000;        // same beacon_id re-register
};

// The spec's standby error (§3.2); the sanitiser turns it into "request failed".
inline constexpr const char* kStandbyError = "standby mode: write operations not accepted (use primary)";

// An error for the client. The dispatcher passes the text through the reference's
// sanitiser (spec §3.2) before it goes on the wire.
struct OpError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The TCP peer of the request (listen-address sanitising needs it).
struct Peer {
  std::string ip;  // textual, without brackets or zone
  uint16_t port = 0;
  bool v6 = false;
};

class Registry {
 public:
  using Clock = std::function<int64_t()>;  // unix nanoseconds
  // `writer` may be null: events are then applied but not logged (unit tests of
  // handlers that do not care about durability).
  Registry(State& state, log::Writer* writer, RegistryOptions opts, Clock clock = {});

  const State& state() const { return state_; }
  const RegistryOptions& options() const { return opts_; }
  RegistryOptions& mutable_options() { return opts_; }
  int64_t now_ns() const { return clock_ ? clock_() : system_now_ns(); }
  int64_t now_s() const { return now_ns() / 1000000000; }

  // Held exclusively around every apply to state(); readers on other threads hold it
  // shared (see the top of this file).
  RwMutex& state_mutex() const { return state_mu_; }

  // Appends `e` to the log and applies it to the projections; returns its seq.
  // On a follower it throws OpError(kStandbyError) instead: a follower's log holds
  // only the leader's records, and one local event would fork it. While a write
  // refusal is set it throws OpError(that text).
  uint64_t emit(const Event& e);

  // A follower (rendezvous --follow) serves reads from the replicated state: the
  // dispatcher refuses the other ops, the reaper does not run, emit refuses.
  bool standby() const { return standby_; }
  void set_standby(bool s) { standby_ = s; }
  // Writes refused on a leader for a while, with this reason ("" = accepted): sync
  // replication with --sync-fallback=refuse and no follower acknowledging. The reaper
  // waits too (expiry is a write).
  void set_write_refusal(std::string why) { refusal_ = std::move(why); }
  const std::string& write_refusal() const { return refusal_; }
  // Writes refused so far. The server compares it around a request: a refused write's
  // reply shows no state, so it need not wait for the log or a follower.
  uint64_t write_refusals() const { return refusals_; }
  // The highest seq a reply must wait for: everything this request could have seen.
  uint64_t visible_seq() const;

  Liveness& liveness() { return live_; }
  const Liveness& liveness() const { return live_; }
  // Ed25519 verify with the success memo of spec §4.2 step 5.
  bool verify(const PublicKey& key, std::string_view challenge, const Signature& sig);
  VerifyCache& verify_cache() { return cache_; }
  const VerifyCache& verify_cache() const { return cache_; }

  // The webhook / audit-export side as the ops see it (net/rpc/outbound_status.h);
  // attached by the host, null when nothing delivers (registry fixture, follower).
  const OutboundStatus* outbound() const { return outbound_; }
  void set_outbound(const OutboundStatus* o) { outbound_ = o; }

  // Counters for metrics (the admin issue exposes them).
  struct Counters {
    uint64_t registrations = 0;
    uint64_t reaped = 0;
    uint64_t key_rotations = 0;
    uint64_t trust_reports = 0;
    uint64_t deregistrations = 0;  // deregister requests that removed a node
    uint64_t trust_revocations = 0;
    uint64_t handshake_requests = 0;  // delivered to an inbox
    // Signature checks by outcome: verify() (a memo hit counts as ok) and the
    // heartbeat's own checks; a heartbeat inside its skip window checks nothing.
    uint64_t signatures_ok = 0;
    uint64_t signatures_failed = 0;
  };
  Counters& counters() { return counters_; }
  const Counters& counters() const { return counters_; }

  static int64_t system_now_ns();

 private:
  State& state_;
  mutable RwMutex state_mu_;
  log::Writer* writer_;
  RegistryOptions opts_;
  Clock clock_;
  Liveness live_;
  VerifyCache cache_;
  Counters counters_;
  bool standby_ = false;
  std::string refusal_;
  uint64_t refusals_ = 0;
  const OutboundStatus* outbound_ = nullptr;
};

}  // namespace pilot::rpc
