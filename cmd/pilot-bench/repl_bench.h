// `pilot-bench repl`: hot-standby replication between two real `rendezvous` processes
// on loopback (a leader with --repl-token, a follower with --follow), each on its own
// fresh data directory, --fsync always on both:
//
//   1. lag: open-loop signed registrations of new nodes on the leader (async mode) at
//      --rate per second; about 100 times a second the newest one the leader
//      acknowledged is looked up on the follower's registry port until it is there
//      (lag_probe.h). p50/p99/max of the lag, and the rate the leader sustained;
//   2. sync: durable registrations/s at --conns connections, closed loop, against a
//      --replication=sync pair and an async pair (both with a connected follower),
//      in alternating short runs (A B B A …, so a drifting machine hits both alike);
//      the ratio of the means;
//   3. catchup: a leader on an offline-written --records-event log (the log bench's
//      event mix, generated_log.h), then an empty follower: the time until its durable
//      seq (GET /api/admin/replication-status) reaches the leader's, as records/s and
//      MB/s, next to replay_log's rate on the same log in this run (scan + decode +
//      apply with no writes: the ceiling of what the follower does, which also appends
//      and fsyncs each record).
//
// The report is a table on stdout; progress goes to stderr. The exit status is 0 when
// every part ran and 1 otherwise. The issue sets no target for these figures (its one
// target, failover time, is measured by the keepalived test).
#pragma once

namespace pilot::bench {

// argv[first..] are the flags after `repl`.
int run_repl_bench(int argc, char** argv, int first);

}  // namespace pilot::bench
