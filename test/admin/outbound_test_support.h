// What the webhook and audit-export tests against the real binary share: the
// rendezvous options for fast retries and a few RPC helpers (the receivers are in
// outbound_receivers.h).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "net/rpc/client.h"
#include "test/admin/outbound_receivers.h"
#include "test/support/registry_fixture.h"

namespace pilot::outbound_test {

using json = nlohmann::json;
using namespace std::chrono_literals;

inline const std::string kAdmin = "admin-s3cret";

// rendezvous flags: admin token, loopback receivers allowed, retries `backoff` apart;
// a developer's environment cannot change them.
inline testsupport::RegistryOptions server_opts(std::vector<std::string> extra = {}, std::string backoff = "20ms") {
  testsupport::RegistryOptions o;
  o.args = {"--admin-token", kAdmin, "--outbound-allow-private", "--outbound-backoff", backoff};
  o.args.insert(o.args.end(), extra.begin(), extra.end());
  o.env = {{"PILOT_WEBHOOK_SECRET", std::nullopt},
           {"PILOT_OUTBOUND_ALLOW_PRIVATE", std::nullopt},
           {"PILOT_OUTBOUND_BACKOFF", std::nullopt}};
  return o;
}

inline json admin_call(testsupport::Registry& reg, json req) {
  req["admin_token"] = kAdmin;
  auto c = reg.client();
  return c.call(req);
}

inline uint32_t register_node(testsupport::Registry& reg) {
  rpc::Identity id;
  auto c = reg.client();
  json r = c.call(id.register_req("0.0.0.0:4000"));
  EXPECT_EQ(r.value("type", ""), "register_ok") << r.dump();
  return r.value("node_id", 0u);
}

}  // namespace pilot::outbound_test
