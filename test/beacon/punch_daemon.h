// Daemons for tests of a beacon whose policy comes from a registry (the embedded beacon
// in rendezvous, the standalone beacon fed by a leader's log): an identity registered
// over the registry port, a UDP socket registered by Discover at the beacon, and the
// punch check both kinds of test make.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/ed25519.h"
#include "net/beacon/messages.h"
#include "net/rpc/client.h"
#include "test/beacon/udp_client.h"
#include "test/support/registry_fixture.h"

namespace pilot::beacon::testing {

using namespace std::chrono_literals;

// The reply to `req`, expected to be of `type`.
inline nlohmann::json ok(rpc::Client& c, const nlohmann::json& req, const std::string& type) {
  nlohmann::json r = c.call(req);
  EXPECT_EQ(r.value("type", ""), type) << "request " << req.dump() << "\nresponse " << r.dump();
  return r;
}

struct Daemon {
  rpc::Identity id;
  uint32_t node_id = 0;
  UdpClient udp;
};

// Registers `n` at the registry (listen address 127.0.0.1:4000; again = a refresh, same
// id) and its socket at the beacon (Discover, no key trailer; the reply names the socket).
inline void register_at_both(testsupport::Registry& reg, Daemon& n, const Endpoint& beacon) {
  auto c = reg.client();
  n.node_id = ok(c, n.id.register_req("127.0.0.1:4000"), "register_ok").value("node_id", 0u);
  ASSERT_NE(n.node_id, 0u);
  for (int attempt = 0; attempt < 5; ++attempt) {
    n.udp.send_to(beacon, encode(Discover{n.node_id, false, {}}));
    if (auto r = n.udp.recv(1s)) {
      EXPECT_EQ(decode_discover_reply(r->bytes), n.udp.local());
      return;
    }
  }
  FAIL() << "no DiscoverReply for node " << n.node_id;
}

// PunchRequest(from → to) sent from `from`'s socket. Allowed: each side gets a
// PunchCommand naming the other's socket, from the beacon. Refused: silence (the final
// stats line counts it).
inline void expect_punch(bool allowed, const Endpoint& beacon, Daemon& from, Daemon& to,
                         std::optional<Grant> grant = std::nullopt) {
  from.udp.send_to(beacon, encode(PunchRequest{from.node_id, to.node_id, grant}));
  auto a = from.udp.recv(allowed ? 5s : 500ms);
  auto b = to.udp.recv(allowed ? 5s : 100ms);
  if (!allowed) {
    EXPECT_FALSE(a || b) << "punch " << from.node_id << " → " << to.node_id << " was not refused";
    return;
  }
  ASSERT_TRUE(a && b) << "punch " << from.node_id << " → " << to.node_id << ": a PunchCommand is missing";
  EXPECT_EQ(decode_punch_command(a->bytes), to.udp.local());
  EXPECT_EQ(decode_punch_command(b->bytes), from.udp.local());
  EXPECT_EQ(a->from, beacon);
  EXPECT_EQ(b->from, beacon);
}

// A punch grant by `signer` (the target's key) for requester → target, valid 60 s.
inline Grant grant_by(const rpc::Identity& signer, uint32_t requester, uint32_t target) {
  const int64_t expiry =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
      60;
  return Grant{expiry, signer.sign(punch_grant_message(requester, target, expiry))};
}

}  // namespace pilot::beacon::testing
