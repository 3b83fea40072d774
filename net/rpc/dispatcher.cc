#include "net/rpc/dispatcher.h"

#include <chrono>
#include <exception>

#include "core/logging.h"
#include "net/rpc/fields.h"
#include "net/rpc/go_json.h"
#include "net/rpc/ops_directory.h"

namespace pilot::rpc {

namespace {

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Ops of the spec's standby list that a follower still refuses. poll_handshakes drains
// the inbox, and draining is an event: a follower's log takes only the leader's
// records, and answering without draining would hand the same requests out again
// from the leader. Daemons poll their configured address (the leader, or the VIP).
bool refused_on_follower(std::string_view type) { return type == "poll_handshakes"; }

// Go's %q for the unknown-type message (only the log sees it: the sanitiser hides it).
std::string go_quote(std::string_view s) { return gojson::dump(nlohmann::json(std::string(s)), false); }

}  // namespace

Dispatcher::Dispatcher(Registry& reg) : reg_(reg), ops_(all_ops()) {}

std::string Dispatcher::rate_limited_json() {
  return gojson::dump(nlohmann::json{{"type", "error"}, {"error", "rate limited"}, {"retry_after_ms", 1000}});
}

Dispatcher::OpStats& Dispatcher::stats_for(std::string_view type) {
  if (auto it = stats_.find(type); it != stats_.end()) return it->second;
  if (stats_.size() >= kMaxTypeLabels) return stats_["other"];
  return stats_[std::string(type.substr(0, 64))];
}

std::optional<std::string> Dispatcher::handle_json(std::string_view body, const Peer& peer) {
  nlohmann::json req = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!req.is_object()) return std::nullopt;
  return handle_parsed(req, peer);
}

std::string Dispatcher::handle_parsed(const nlohmann::json& req, const Peer& peer) {
  const nlohmann::json* t = field(req, "type");
  static const std::string kNone;
  return dispatch(t && t->is_string() ? t->get_ref<const std::string&>() : kNone, req, peer);
}

std::optional<Dispatcher::PreVerify> Dispatcher::pre_verify(const nlohmann::json& req) const {
  const nlohmann::json* t = field(req, "type");
  if (!t || !t->is_string() || t->get_ref<const std::string&>() != "register") return std::nullopt;
  const std::string pub = str_field(req, "public_key");
  auto key = decode_public_key(pub);
  auto sig = decode_signature(str_field(req, "signature"));
  if (!key || !sig) return std::nullopt;  // the handler reports the error
  return PreVerify{*key, "register:" + str_field(req, "listen_addr") + ":" + pub, *sig};
}

std::string Dispatcher::dispatch(std::string_view type, const nlohmann::json& body, const Peer& peer) {
  const int64_t start = mono_ns();
  OpStats& st = stats_for(type);
  ++st.requests;
  std::string error;
  std::string out;
  const OpSpec* op = ops_.find(type);
  if (reg_.standby() && (!op || !op->standby_ok || refused_on_follower(type))) {
    error = kStandbyError;  // §3.2: the standby gate comes before the unknown-type check
  } else if (!op) {
    error = "unknown message type: " + go_quote(type);
  } else if (auto denied = breakers_ && !op->breaker.empty() ? breakers_->deny(op->breaker) : std::nullopt) {
    error = *denied;
  } else {
    try {
      nlohmann::json resp = op->handler(reg_, Request{type, body, peer});
      if (!resp.contains("type")) resp["type"] = std::string(type);  // §2.3: never answer without a type
      out = gojson::dump(resp);
    } catch (const OpError& e) {
      error = e.what();
    } catch (const std::exception& e) {
      // The reference recovers handler panics; a bug here must not take the server down.
      ++recovered_panics_;
      LOG_ERROR("op %s: internal error: %s", std::string(type).c_str(), e.what());
      error = "internal error";
    }
  }
  if (!error.empty()) {
    ++st.errors;
    LOG_DEBUG("op %s from %s: %s", std::string(type).c_str(), peer.ip.c_str(), error.c_str());
    out = gojson::error_response(error);
  }
  st.record_latency(mono_ns() - start);
  return out;
}

void Dispatcher::handle_binary(wire::MsgType type, std::string_view payload, const Peer& peer, std::string& out) {
  using wire::MsgType;
  auto error = [&](std::string_view msg) { out += wire::binary_frame(MsgType::kError, wire::encode_error(msg)); };
  switch (type) {
    case MsgType::kJson: {
      nlohmann::json req = nlohmann::json::parse(payload, nullptr, false);
      if (!req.is_object()) {
        error(req.is_discarded() ? "json decode: invalid JSON" : "json decode: not a JSON object");
        return;
      }
      const nlohmann::json* t = field(req, "type");
      std::string op = t && t->is_string() ? t->get<std::string>() : std::string();
      if (op == "subscribe_replication") {
        error("replication not supported over binary protocol");
        return;
      }
      out += wire::binary_frame(MsgType::kJson, dispatch(op, req, peer));
      return;
    }
    case MsgType::kHeartbeat:
    case MsgType::kLookup:
    case MsgType::kResolve: {
      const char* label = type == MsgType::kHeartbeat ? "heartbeat" : type == MsgType::kLookup ? "lookup" : "resolve";
      const int64_t start = mono_ns();
      OpStats& st = stats_for(label);
      ++st.requests;
      std::string err;
      const char* breaker = type == MsgType::kHeartbeat ? "registry.heartbeat" : "registry.resolve";
      try {
        if (auto denied = breakers_ ? breakers_->deny(breaker) : std::nullopt) {
          err = *denied;
        } else if (type == MsgType::kHeartbeat) {
          auto r = wire::decode_heartbeat_request(payload, err);
          if (r) {
            auto ok = heartbeat(reg_, r->node_id, r->signature, std::nullopt, /*binary=*/true);
            out += wire::binary_frame(MsgType::kHeartbeatResponse,
                                      wire::encode(wire::HeartbeatResponse{ok.time, ok.key_expiry_warning}));
          }
        } else if (type == MsgType::kLookup) {
          auto r = wire::decode_lookup_request(payload, err);
          if (r) out += wire::binary_frame(MsgType::kLookupResponse, wire::encode(binary_lookup(reg_, r->node_id)));
        } else {
          auto r = wire::decode_resolve_request(payload, err);
          if (r)
            out += wire::binary_frame(MsgType::kResolveResponse,
                                      wire::encode(binary_resolve(reg_, r->node_id, r->requester_id, r->signature)));
        }
      } catch (const OpError& e) {
        err = e.what();
      } catch (const std::exception& e) {
        ++recovered_panics_;
        LOG_ERROR("binary %s: internal error: %s", label, e.what());
        err = "internal error";
      }
      if (!err.empty()) {
        ++st.errors;
        error(err);
      }
      st.record_latency(mono_ns() - start);
      return;
    }
    default: {
      char msg[40];
      std::snprintf(msg, sizeof msg, "unknown message type 0x%02x", static_cast<unsigned>(type));
      error(msg);
      return;
    }
  }
}

}  // namespace pilot::rpc
