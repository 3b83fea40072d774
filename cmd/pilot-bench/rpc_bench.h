// `pilot-bench rpc`: requests/s and latency of the real `rendezvous` binary on its
// registry port, each next to the raw loopback request/response rate measured in the
// same run by the same client:
//
//   1. raw limit: an in-bench echo server (one epoll thread) answering each
//      length-prefixed frame with a 45-byte frame;
//   2. signed heartbeats, JSON and binary (PILT 0x01);
//   3. lookups (JSON, binary 0x02) and signed resolves (JSON, binary 0x03) of public nodes;
//   4. new registrations, durable (--fsync always: the reply waits for fdatasync), each
//      with a fresh key and a signature;
//   5. the server's VmRSS after registering --rss-nodes nodes;
//   6. (admin) JSON heartbeats at 64 connections on a server with the admin HTTP server
//      on and --admin-nodes nodes, alone and with 50 GETs/s of /api/dashboard, /metrics
//      and /api/stats (admin_poll.h): runs seconds apart, then one long run with the
//      GETs on and off in turns of a second, whose ratio of the two rates is judged;
//      and the server CPU each GET costs with no RPC load.
//
// Each with 1, 64 and 1024 connections (closed loop, --depth requests in flight per
// connection), once more with --deep-depth requests in flight, and open loop at 1024
// connections at half the measured peak (the p99 target). The server runs as a child
// process on a fresh data directory; the client is one epoll thread.
//
// The report is a table on stdout; progress goes to stderr. The exit status is 0 when
// every part ran (a missed target is reported, not an error) and 1 otherwise.
#pragma once

namespace pilot::bench {

// argv[first..] are the flags after `rpc`.
int run_rpc_bench(int argc, char** argv, int first);

}  // namespace pilot::bench
