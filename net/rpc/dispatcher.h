// From a decoded frame to the reply bytes (spec §3.2): op lookup, the handler, the
// error sanitiser, request metrics. Binary heartbeat/lookup/resolve frames run the same
// business logic as their JSON ops. Loop thread only; no sockets here.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/histogram.h"
#include "net/rpc/breakers.h"
#include "net/rpc/ops.h"
#include "net/rpc/registry.h"
#include "net/rpc/wire.h"

namespace pilot::rpc {

class Dispatcher {
 public:
  explicit Dispatcher(Registry& reg);
  // Consulted before each op with a breaker name (spec §15); null = none (tests).
  void set_breakers(Breakers* b) { breakers_ = b; }

  // A JSON-mode request body → the response body. nullopt: the body is not a JSON
  // object, and the connection must be closed without a reply (§2.3).
  std::optional<std::string> handle_json(std::string_view body, const Peer& peer);

  // The same, for a body the caller already parsed (an object).
  std::string handle_parsed(const nlohmann::json& req, const Peer& peer);

  // A signature check that can run before dispatch, off the loop thread: the
  // (key, challenge, signature) of a request whose handler will verify exactly that
  // (today: signed `register`, the only hot op whose verify cannot be skipped). The
  // server verifies it on a worker thread and records success in the verify memo, so
  // the handler's own verify is a memo hit. If the state changed meanwhile (another
  // key), the handler simply verifies again: correctness never depends on this.
  struct PreVerify {
    PublicKey key{};
    std::string challenge;
    Signature sig{};
  };
  std::optional<PreVerify> pre_verify(const nlohmann::json& req) const;

  // One binary-mode frame → the reply frame, appended to `out` (§2.4).
  void handle_binary(wire::MsgType type, std::string_view payload, const Peer& peer, std::string& out);

  // The reply to a request the rate limiter denied (§3.1).
  static std::string rate_limited_json();

  // Bucket bounds of pilot_request_duration_seconds (spec §11), in ns.
  static constexpr std::array<uint64_t, 13> kDurationBoundsNs{
      100'000,    250'000,    500'000,     1'000'000,   2'500'000,   5'000'000,    10'000'000,
      25'000'000, 50'000'000, 100'000'000, 250'000'000, 500'000'000, 1'000'000'000};
  struct OpStats {
    uint64_t requests = 0;
    uint64_t errors = 0;
    uint64_t latency_ns = 0;  // summed
    Histogram duration{kDurationBoundsNs};
    void record_latency(uint64_t ns) {
      latency_ns += ns;
      duration.observe(ns);
    }
  };
  // Keyed by request type; unknown types are counted under their own name, truncated
  // (bounded: at most kMaxTypeLabels distinct labels, the rest under "other").
  const std::map<std::string, OpStats, std::less<>>& stats() const { return stats_; }
  uint64_t recovered_panics() const { return recovered_panics_; }
  Registry& registry() { return reg_; }

 private:
  static constexpr size_t kMaxTypeLabels = 256;
  std::string dispatch(std::string_view type, const nlohmann::json& body, const Peer& peer);
  OpStats& stats_for(std::string_view type);

  Registry& reg_;
  OpTable ops_;
  Breakers* breakers_ = nullptr;
  std::map<std::string, OpStats, std::less<>> stats_;
  uint64_t recovered_panics_ = 0;
};

}  // namespace pilot::rpc
