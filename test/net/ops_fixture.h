// A registry without sockets or a log, for testing op handlers through the real
// dispatcher: requests in as JSON, replies out as parsed JSON. The clock is a
// variable the test moves. Nodes can be put in place by emitting events directly,
// so a family's tests do not depend on another family's handlers.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/ed25519.h"
#include "net/rpc/dispatcher.h"
#include "net/rpc/ops.h"
#include "net/rpc/registry.h"
#include "projections/state.h"

namespace pilot::rpc::testing {

class OpsFixture : public ::testing::Test {
 protected:
  static constexpr int64_t kStart = int64_t{1767225600} * 1000000000;  // 2026-01-01T00:00:00Z

  OpsFixture() { crypto_init(); }

  RegistryOptions& options() { return reg_.mutable_options(); }

  // Raw reply body, as the client would read it.
  std::string call_raw(const nlohmann::json& req, const Peer& peer = {"203.0.113.9", 51022, false}) {
    auto out = disp_.handle_json(req.dump(), peer);
    EXPECT_TRUE(out.has_value());
    return out.value_or("");
  }
  nlohmann::json call(const nlohmann::json& req, const Peer& peer = {"203.0.113.9", 51022, false}) {
    return nlohmann::json::parse(call_raw(req, peer));
  }
  // The sanitised error text of a reply, or "" (and a test failure) if it succeeded.
  std::string error_of(const nlohmann::json& req) {
    auto r = call(req);
    EXPECT_EQ(r.value("type", ""), "error") << r.dump();
    return r.value("error", "");
  }

  // The handler's own error text, before the dispatcher's sanitiser (and a test
  // failure if the request succeeds).
  std::string raw_error(const nlohmann::json& req) {
    const std::string type = req.value("type", "");
    const OpSpec* op = ops_.find(type);
    if (!op) {
      ADD_FAILURE() << "no op " << type;
      return "";
    }
    const Peer peer{"203.0.113.9", 51022, false};
    try {
      nlohmann::json ok = op->handler(reg_, Request{type, req, peer});
      ADD_FAILURE() << "expected an error, got " << ok.dump();
    } catch (const OpError& e) {
      return e.what();
    }
    return "";
  }

  // `req` fails with `raw`, the client sees `wire` (after the sanitiser), and the
  // state did not change.
  void expect_rejected(const nlohmann::json& req, const std::string& raw, const std::string& wire) {
    const State before = state_;
    EXPECT_EQ(raw_error(req), raw) << req.dump();
    EXPECT_EQ(error_of(req), wire) << req.dump();
    EXPECT_TRUE(state_ == before) << "state changed by a rejected " << req.value("type", "");
  }

  // A live node with a fresh key, put in place by an event (not through `register`).
  struct TestNode {
    uint32_t id = 0;
    KeyPair key;
    std::string sign(std::string_view challenge) const { return encode_signature(key.sign(challenge)); }
    std::string pub() const { return encode_public_key(key.public_key); }
  };
  TestNode add_node(const std::string& addr = "198.51.100.7:4000", bool is_public = false) {
    TestNode n;
    n.key = KeyPair::generate();
    n.id = static_cast<uint32_t>(state_.directory.next_node());
    reg_.emit(NodeRegistered{n.id, n.key.public_key, "", addr, {}, "", false});
    if (is_public) reg_.emit(VisibilityChanged{n.id, true});
    reg_.liveness().touch(n.id, now_);
    return n;
  }
  // An open custom network, emitted as a handler would.
  uint16_t create_network(const std::string& name) {
    const auto id = static_cast<uint16_t>(state_.networks.next_net());
    NetworkCreated e;
    e.network_id = id;
    e.name = name;
    e.join_rule = "open";
    reg_.emit(e);
    return id;
  }

  int64_t now_ = kStart;
  State state_;
  Registry reg_{state_, nullptr, RegistryOptions{}, [this] { return now_; }};
  Dispatcher disp_{reg_};
  OpTable ops_ = all_ops();
};

}  // namespace pilot::rpc::testing
