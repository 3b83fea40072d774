// The standby gate without sockets (spec §3.2): a registry in standby mode answers the
// read ops of the standby list, refuses everything else with the standby error (sent
// as "request failed"), refuses poll_handshakes (draining is an event), and can never
// append an event of its own.
#include <gtest/gtest.h>

#include "net/rpc/client.h"
#include "net/rpc/dispatcher.h"

namespace pilot::rpc {
namespace {

using json = nlohmann::json;

class StandbyGate : public ::testing::Test {
 protected:
  json call(const json& req) { return json::parse(dispatcher.handle_parsed(req, peer)); }

  State state;
  Registry reg{state, nullptr, RegistryOptions{}};
  Dispatcher dispatcher{reg};
  Peer peer{"203.0.113.9", 4000, false};
};

TEST_F(StandbyGate, ReadsAnsweredWritesRefusedNoEventEver) {
  Identity alice, bob;
  const uint32_t a = call(alice.register_req("0.0.0.0:4000"))["node_id"];
  const uint32_t b = call(bob.register_req("0.0.0.0:4001"))["node_id"];
  ASSERT_EQ(call(alice.request_handshake_req(a, b, "hi"))["type"], "request_handshake_ok");
  const std::string before = state.debug_dump();
  const uint64_t seq = state.last_seq;

  reg.set_standby(true);
  EXPECT_EQ(call(lookup_req(a))["type"], "lookup_ok");
  EXPECT_EQ(call(alice.heartbeat_req(a))["type"], "heartbeat_ok");
  EXPECT_EQ(call(check_trust_req(a, b))["type"], "check_trust_ok");
  EXPECT_EQ(call({{"type", "list_networks"}})["type"], "list_networks_ok");
  EXPECT_EQ(call({{"type", "beacon_list"}})["type"], "beacon_list_ok");
  EXPECT_EQ(call(lookup_req(77))["error"], "node 77: node not found");  // handler errors pass through

  const json refused = {{"type", "error"}, {"error", "request failed"}};
  EXPECT_EQ(call(Identity().register_req("0.0.0.0:4002")), refused);
  EXPECT_EQ(call(alice.set_hostname_req(a, "alice")), refused);
  EXPECT_EQ(call(alice.report_trust_req(a, b)), refused);
  EXPECT_EQ(call(alice.deregister_req(a)), refused);
  EXPECT_EQ(call(bob.poll_handshakes_req(b)), refused);
  EXPECT_EQ(call({{"type", "create_network"}, {"name", "x"}}), refused);
  EXPECT_EQ(call({{"type", "no_such_op"}}), refused);
  std::string bin;
  dispatcher.handle_binary(wire::MsgType::kLookup, wire::encode(wire::LookupRequest{a}), peer, bin);
  EXPECT_EQ(static_cast<wire::MsgType>(bin[4]), wire::MsgType::kLookupResponse);

  // Whatever a handler tries, nothing is appended or applied on a follower.
  EXPECT_THROW(reg.emit(NodeDeregistered{a}), OpError);
  EXPECT_EQ(state.last_seq, seq);
  EXPECT_EQ(state.debug_dump(), before);

  // Promotion (future work) is clearing the flag: writes are served again.
  reg.set_standby(false);
  EXPECT_EQ(call(alice.set_hostname_req(a, "alice"))["type"], "set_hostname_ok");
  EXPECT_EQ(call(bob.poll_handshakes_req(b))["requests"].size(), 1u);
}

}  // namespace
}  // namespace pilot::rpc
