// The admin HTTP server of the real `rendezvous` binary, over loopback: every route's
// auth rule (spec §10.1), its JSON shape (§10.2), bad methods (405 + Allow), oversized
// bodies, and the actions that change state (breakers gate the registry, operator
// kick / role are events that survive a restart, banner and whitelist files).
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/ed25519.h"
#include "core/request_envelope.h"
#include "net/rpc/client.h"
#include "test/support/registry_fixture.h"

namespace pilot {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using rpc::Client;
using rpc::Identity;
using testsupport::Registry;

const std::string kAdmin = "admin-s3cret";

testsupport::RegistryOptions admin_opts(std::vector<std::string> extra = {}) {
  testsupport::RegistryOptions o;
  o.args = {"--admin-token", kAdmin};
  o.args.insert(o.args.end(), extra.begin(), extra.end());
  return o;
}

// An HTTP client for the server's admin port; `token` goes in X-Admin-Token.
struct Http {
  explicit Http(Registry& r) : cli("127.0.0.1", r.http_port()) {
    EXPECT_NE(r.http_port(), 0) << r.output();
    cli.set_read_timeout(10, 0);
  }
  httplib::Headers admin() const { return {{"X-Admin-Token", kAdmin}}; }
  httplib::Result get(const std::string& path, bool with_token = true) {
    return with_token ? cli.Get(path, admin()) : cli.Get(path);
  }
  json get_json(const std::string& path) {
    auto r = get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
    return json::parse(r->body, nullptr, false);
  }
  httplib::Client cli;
};

uint32_t register_node(Client& c, const Identity& id, const std::string& listen = "0.0.0.0:4000") {
  json r = c.call(id.register_req(listen));
  EXPECT_EQ(r.value("type", ""), "register_ok") << r.dump();
  return r.value("node_id", 0u);
}

TEST(AdminHttp, HealthReadinessAndPublicStatsNeedNoToken) {
  Registry reg(admin_opts());
  Http http(reg);
  Client c = reg.client();
  Identity alice, bob;
  register_node(c, alice);
  const uint32_t b = register_node(c, bob, "0.0.0.0:4001");
  ASSERT_EQ(c.call(bob.heartbeat_req(b)).value("type", ""), "heartbeat_ok");

  auto h = http.get("/healthz", false);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  json hz = json::parse(h->body);
  EXPECT_EQ(hz["status"], "ok");
  EXPECT_EQ(hz["version"], "1.0");
  EXPECT_TRUE(hz["uptime_seconds"].is_number_integer());
  EXPECT_EQ(hz["nodes_online"], 2) << hz.dump();  // registering counts as being seen

  auto rz = http.get("/readyz", false);
  ASSERT_TRUE(rz);
  EXPECT_EQ(rz->status, 200) << rz->body;
  json ready = json::parse(rz->body);
  EXPECT_EQ(ready["ready"], true);
  EXPECT_EQ(ready["role"], "standalone");
  EXPECT_EQ(ready["last_seq"], ready["durable_seq"]) << "a reply waits for durability";

  auto ps = http.get("/api/public-stats", false);
  ASSERT_TRUE(ps);
  EXPECT_EQ(ps->status, 200);
  EXPECT_EQ(ps->get_header_value("Access-Control-Allow-Origin"), "*");
  json p = json::parse(ps->body);
  for (const char* k : {"server_time", "uptime_seconds", "active_nodes", "total_nodes", "total_requests",
                        "requests_per_sec", "components"})
    EXPECT_TRUE(p.contains(k)) << k << " in " << p.dump();
  EXPECT_EQ(p["total_nodes"], 2);
  EXPECT_EQ(p["active_nodes"], 2);
  EXPECT_GE(p["total_requests"].get<uint64_t>(), 3u);
  EXPECT_EQ(p["components"]["registry"], "up");
  EXPECT_EQ(p["components"]["beacon"], "up");
}

TEST(AdminHttp, AdminRoutesRefuseMissingOrWrongTokens) {
  Registry reg(admin_opts());
  Http http(reg);
  for (const char* path : {"/api/stats", "/api/pulse", "/api/banner", "/api/breakers", "/api/admin/networks",
                           "/api/admin/whitelist", "/api/admin/replication-status", "/api/admin/backups",
                           "/api/admin/runtime/log-level", "/api/runtime", "/api/badge/nodes"}) {
    auto none = http.get(path, false);
    ASSERT_TRUE(none) << path;
    EXPECT_EQ(none->status, 401) << path;
    EXPECT_EQ(none->body, "unauthorized\n") << path;
    auto wrong = http.cli.Get(path, {{"X-Admin-Token", kAdmin + "x"}});
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401) << path;
    // Bearer is not the reference's scheme.
    auto bearer = http.cli.Get(path, {{"Authorization", "Bearer " + kAdmin}});
    ASSERT_TRUE(bearer);
    EXPECT_EQ(bearer->status, 401) << path;
    // The query parameter works for reads.
    auto query = http.cli.Get(std::string(path) + "?admin_token=" + kAdmin);
    ASSERT_TRUE(query);
    EXPECT_EQ(query->status, 200) << path << ": " << query->body;
  }
  // Writes that the spec keeps header-only refuse the query token.
  auto banner = http.cli.Put("/api/banner?admin_token=" + kAdmin, "down at 5", "text/plain");
  ASSERT_TRUE(banner);
  EXPECT_EQ(banner->status, 401);
  auto breaker =
      http.cli.Put("/api/breakers/registry.punch?admin_token=" + kAdmin, R"({"state":"open"})", "application/json");
  ASSERT_TRUE(breaker);
  EXPECT_EQ(breaker->status, 401);
}

TEST(AdminHttp, WithoutAnAdminTokenAdminRoutesSaySo) {
  Registry reg;
  Http http(reg);
  auto r = http.get("/api/stats");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, "admin token not configured\n");
}

TEST(AdminHttp, UnknownPathsAre404AndWrongMethods405WithAllow) {
  Registry reg(admin_opts());
  Http http(reg);
  auto nf = http.get("/no/such/route");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  auto del = http.cli.Delete("/healthz");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
  EXPECT_EQ(del->get_header_value("Allow"), "GET, HEAD");
  auto post = http.cli.Post("/api/breakers", http.admin(), "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  auto get_snapshot = http.get("/api/snapshot");
  ASSERT_TRUE(get_snapshot);
  EXPECT_EQ(get_snapshot->status, 405);
  EXPECT_EQ(get_snapshot->get_header_value("Allow"), "POST");
  auto get_breaker = http.get("/api/breakers/registry.register");
  ASSERT_TRUE(get_breaker);
  EXPECT_EQ(get_breaker->status, 405);
  EXPECT_EQ(get_breaker->get_header_value("Allow"), "PUT, POST, DELETE");
}

TEST(AdminHttp, OversizedBodiesAreRejected) {
  Registry reg(admin_opts());
  Http http(reg);
  auto banner = http.cli.Put("/api/banner", http.admin(), std::string(8193, 'x'), "text/plain");
  ASSERT_TRUE(banner);
  EXPECT_EQ(banner->status, 413);
  auto breaker = http.cli.Put("/api/breakers/x", http.admin(),
                              R"({"state":"open","reason":")" + std::string(9000, 'r') + "\"}", "application/json");
  ASSERT_TRUE(breaker);
  EXPECT_EQ(breaker->status, 413);
  // Past the server's 1 MiB cap the library refuses before any handler runs.
  auto whitelist =
      http.cli.Put("/api/admin/whitelist", http.admin(), std::string((1 << 20) + 10, ' '), "application/json");
  ASSERT_TRUE(whitelist);
  EXPECT_EQ(whitelist->status, 413);
  // And the server still serves.
  EXPECT_EQ(http.get_json("/api/banner")["banner"], "");
}

TEST(AdminHttp, BreakersGateTheRegistryAndPersist) {
  Registry reg(admin_opts());
  Http http(reg);
  Client c = reg.client();
  Identity alice, bob;
  const uint32_t a = register_node(c, alice);

  auto set = http.cli.Put("/api/breakers/registry.register", http.admin(), R"({"state":"open","reason":"maintenance"})",
                          "application/json");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->status, 200) << set->body;
  EXPECT_EQ(json::parse(set->body), json({{"ok", true}, {"name", "registry.register"}}));

  // Denied requests get the §15 error, which the §3.2 sanitiser reduces for daemons.
  json denied = c.call(bob.register_req("0.0.0.0:4001"));
  EXPECT_EQ(denied.value("type", ""), "error") << denied.dump();
  EXPECT_EQ(denied.value("error", ""), "request failed") << denied.dump();
  // Other op families are not gated.
  EXPECT_EQ(c.call(alice.heartbeat_req(a)).value("type", ""), "heartbeat_ok");

  json list = http.get_json("/api/breakers");
  ASSERT_EQ(list["breakers"].size(), 1u) << list.dump();
  const json& b = list["breakers"][0];
  EXPECT_EQ(b["name"], "registry.register");
  EXPECT_EQ(b["state"], "open");
  EXPECT_EQ(b["reason"], "maintenance");
  EXPECT_EQ(b["denied_total"], 1);
  EXPECT_TRUE(b.contains("updated_at"));
  EXPECT_TRUE(b.contains("last_denied_at"));

  // Bad state and bad names are 400.
  auto bad = http.cli.Put("/api/breakers/x", http.admin(), R"({"state":"ajar"})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto garbled = http.cli.Put("/api/breakers/x", http.admin(), "{not json", "application/json");
  ASSERT_TRUE(garbled);
  EXPECT_EQ(garbled->status, 400);
  auto slash = http.cli.Put("/api/breakers/a/b", http.admin(), R"({"state":"open"})", "application/json");
  ASSERT_TRUE(slash);
  EXPECT_EQ(slash->status, 400);

  // The file survives a restart; the breaker is still open afterwards.
  reg.restart();
  Http http2(reg);
  Client c2 = reg.client();
  EXPECT_EQ(c2.call(bob.register_req("0.0.0.0:4001")).value("error", ""), "request failed");
  auto del = http2.cli.Delete("/api/breakers/registry.register", http2.admin());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  EXPECT_EQ(c2.call(bob.register_req("0.0.0.0:4001")).value("type", ""), "register_ok");
  EXPECT_EQ(http2.get_json("/api/breakers")["breakers"], json::array());

  // An operator's hand edit is picked up within the 2 s poll.
  {
    std::ofstream f(reg.data_dir() + "/breakers.json");
    f << R"({"registry.heartbeat": {"state": "open", "reason": "hand edit"}})";
  }
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(c2.call(alice.heartbeat_req(a)).value("error", ""), "request failed");
}

TEST(AdminHttp, NodesAndStatsShowRegisteredNodes) {
  Registry reg(admin_opts());
  Http http(reg);
  Client c = reg.client();
  Identity alice, bob;
  const uint32_t a = register_node(c, alice);
  ASSERT_EQ(c.call(alice.set_hostname_req(a, "alice-box")).value("type", ""), "set_hostname_ok");
  register_node(c, bob, "0.0.0.0:4001");

  json nodes = http.get_json("/api/nodes");
  EXPECT_EQ(nodes["count"], 2);
  ASSERT_EQ(nodes["nodes"].size(), 2u);
  EXPECT_EQ(nodes["nodes"][0]["node_id"], a);
  EXPECT_EQ(nodes["nodes"][0]["address"], "0:0000.0000.0001");
  EXPECT_EQ(nodes["nodes"][0]["hostname"], "alice-box");
  EXPECT_FALSE(nodes["nodes"][1].contains("hostname"));
  EXPECT_EQ(nodes["nodes"][0]["last_seen"].get<std::string>().back(), 'Z');

  json stats = http.get_json("/api/stats");
  EXPECT_EQ(stats["total_nodes"], 2);
  EXPECT_EQ(stats["active_nodes"], 2);
  EXPECT_TRUE(stats["versions"].is_object());
  EXPECT_TRUE(stats.contains("relay_forwarded"));  // the embedded beacon runs
  EXPECT_FALSE(stats.contains("networks")) << "per-network figures need the dashboard token";

  json pulse = http.get_json("/api/pulse");
  EXPECT_TRUE(pulse["samples"].is_array());
  EXPECT_FALSE(pulse["samples"].empty());
  EXPECT_TRUE(pulse["ts"].is_number_integer());

  json dash = http.get_json("/api/dashboard");
  EXPECT_EQ(dash["nodes"]["registered"], 2);
  EXPECT_EQ(dash["nodes"]["online"], 2);
  EXPECT_EQ(dash["replication"]["role"], "standalone");
  EXPECT_EQ(dash["restarts"].size(), 1u);
  EXPECT_EQ(dash["restarts"][0]["previous_stop"], "first start");
  EXPECT_NE(dash.dump().find("\"beacon\""), std::string::npos);
  EXPECT_EQ(dash.dump().find("alice-box"), std::string::npos) << "the public dashboard JSON names no node";

  auto page = http.get("/", false);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("Pilot rendezvous"), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos) << "no external assets";
  EXPECT_EQ(page->body.find("https://"), std::string::npos) << "no external assets";
}

TEST(AdminHttp, PerNetworkStatsNeedTheDashboardToken) {
  Registry reg(admin_opts({"--dashboard-token", "dash"}));
  Http http(reg);
  Client c = reg.client();
  Identity alice;
  const uint32_t a = register_node(c, alice);
  ASSERT_EQ(
      c.call({{"type", "create_network"}, {"node_id", a}, {"name", "lab"}, {"admin_token", kAdmin}}).value("type", ""),
      "create_network_ok");
  EXPECT_FALSE(http.get_json("/api/stats?token=wrong").contains("networks"));
  json s = http.get_json("/api/stats?token=dash");
  ASSERT_EQ(s["networks"].size(), 1u) << s.dump();
  EXPECT_EQ(s["networks"][0]["name"], "lab");
  EXPECT_EQ(s["networks"][0]["members"], 1);
  EXPECT_EQ(s["networks"][0]["online"], 1);
}

TEST(AdminHttp, OperatorKickAndRoleChangeAreDurableEvents) {
  Registry reg(admin_opts());
  Http http(reg);
  Client c = reg.client();
  Identity owner, bob, carol;
  const uint32_t o = register_node(c, owner);
  const uint32_t b = register_node(c, bob, "0.0.0.0:4001");
  const uint32_t k = register_node(c, carol, "0.0.0.0:4002");
  ASSERT_EQ(c.call(bob.set_hostname_req(b, "bob-box")).value("type", ""), "set_hostname_ok");
  ASSERT_EQ(
      c.call({{"type", "create_network"}, {"node_id", o}, {"name", "lab"}, {"admin_token", kAdmin}}).value("type", ""),
      "create_network_ok");
  ASSERT_EQ(c.call(bob.join_network_req(b, 1)).value("type", ""), "join_network_ok");
  ASSERT_EQ(c.call(carol.join_network_req(k, 1)).value("type", ""), "join_network_ok");

  json nets = http.get_json("/api/admin/networks");
  ASSERT_EQ(nets["count"], 1);
  EXPECT_EQ(nets["networks"][0]["id"], 1);
  EXPECT_EQ(nets["networks"][0]["name"], "lab");
  EXPECT_EQ(nets["networks"][0]["members_count"], 3);
  EXPECT_EQ(nets["networks"][0]["owners_count"], 1);
  EXPECT_EQ(nets["networks"][0]["enterprise"], false);
  EXPECT_EQ(nets["networks"][0]["policy_set"], false);

  json m = http.get_json("/api/admin/networks/1/members");
  EXPECT_EQ(m["network_id"], 1);
  EXPECT_EQ(m["total"], 3);
  EXPECT_EQ(m["filtered_total"], 3);
  EXPECT_EQ(m["limit"], 200);
  EXPECT_EQ(m["members"][0]["node_id"], o);
  EXPECT_EQ(m["members"][0]["role"], "owner");
  json q = http.get_json("/api/admin/networks/1/members?q=BOB&limit=1");
  EXPECT_EQ(q["filtered_total"], 1);
  ASSERT_EQ(q["members"].size(), 1u);
  EXPECT_EQ(q["members"][0]["hostname"], "bob-box");
  json page2 = http.get_json("/api/admin/networks/1/members?limit=1&offset=1");
  ASSERT_EQ(page2["members"].size(), 1u);
  EXPECT_EQ(page2["members"][0]["node_id"], b);

  auto status = [&](httplib::Result r) { return r ? r->status : -1; };
  EXPECT_EQ(status(http.get("/api/admin/networks/99/members")), 404);
  EXPECT_EQ(status(http.get("/api/admin/networks/abc/members")), 400);
  EXPECT_EQ(status(http.cli.Delete("/api/admin/networks/1/members/" + std::to_string(b), http.admin())), 400)
      << "reason is required";
  EXPECT_EQ(status(http.cli.Delete("/api/admin/networks/1/members/" + std::to_string(o) + "?reason=x", http.admin())),
            400)
      << "the owner cannot be kicked";
  EXPECT_EQ(status(http.cli.Delete("/api/admin/networks/9/members/2?reason=x", http.admin())), 404);

  auto kick = http.cli.Delete("/api/admin/networks/1/members/" + std::to_string(k) + "?reason=spam", http.admin());
  ASSERT_TRUE(kick);
  ASSERT_EQ(kick->status, 200) << kick->body;
  EXPECT_EQ(json::parse(kick->body), json({{"ok", true}, {"network_id", 1}, {"node_id", k}}));
  EXPECT_EQ(status(http.cli.Delete("/api/admin/networks/1/members/" + std::to_string(k) + "?reason=x", http.admin())),
            400)
      << "no longer a member";

  auto role = http.cli.Put("/api/admin/networks/1/members/" + std::to_string(b) + "/role", http.admin(),
                           R"({"role":"ADMIN","reason":"on call"})", "application/json");
  ASSERT_TRUE(role);
  ASSERT_EQ(role->status, 200) << role->body;
  EXPECT_EQ(json::parse(role->body)["role"], "admin");
  for (const char* body : {R"({"role":"owner"})", R"({"role":"boss"})", R"({})", "nope"}) {
    auto r = http.cli.Put("/api/admin/networks/1/members/" + std::to_string(b) + "/role", http.admin(), body,
                          "application/json");
    EXPECT_EQ(status(std::move(r)), 400) << body;
  }
  EXPECT_EQ(status(http.cli.Put("/api/admin/networks/1/members/" + std::to_string(o) + "/role", http.admin(),
                                R"({"role":"member"})", "application/json")),
            400)
      << "the owner's role is not the operator's to change";

  // The daemons see it: lookup lists only the backbone for carol.
  EXPECT_EQ(c.call(rpc::lookup_req(k))["networks"], json::array({0}));

  // Both were events: a kill -9 right after the replies loses neither.
  reg.kill9();
  reg.restart();
  Http after(reg);
  json m2 = after.get_json("/api/admin/networks/1/members");
  EXPECT_EQ(m2["total"], 2) << m2.dump();
  EXPECT_EQ(m2["members"][1]["node_id"], b);
  EXPECT_EQ(m2["members"][1]["role"], "admin");

  // And the restart history says how the previous run ended.
  json dash = after.get_json("/api/dashboard");
  ASSERT_EQ(dash["restarts"].size(), 2u) << dash.dump();
  EXPECT_EQ(dash["restarts"][1]["previous_stop"], "unclean");
  reg.restart();  // SIGTERM this time
  EXPECT_EQ(Http(reg).get_json("/api/dashboard")["restarts"][2]["previous_stop"], "clean");
}

TEST(AdminHttp, BannerWhitelistLogLevelAndSnapshot) {
  Registry reg(admin_opts({"--maintenance-banner", "initial", "--fsync", "always"}));
  Http http(reg);
  EXPECT_EQ(http.get_json("/api/banner")["banner"], "initial");
  auto put = http.cli.Put("/api/banner", http.admin(), "Upgrade at 18:00 UTC \n\n", "text/plain");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 200);
  EXPECT_EQ(json::parse(put->body), json({{"ok", true}, {"banner", "Upgrade at 18:00 UTC"}}));
  EXPECT_EQ(http.get_json("/api/dashboard")["banner"], "Upgrade at 18:00 UTC");

  // Whitelist: object or bare array; written where the registry watches it.
  auto wl = http.cli.Put("/api/admin/whitelist", http.admin(), R"({"entries":[{"cidr":"10.0.0.0/8","rate":100}]})",
                         "application/json");
  ASSERT_TRUE(wl);
  ASSERT_EQ(wl->status, 200) << wl->body;
  EXPECT_EQ(json::parse(wl->body), json({{"ok", true}, {"count", 1}}));
  json got = http.get_json("/api/admin/whitelist");
  EXPECT_EQ(got["count"], 1);
  EXPECT_EQ(got["entries"][0]["cidr"], "10.0.0.0/8");
  auto bad =
      http.cli.Put("/api/admin/whitelist", http.admin(), R"([{"cidr":"not-an-ip","rate":1}])", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(http.get_json("/api/admin/whitelist")["count"], 1) << "a refused list leaves the file alone";
  {
    std::ofstream f(reg.data_dir() + "/rate-limit-whitelist.json");
    f << "[{";
  }
  json broken = http.get_json("/api/admin/whitelist");
  EXPECT_TRUE(broken.contains("parse_error"));
  EXPECT_EQ(broken["raw"], "[{");

  EXPECT_EQ(http.get_json("/api/admin/runtime/log-level")["level"], "info");
  auto lvl = http.cli.Put("/api/admin/runtime/log-level", http.admin(), R"({"level":"debug"})", "application/json");
  ASSERT_TRUE(lvl);
  EXPECT_EQ(lvl->status, 200);
  EXPECT_EQ(http.get_json("/api/admin/runtime/log-level")["level"], "debug");
  auto bad_lvl = http.cli.Put("/api/admin/runtime/log-level", http.admin(), R"({"level":"loud"})", "application/json");
  ASSERT_TRUE(bad_lvl);
  EXPECT_EQ(bad_lvl->status, 400);

  // Snapshot on demand (localhost only: this client is on loopback).
  Client c = reg.client();
  Identity alice;
  register_node(c, alice);
  auto snap = http.cli.Post("/api/snapshot", "", "application/json");
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->status, 200) << snap->body;
  EXPECT_EQ(json::parse(snap->body), json({{"status", "ok"}, {"message", "snapshot saved successfully"}}));
  EXPECT_TRUE(std::filesystem::exists(reg.data_dir() + "/snapshot.db"));

  json rs = http.get_json("/api/admin/replication-status");
  EXPECT_EQ(rs["is_standby"], false);
  EXPECT_EQ(rs["subscribers"], 0);
  EXPECT_TRUE(rs["term"].is_number_integer());

  // The banner survives a restart (banner.txt beats --maintenance-banner).
  reg.restart();
  EXPECT_EQ(Http(reg).get_json("/api/banner")["banner"], "Upgrade at 18:00 UTC");
}

TEST(AdminHttp, BackupsAreListedNewestFirst) {
  Registry reg(admin_opts());
  Http http(reg);
  const std::string dir = reg.data_dir() + "/backups";
  std::filesystem::create_directories(dir);
  for (const char* name : {"registry-20260101T000000Z.json", "registry-nightly-20260102-000000.json", "notes.txt"})
    std::ofstream(dir + "/" + name) << "{}";
  const auto now = std::filesystem::file_time_type::clock::now();
  std::filesystem::last_write_time(dir + "/registry-20260101T000000Z.json", now - std::chrono::hours(2));
  json b = http.get_json("/api/admin/backups");
  EXPECT_EQ(b["count"], 2) << b.dump();
  EXPECT_EQ(b["total_size_bytes"], 4);
  EXPECT_EQ(b["entries"][0]["name"], "registry-nightly-20260102-000000.json");
  EXPECT_EQ(b["entries"][0]["size_bytes"], 2);
}

TEST(AdminHttp, FollowerIsNotReadyUntilItStreams) {
  // A follower whose leader is not there: /readyz says why, with 503.
  Registry reg(admin_opts({"--follow", "127.0.0.1:1", "--repl-token", "t"}));
  Http http(reg);
  auto r = http.get("/readyz", false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  json body = json::parse(r->body);
  EXPECT_EQ(body["ready"], false);
  EXPECT_EQ(body["role"], "follower");
  EXPECT_EQ(body["reason"], "not connected to the leader");
  EXPECT_EQ(http.get_json("/api/admin/replication-status")["is_standby"], true);
}

TEST(AdminHttp, AuditRecentShowsTheLogAsAuditEntries) {
  Registry reg(admin_opts());
  Http http(reg);
  Client c = reg.client();
  Identity owner, bob;
  const uint32_t o = register_node(c, owner);
  const uint32_t b = register_node(c, bob, "0.0.0.0:4001");
  ASSERT_EQ(c.call({{"type", "create_network"}, {"node_id", o}, {"name", "lab"}, {"admin_token", kAdmin}})
                .value("type", ""),
            "create_network_ok");
  ASSERT_EQ(c.call(bob.join_network_req(b, 1)).value("type", ""), "join_network_ok");
  auto kick = http.cli.Delete("/api/admin/networks/1/members/" + std::to_string(b) + "?reason=spam", http.admin());
  ASSERT_TRUE(kick);
  ASSERT_EQ(kick->status, 200);

  json recent = http.get_json("/api/admin/audit/recent?n=2");
  EXPECT_EQ(recent["count"], 2) << recent.dump();
  ASSERT_EQ(recent["events"].size(), 2u);
  const json& newest = recent["events"][0];
  EXPECT_EQ(newest["action"], "network.admin_kick") << recent.dump();
  EXPECT_EQ(newest["network_id"], 1);
  EXPECT_EQ(newest["node_id"], b);
  EXPECT_NE(newest.value("details", "").find("spam"), std::string::npos) << newest.dump();
  EXPECT_EQ(newest["hash"].get<std::string>().size(), 64u);
  EXPECT_EQ(recent["events"][1]["action"], "network.joined");

  json all = http.get_json("/api/admin/audit/recent");
  EXPECT_EQ(all["count"], 5) << all.dump();  // 2 registrations, create, join, kick
  EXPECT_EQ(all["events"][4]["action"], "node.registered");
  auto bad = http.get("/api/admin/audit/recent?n=zero");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

TEST(AdminHttp, VerifyAnswersWithASignedVerdict) {
  Registry reg(admin_opts());
  Http http(reg);
  Client c = reg.client();
  Identity alice, mallory;
  const uint32_t a = register_node(c, alice);
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  RequestEnvelope env{0, a, now, "00112233445566aa", sha256_hex("{\"order\":42}"), "shop.example"};
  const std::string canonical = env.canonical();
  ASSERT_FALSE(canonical.empty());

  auto keys = http.get("/api/v1/verify/keys", false);
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->status, 200) << keys->body;
  json k = json::parse(keys->body);
  ASSERT_EQ(k["keys"].size(), 1u);
  EXPECT_EQ(k["keys"][0]["kid"], "vfy-v1");
  EXPECT_EQ(k["keys"][0]["algo"], "ed25519");
  auto verdict_key = decode_public_key(k["keys"][0]["public_key"].get<std::string>());
  ASSERT_TRUE(verdict_key);

  auto ask = [&](const std::string& envelope, const std::string& sig) {
    auto r =
        http.cli.Post("/api/v1/verify", json{{"envelope", envelope}, {"signature", sig}}.dump(), "application/json");
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "*");
    json v = json::parse(r->body);
    // Every verdict is signed, valid or not, and names what it is about.
    auto sig_bytes = decode_signature(v.value("verdict_sig", ""));
    EXPECT_TRUE(sig_bytes && ed25519_verify(*verdict_key, v.value("verdict", ""), *sig_bytes)) << v.dump();
    auto parsed = Verdict::parse(v.value("verdict", ""));
    EXPECT_TRUE(parsed) << v.dump();
    if (parsed) {
      EXPECT_EQ(parsed->envelope_hash, sha256_hex(envelope));
      EXPECT_EQ(parsed->valid, v["valid"].get<bool>());
    }
    EXPECT_EQ(v["kid"], "vfy-v1");
    return v;
  };

  json good = ask(canonical, alice.sign_b64(canonical));
  EXPECT_EQ(good["valid"], true) << good.dump();
  EXPECT_EQ(good["online"], true);
  EXPECT_EQ(good["network_member"], true);
  EXPECT_EQ(good["nonce"], "00112233445566aa");
  EXPECT_EQ(good["key_generation"], 0);
  EXPECT_GE(good["last_seen_unix"].get<int64_t>(), now - 5);

  // Failures are valid:false with the same shape, and say nothing about why.
  json forged = ask(canonical, mallory.sign_b64(canonical));
  json stale_env = ask(
      RequestEnvelope{0, a, now - 301, "00112233445566aa", env.body_hash, "shop.example"}.canonical(),
      alice.sign_b64(RequestEnvelope{0, a, now - 301, "00112233445566aa", env.body_hash, "shop.example"}.canonical()));
  json noncanonical = ask(canonical + " ", alice.sign_b64(canonical + " "));
  json unknown_node = ask(RequestEnvelope{0, 999, now, "00112233445566aa", env.body_hash, "shop.example"}.canonical(),
                          alice.sign_b64("x"));
  for (const json* v : {&forged, &stale_env, &noncanonical, &unknown_node}) {
    EXPECT_EQ((*v)["valid"], false) << v->dump();
    EXPECT_EQ((*v)["online"], false) << v->dump();
    EXPECT_EQ((*v)["last_seen_unix"], 0) << v->dump();
  }
  EXPECT_EQ(forged.size(), good.size()) << "one shape for every answer";

  // The verdict key survives a restart: old verdicts keep verifying.
  reg.restart();
  Http again(reg);
  auto keys2 = again.get("/api/v1/verify/keys", false);
  ASSERT_TRUE(keys2);
  EXPECT_EQ(json::parse(keys2->body)["keys"][0]["public_key"], k["keys"][0]["public_key"]);

  // Bad requests: missing fields 400, other methods 405 with Allow: POST.
  auto missing = again.cli.Post("/api/v1/verify", R"({"envelope":"x"})", "application/json");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400);
  auto get = again.get("/api/v1/verify", false);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->get_header_value("Allow"), "POST");
  // The breaker closes the route with the reference's JSON.
  ASSERT_EQ(again.cli
                .Put("/api/breakers/dashboard.verify", again.admin(), R"({"state":"open","reason":"abuse"})",
                     "application/json")
                ->status,
            200);
  auto closed =
      again.cli.Post("/api/v1/verify", json{{"envelope", canonical}, {"signature", "x"}}.dump(), "application/json");
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->status, 503);
  EXPECT_EQ(json::parse(closed->body)["status"], "unavailable");
}

TEST(AdminHttp, VerifyIsRateLimitedPerClient) {
  Registry reg(admin_opts());
  Http http(reg);
  auto minute = [] {
    return std::chrono::duration_cast<std::chrono::minutes>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  auto burst = [&] {
    int n = 0;
    for (int i = 0; i < 65; ++i) {
      auto r =
          http.cli.Post("/api/v1/verify", R"({"envelope":"pilot-req-v1|x","signature":"AA=="})", "application/json");
      if (r && r->status == 429) ++n;
    }
    return n;
  };
  // The limiter's windows are wall-clock minutes. A burst inside one window sees
  // exactly 5 refusals; one that straddles a boundary is followed by a second burst,
  // which lands in the new window on top of what it already counted.
  const auto start = minute();
  int limited = burst();
  if (minute() == start)
    EXPECT_EQ(limited, 5);
  else
    limited = burst();
  EXPECT_GE(limited, 5) << "60 requests per minute per IP";
}

}  // namespace
}  // namespace pilot
