// `pilot-bench beacon`: the real standalone `beacon` binary (cmd/beacon) as a child
// process on 127.0.0.1, next to the raw UDP data path of the same machine
// (udp_echo.h), both driven by one client (udp_client.h) in one run:
//
//   1. discover: Discover 0x01 from --sockets sockets, each its own node id (the first
//      registers it, the rest are keepalives from the same endpoint: always answered),
//      closed loop; DiscoverReply 0x02/s against the raw echo's replies/s.
//      Target: ≥ 80% of the echo.
//   2. relay: --sockets sender and --sockets receiver sockets, each id registered once
//      by a Discover from its own socket; sender i relays (0x05) to receiver i, which
//      gets RelayDeliver 0x06. 64- and 1400-byte payloads carrying a run tag and a
//      sequence number: closed-loop maximum (packets/s, Gbit/s of payload) against a
//      raw recvmmsg → sendmmsg forwarder reading the same datagrams; then open loop at
//      25%, 50% and 100% of the beacon's maximum for a bounded time: sent vs received
//      (the drop rate) and the datagrams that arrived behind a later one of the same
//      destination (reordered; must be 0). Target: ≥ 70% of the forwarder's packets/s.
//      Each sender stays under the beacon's relay budget (4000/s per source, which no
//      flag switches off) by a 3500/s token bucket in the client.
//   3. punch: PunchRequest 0x03 from sender i for receiver i; PunchCommand 0x04 to both
//      sides, closed loop. The beacon runs with -punch-whitelist 127.0.0.1 (the punch
//      limits would otherwise allow 10/s in all).
//   4. rss: a fresh beacon, --nodes ids registered by one Discover each (the node table
//      is capped per shard at -max-nodes ÷ 64, so a few ids of a full shard may be
//      refused: the beacon's own node count is reported); VmRSS and VmHWM.
//      Target: 500,000 nodes in ≤ 256 MiB.
//
// On 2 cores the client (--client-threads, default 1) and the server share the CPUs; the
// "server ns/op" column (server CPU per reply or delivered relay) compares beacon and raw
// when the client, not the server, sets the rate. A run during which the rest of the
// machine was busy is measured again (machine_noise.h).
//
// The report is a table on stdout; progress goes to stderr. The exit status is 0 when
// every part ran (a missed target is reported, not an error) and 1 otherwise.
#pragma once

namespace pilot::bench {

// argv[first..] are the flags after `beacon`.
int run_beacon_bench(int argc, char** argv, int first);

}  // namespace pilot::bench
