#include "net/rpc/service.h"

#include <cstdlib>

#include "core/logging.h"
#include "net/rpc/reaper.h"

namespace pilot::rpc {

void add_registry_flags(Flags& f, ServiceOptions& o, const char* listen_flag) {
  f.add_string(&o.server.listen_addr, listen_flag, nullptr, "registry TCP listen address (host:port, :port = all)");
  f.add_string(&o.registry.admin_token, "admin-token", "PILOT_ADMIN_TOKEN",
               "global admin token (admin ops, network creation); empty disables them");
  f.add_bool(&o.registry.strict_directory_auth, "strict-directory-auth", "RENDEZVOUS_STRICT_DIRECTORY_AUTH",
             "lookups of private nodes, listings, resolve_hostname, punch and check_trust need a signed requester");
  f.add_bool(&o.registry.strict_registration_auth, "strict-registration-auth", "RENDEZVOUS_STRICT_REGISTRATION_AUTH",
             "register must carry a valid signature");
  f.add_bool(&o.registry.strict_heartbeat_freshness, "strict-heartbeat-freshness",
             "RENDEZVOUS_STRICT_HEARTBEAT_FRESHNESS",
             "JSON heartbeats must sign a timestamp within 60 s; binary heartbeats refused");
  f.add_bool(&o.registry.strict_expiry_binding, "strict-expiry-binding", "RENDEZVOUS_STRICT_EXPIRY_BINDING",
             "set_key_expiry signatures must cover the expiry value");
  f.add_duration(&o.registry.stale_threshold_ns, "stale-threshold", nullptr,
                 "nodes silent this long are expired by the reaper");
  f.add_duration(&o.reap_interval_ns, "reap-interval", nullptr, "how often the reaper runs");
  f.add_duration(&o.server.idle_timeout_ns, "idle-timeout", nullptr,
                 "close a registry connection after this long without a request");
  f.add_uint(&o.server.max_connections, "max-connections", nullptr, "registry connections beyond this are closed");
}

void apply_registry_env(ServiceOptions& o) {
  if (const char* v = std::getenv("PILOT_REGISTRY_NORATELIMIT"); v && std::string(v) == "1") o.limits.enabled = false;
}

RegistryService::RegistryService(uv_loop_t* loop, State& state, log::Writer* writer, ServiceOptions opts)
    : loop_(loop),
      opts_(std::move(opts)),
      registry_(state, writer, opts_.registry),
      dispatcher_(registry_),
      limiter_(opts_.limits),
      breakers_(opts_.breakers_path),
      server_(loop, dispatcher_, writer, &limiter_, opts_.server) {
  if (!opts_.whitelist_path.empty()) whitelist_ = std::make_unique<WhitelistFile>(opts_.whitelist_path);
  registry_.set_standby(opts_.standby);
  dispatcher_.set_breakers(&breakers_);
}

RegistryService::~RegistryService() = default;

bool RegistryService::start(std::string& error) {
  if (opts_.server.idle_timeout_ns <= 0 || opts_.reap_interval_ns <= 0) {
    error = "--idle-timeout and --reap-interval must be positive";
    return false;
  }
  if (!server_.listen(error)) return false;
  LOG_INFO("registry: listening on %s (rate limits %s%s)", server_.bound_address().c_str(),
           opts_.limits.enabled ? "on" : "off (PILOT_REGISTRY_NORATELIMIT=1)",
           opts_.standby ? "; standby: read ops only" : "");
  uv_timer_init(loop_, &reap_timer_);
  reap_timer_.data = this;
  const uint64_t reap_ms = std::max<uint64_t>(1, uint64_t(opts_.reap_interval_ns / 1000000));
  uv_timer_start(
      &reap_timer_,
      [](uv_timer_t* t) {
        auto* s = static_cast<RegistryService*>(t->data);
        // Expiry is a write: the leader's reaper decides it and the follower replays it.
        if (s->registry_.standby() || !s->registry_.write_refusal().empty()) return;
        if (size_t n = reap_stale_nodes(s->registry_))
          LOG_INFO("reaper: expired %zu nodes silent for more than %lld s", n,
                   (long long)(s->opts_.registry.stale_threshold_ns / 1000000000));
      },
      reap_ms, reap_ms);
  uv_timer_init(loop_, &config_timer_);
  config_timer_.data = this;
  auto poll = [](uv_timer_t* t) {
    auto* s = static_cast<RegistryService*>(t->data);
    if (s->whitelist_) {
      std::string msg;
      if (s->whitelist_->poll(msg)) s->limiter_.set_whitelist(s->whitelist_->current());
      if (!msg.empty()) LOG_INFO("rate-limit whitelist: %s", msg.c_str());
    }
    s->breakers_.reload();  // logs what it finds
  };
  poll(&config_timer_);
  uv_timer_start(&config_timer_, poll, 2000, 2000);
  timers_started_ = true;
  return true;
}

void RegistryService::shutdown(uint64_t grace_ms, std::function<void()> done) {
  if (timers_started_) {
    timers_started_ = false;
    uv_timer_stop(&reap_timer_);
    uv_timer_stop(&config_timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&reap_timer_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&config_timer_), nullptr);
  }
  server_.shutdown(grace_ms, std::move(done));
}

}  // namespace pilot::rpc
