// `rendezvous promote`: tells a running rendezvous — a follower — to become the leader
// of a new term, through its admin HTTP server (POST /api/admin/promote with the admin
// token in X-Admin-Token). What keepalived's notify script runs on the node that took
// the virtual IP, or an operator by hand (net/replication/README.md, "Failover").
//
// Exit codes: 0 promoted; 1 the server refused (already a leader, fenced, bad token —
// its message is printed); 2 bad arguments; 3 no answer (nothing listening, timeout).
#pragma once

namespace pilot {

// argv[0] is "promote".
int run_promote_command(int argc, char** argv);

}  // namespace pilot
