#include "net/replication/config.h"

#include "net/rpc/listen_addr.h"

namespace pilot::repl {

void add_replication_flags(Flags& f, ReplicationConfig& c) {
  f.add_string(&c.listen_addr, "repl-addr", nullptr,
               "replication listener of a leader (host:port, :port = all); only with a token");
  f.add_string(&c.token, "repl-token", "PILOT_REPL_TOKEN",
               "replication token: a leader listens for followers only when set; a follower presents it");
  f.add_string(&c.follow, "follow", nullptr,
               "run as a follower of the leader's replication listener at HOST:PORT (read ops only)");
  f.add_string(&c.mode, "replication", nullptr,
               "async (reply after the local fsync) or sync (also after a follower's ack, see --sync-timeout; on a "
               "follower: once promoted)");
  f.add_duration(&c.sync_timeout_ns, "sync-timeout", nullptr,
                 "sync mode: a reply waits this long for a follower's ack, then --sync-fallback applies");
  f.add_string(&c.sync_fallback, "sync-fallback", nullptr,
               "sync mode, no follower ack within --sync-timeout: async (degrade: replies after the local fsync, "
               "WARN) or refuse (new writes refused at once, replies to unacknowledged ones held until a follower "
               "catches up, "
               "ERROR)");
  f.add_duration(&c.send_timeout_ns, "repl-send-timeout", nullptr,
                 "a follower that takes no bytes for this long is dropped");
  f.add_uint(&c.max_followers, "repl-max-followers", nullptr, "followers served at once");
}

std::string check_replication_flags(const ReplicationConfig& c) {
  if (c.mode != "async" && c.mode != "sync") return "--replication must be async or sync";
  if (c.sync_fallback != "async" && c.sync_fallback != "refuse") return "--sync-fallback must be async or refuse";
  if (c.is_follower() && c.token.empty()) return "--follow needs --repl-token (or PILOT_REPL_TOKEN)";
  if (c.is_follower()) {
    auto hp = rpc::split_host_port(c.follow);
    if (!hp || hp->port.empty()) return "--follow \"" + c.follow + "\" is not HOST:PORT";
  }
  // A follower may be configured sync too: it takes effect once it is promoted.
  if (c.sync() && c.token.empty()) return "--replication=sync needs --repl-token (a leader, or a follower to promote)";
  if (c.sync_timeout_ns <= 0 || c.send_timeout_ns <= 0)
    return "--sync-timeout and --repl-send-timeout must be positive";
  if (c.max_followers < 1) return "--repl-max-followers must be at least 1";
  return "";
}

}  // namespace pilot::repl
