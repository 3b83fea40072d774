// From a decoded frame to the reply bytes (spec §3.2): op lookup, the handler, the
// error sanitiser, request metrics. Binary heartbeat/lookup/resolve frames run the same
// business logic as their JSON ops. Loop thread only; no sockets here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "net/rpc/ops.h"
#include "net/rpc/registry.h"
#include "net/rpc/wire.h"

namespace pilot::rpc {

class Dispatcher {
 public:
  explicit Dispatcher(Registry& reg);

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

  struct OpStats {
    uint64_t requests = 0;
    uint64_t errors = 0;
    uint64_t latency_ns = 0;  // summed
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
  std::map<std::string, OpStats, std::less<>> stats_;
  uint64_t recovered_panics_ = 0;
};

}  // namespace pilot::rpc
