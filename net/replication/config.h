// What an operator chooses about replication, and the flags that choose it
// (README.md of this folder has the table). A process is one of:
//   leader    the default when --repl-token is set: listens on --repl-addr for
//             followers and streams its log to them;
//   follower  --follow HOST:PORT: takes the leader's log, serves the read ops of the
//             spec's standby list, refuses writes; `rendezvous promote` makes it a
//             leader (with --repl-token it then listens on --repl-addr, and
//             --replication applies);
//   alone     no token: no replication listener at all (so several test servers on
//             one machine never fight over :9100).
#pragma once

#include <cstdint>
#include <string>

#include "core/flags.h"

namespace pilot::repl {

struct ReplicationConfig {
  std::string listen_addr = ":9100";                   // --repl-addr
  std::string token;                                   // --repl-token, PILOT_REPL_TOKEN
  std::string follow;                                  // --follow HOST:PORT
  std::string mode = "async";                          // --replication: async | sync
  int64_t sync_timeout_ns = int64_t{2} * 1000000000;   // --sync-timeout
  std::string sync_fallback = "async";                 // --sync-fallback: async | refuse
  int64_t send_timeout_ns = int64_t{10} * 1000000000;  // --repl-send-timeout
  uint64_t max_followers = 4;                          // --repl-max-followers

  bool is_follower() const { return !follow.empty(); }
  bool is_leader() const { return follow.empty() && !token.empty(); }
  bool sync() const { return mode == "sync"; }
  bool sync_refuses() const { return sync_fallback == "refuse"; }
};

void add_replication_flags(Flags& flags, ReplicationConfig& cfg);
// "" if the values make sense, else the message for stderr.
std::string check_replication_flags(const ReplicationConfig& cfg);

}  // namespace pilot::repl
