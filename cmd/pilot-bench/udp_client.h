// The load side of `pilot-bench beacon`: one thread (or a few, each with its share of
// the flows) driving many UDP sockets on loopback. A run is a set of flows; flow f
// sends datagrams from socket tx[f] to one server address, each built from the flow's number and a sequence number, and
// the datagrams that come back on the receive sockets are credited to a flow by the caller's classifier (which also
// reads the sequence number back, when there is one). The same runner drives the beacon and the raw servers
// (udp_echo.h), so the two are compared through one client.
//
//   closed loop  window > 0: at most `window` datagrams of a flow in flight (sent and
//                not yet credited back); a flow with nothing back for `stall_ms` is
//                given its window again (what it had in flight counts as lost: UDP
//                drops, a refused Discover has no reply).
//   open loop    window == 0: `rate` datagrams/s over all flows, in round robin from
//                the intended schedule (a late client catches up in batches), for a
//                bounded time; the drop rate is sent vs received once the run drained.
//
// Both keep a per-flow budget (`per_flow_rate`, a token bucket with a 32-datagram
// burst) when asked: the beacon's relay limiter allows 4000 relays/s per source, and
// the bench stays under it honestly instead of switching it off.
//
// Order: when the classifier returns a sequence number, a datagram with a lower one
// than the flow's highest so far counts as reordered (a repeat of the highest as a
// duplicate). Each destination is fed by exactly one flow, so this is the order per
// destination.
#pragma once

#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace pilot::bench {

struct Credit {
  int64_t flow = -1;  // < 0: not a flow's datagram
  bool has_seq = false;
  uint64_t seq = 0;
  bool extra = false;  // not a flow's reply, but counted (PunchCommand to the target)
};

struct UdpRun {
  std::vector<int> tx;  // per flow: the socket it sends from
  sockaddr_in to{};     // the server
  // Writes flow f's datagram number `seq` into `buf` (at least 2048 bytes); its length.
  std::function<size_t(size_t flow, uint64_t seq, char* buf)> build;
  std::vector<int> rx;  // sockets to read (may be the tx sockets); rx[i] belongs to flow i mod flows
  std::function<Credit(size_t rx_index, std::string_view datagram)> classify;

  // Client threads: the flows are split among them, each reading the receive sockets
  // of its flows (an open-loop rate is split in proportion).
  size_t threads = 1;
  size_t window = 0;         // closed loop (> 0) or open loop (0)
  double rate = 0;           // open loop: datagrams/s over all flows
  double per_flow_rate = 0;  // datagrams/s per flow at most (0 = unbounded)
  // Datagrams per flow at most (empty = unbounded); the run ends early (and drains)
  // once every flow has sent its count: `seconds` is then a time cap.
  std::vector<uint64_t> limits;
  double seconds = 1, warmup_s = 0.2;
  double drain_s = 0.2;  // after the last send: late datagrams still count
  int stall_ms = 20;     // closed loop: a flow silent this long gets its window back
  // Extra CPU clocks read at the edges of the measured window (the server's).
  std::function<double()> server_cpu;
};

struct UdpRunResult {
  // In the measured window (after the warm-up):
  double seconds = 0;
  uint64_t sent = 0, received = 0, extra = 0;
  double sent_rate = 0, rate = 0, extra_rate = 0;  // per second
  double client_cores = 0, server_cores = 0, other_cores = 0;
  // Over the whole run, after the drain:
  uint64_t total_sent = 0, total_received = 0, send_refused = 0;
  uint64_t reordered = 0, duplicates = 0, stalls = 0;
  double drop_share() const {
    return total_sent ? double(total_sent - std::min(total_sent, total_received)) / double(total_sent) : 0;
  }
  bool open_loop_fell_behind = false;  // could not send at the asked rate
};

UdpRunResult run_udp(const UdpRun& run);

}  // namespace pilot::bench
