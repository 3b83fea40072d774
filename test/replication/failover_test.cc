// Failover with real processes on loopback (net/replication/README.md, "Failover"):
// promotion over HTTP and with `rendezvous promote`, fencing of a leader that has been
// replaced (while it runs, and when it comes back as it was), an old leader rejoining
// as a follower after cutting its divergent tail, a promoted node refusing to follow a
// lower term, and — in sync mode — no acknowledged write lost across twenty kill -9
// failovers under load.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "log/scanner.h"
#include "net/replication/term_store.h"
#include "test/replication/cluster.h"
#include "test/replication/mutation_load.h"
#include "test/replication/same_data.h"

namespace pilot {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using repltest::kAdminToken;
using repltest::log_tip;
using repltest::Tip;
using repltest::wait_for;
using testsupport::Registry;

std::string err_of(const json& r) {
  return r.value("type", "") == "error" ? r.value("error", "") : "<" + r.dump() + ">";
}

// One node of a pair: its data directory and replication port stay across restarts in
// either role (the fixture's own directory goes unused: --data-dir comes last and wins).
class Node {
 public:
  const std::string& dir() const { return dir_.path(); }
  uint16_t repl_port() const { return repl_port_; }
  Registry& proc() { return *proc_; }
  std::string addr() const { return proc_->addr(); }
  std::string output() { return proc_ ? proc_->output() : ""; }

  void lead(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--data-dir", dir(), "--admin-token", kAdminToken};
    args.insert(args.end(), extra.begin(), extra.end());
    proc_.reset();
    proc_ = std::make_unique<Registry>(repltest::leader_options(repl_port_, args));
  }
  void follow(const Node& leader, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--data-dir", dir(),         "--admin-token",
                                  kAdminToken,  "--repl-addr", "127.0.0.1:" + std::to_string(repl_port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    proc_.reset();
    proc_ = std::make_unique<Registry>(repltest::follower_options(leader.repl_port_, args));
  }
  void kill9() { proc_->kill9(); }
  int terminate() { return proc_->terminate(); }

 private:
  testsupport::TempDir dir_;
  uint16_t repl_port_ = repltest::free_port();
  std::unique_ptr<Registry> proc_;
};

bool converged(const Node& leader, const Node& follower, std::chrono::milliseconds timeout = 30s) {
  return wait_for(
      [&] {
        Tip l = log_tip(leader.dir());
        return l.seq > 0 && log_tip(follower.dir()) == l;
      },
      timeout);
}

uint64_t last_term(const std::string& dir) {
  log::Scanner s(dir + "/log", 1, /*verify_chain=*/false);
  log::Record r;
  uint64_t t = 0;
  while (s.next(r) == log::Scanner::Status::kRecord) t = r.term;
  return t;
}

httplib::Result post_promote(Registry& r, const std::string& token = kAdminToken, const std::string& query = "") {
  httplib::Client cli("127.0.0.1", r.http_port());
  cli.set_read_timeout(20, 0);
  httplib::Headers h;
  if (!token.empty()) h.emplace("X-Admin-Token", token);
  return cli.Post(("/api/admin/promote" + query).c_str(), h, "", "application/json");
}

bool logged(Node& n, const std::string& text, std::chrono::milliseconds timeout = 15s) {
  return wait_for([&] { return n.output().find(text) != std::string::npos; }, timeout);
}

TEST(Failover, SplitBrainTheOldLeaderIsFencedThenRejoinsAfterCuttingItsDivergentTail) {
  Node a, b;
  a.lead();
  b.follow(a);
  repltest::MutationLoad load(31, kAdminToken);
  ASSERT_GT(load.run(a.addr(), 300), 0u);
  ASSERT_TRUE(converged(a, b)) << b.output();

  // b goes away; a takes writes b will never have, then dies.
  ASSERT_EQ(b.terminate(), 0) << b.output();
  ASSERT_GT(load.run(a.addr(), 100), 0u);
  const Tip a_tip = log_tip(a.dir());
  a.kill9();

  // b comes back, finds no leader, and is promoted over HTTP.
  b.follow(a);
  const Tip fork = log_tip(b.dir());
  ASSERT_LT(fork.seq, a_tip.seq);
  auto r = post_promote(b.proc());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["term"], 1);
  EXPECT_EQ(j["previous_term"], 0);
  EXPECT_EQ(j["seq"], fork.seq);
  EXPECT_TRUE(logged(b, "promoted to leader at seq " + std::to_string(fork.seq) + ", term 1")) << b.output();
  r = post_promote(b.proc());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409) << r->body;  // once is enough
  EXPECT_NE(r->body.find("already the leader"), std::string::npos) << r->body;
  repl::TermStore terms(b.dir());
  std::string err;
  ASSERT_TRUE(terms.load(err)) << err;
  EXPECT_EQ(terms.terms(), (repl::Terms{1, 1}));

  // b takes writes, at term 1.
  repltest::MutationLoad load_b(32, kAdminToken);
  ASSERT_GT(load_b.run(b.addr(), 150), 0u);
  EXPECT_EQ(last_term(b.dir()), 1u);

  // a comes back as it was: a leader at term 0. b keeps knocking on a's replication
  // port with term 1; a hears it within a second or two and takes no more writes.
  a.lead();
  ASSERT_TRUE(logged(a, "FENCED")) << a.output();
  rpc::Identity late;
  EXPECT_EQ(err_of(a.proc().client().call(late.register_req("0.0.0.0:4000"))), "request failed");
  EXPECT_TRUE(logged(b, "refused our term 1 as stale")) << b.output();
  // Restarted as-is once more, it is fenced from the start: its term file remembers.
  ASSERT_EQ(a.terminate(), 0) << a.output();
  a.lead();
  EXPECT_NE(a.output().find("FENCED"), std::string::npos) << a.output();
  EXPECT_EQ(err_of(a.proc().client().call(late.register_req("0.0.0.0:4000"))), "request failed");
  ASSERT_EQ(a.terminate(), 0) << a.output();
  EXPECT_TRUE(log_tip(a.dir()) == a_tip);  // nothing was written while it stood fenced

  // a rejoins as b's follower: its divergent tail goes, b's records come.
  a.follow(b);
  ASSERT_TRUE(logged(a, "truncated " + std::to_string(a_tip.seq - fork.seq) + " divergent records (seq " +
                            std::to_string(fork.seq + 1) + ".." + std::to_string(a_tip.seq) + ", term 0)"))
      << a.output();
  ASSERT_GT(load_b.run(b.addr(), 100), 0u);
  ASSERT_TRUE(converged(b, a)) << a.output();
  auto fc = a.proc().client();
  EXPECT_EQ(err_of(fc.call(late.register_req("0.0.0.0:4000"))), "request failed");  // a follower now
  ASSERT_EQ(b.terminate(), 0) << b.output();
  ASSERT_EQ(a.terminate(), 0) << a.output();
  repltest::expect_same_data(b.dir(), a.dir());
}

TEST(Failover, APromotedNodeFencesItsLiveOldLeaderAndRefusesToFollowALowerTerm) {
  Node a, b;
  a.lead();
  b.follow(a);
  repltest::MutationLoad load(41, kAdminToken);
  ASSERT_GT(load.run(a.addr(), 100), 0u);
  ASSERT_TRUE(converged(a, b));

  // Promoted while a still runs (a partition, as keepalived would see it): a is told
  // and stops taking writes.
  auto r = post_promote(b.proc());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_TRUE(logged(a, "FENCED")) << a.output();
  rpc::Identity id;
  EXPECT_EQ(err_of(a.proc().client().call(id.register_req("0.0.0.0:4000"))), "request failed");
  json ok = b.proc().client().call(id.register_req("0.0.0.0:4000"));
  EXPECT_EQ(ok.value("type", ""), "register_ok") << ok.dump();
  // The admin side sees the new roles: b leads (and is ready), a stands fenced.
  auto status = [](Node& n) {
    httplib::Client cli("127.0.0.1", n.proc().http_port());
    auto g = cli.Get("/api/admin/replication-status", {{"X-Admin-Token", kAdminToken}});
    return g && g->status == 200 ? json::parse(g->body) : json{};
  };
  json sb = status(b), sa = status(a);
  EXPECT_EQ(sb.value("role", ""), "leader") << sb.dump();
  EXPECT_EQ(sb.value("is_standby", true), false) << sb.dump();
  EXPECT_EQ(sb.value("term", 0), 1) << sb.dump();
  EXPECT_EQ(sa.value("is_standby", false), true) << sa.dump();
  {
    httplib::Client cli("127.0.0.1", b.proc().http_port());
    auto ready = cli.Get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200) << ready->body;
  }

  // b, restarted as a follower of a (term 0), will not take its records.
  ASSERT_EQ(b.terminate(), 0) << b.output();
  const Tip b_tip = log_tip(b.dir());
  b.follow(a);
  ASSERT_TRUE(logged(b, "refused us: stale term")) << b.output();
  ASSERT_TRUE(logged(a, "this leader is at term 0")) << a.output();
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(log_tip(b.dir()) == b_tip);
  EXPECT_EQ(b.proc().client().call(rpc::lookup_req(ok["node_id"])).value("type", ""), "lookup_ok");  // reads go on
}

// The endpoint is for followers, with the admin token in the header; the CLI wraps it
// and says how it went in its exit status.
TEST(Promote, OnlyAFollowerWithTheTokenInTheHeaderAndTheCliExitCodesSayHowItWent) {
  Node a, b;
  a.lead();
  b.follow(a);
  ASSERT_TRUE(logged(b, "replication: connected to")) << b.output();

  auto r = post_promote(b.proc(), "wrong");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = post_promote(b.proc(), "", "?admin_token=" + kAdminToken);  // a write: header only
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  {
    httplib::Client cli("127.0.0.1", b.proc().http_port());
    auto g = cli.Get("/api/admin/promote", {{"X-Admin-Token", kAdminToken}});
    ASSERT_TRUE(g);
    EXPECT_EQ(g->status, 405);
  }
  r = post_promote(a.proc());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409) << r->body;  // a leader already
  {
    Registry alone(testsupport::with_flags({"--admin-token", kAdminToken}));
    r = post_promote(alone);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 409) << r->body;  // no replication at all
  }

  using testsupport::Process;
  struct Run {
    int code;
    std::string out;
  };
  auto cli = [](std::vector<std::string> args, Process::EnvChanges env = {}) {
    args.insert(args.begin(), "promote");
    env.push_back({"PILOT_ADMIN_TOKEN", std::nullopt});
    Process p(RENDEZVOUS_BIN, args, env);
    int st = p.wait_exit(30s);
    return Run{WIFEXITED(st) ? WEXITSTATUS(st) : -1, p.output()};
  };
  const std::string http = "127.0.0.1:" + std::to_string(b.proc().http_port());
  Run run = cli({"--http", http, "--admin-token", "wrong"});
  EXPECT_EQ(run.code, 1) << run.out;
  EXPECT_NE(run.out.find("HTTP 401"), std::string::npos) << run.out;
  run = cli({"--http", http}, {{"PILOT_ADMIN_TOKEN", kAdminToken}});
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("promoted: leader at term 1 (was term 0)"), std::string::npos) << run.out;
  run = cli({"--http", http, "--admin-token", kAdminToken});
  EXPECT_EQ(run.code, 1) << run.out;
  EXPECT_NE(run.out.find("already the leader"), std::string::npos) << run.out;
  run = cli({"--http", "127.0.0.1:" + std::to_string(repltest::free_port()), "--admin-token", "t", "--timeout", "2s"});
  EXPECT_EQ(run.code, 3) << run.out;
  EXPECT_EQ(cli({"--http", http}).code, 2);  // no token
  EXPECT_EQ(cli({"--http", "no-port", "--admin-token", "t"}).code, 2);
  EXPECT_EQ(cli({"--no-such-flag"}).code, 2);
  EXPECT_EQ(cli({"--http", http, "--admin-token", "t", "extra"}).code, 2);
  run = cli({"--help"});
  EXPECT_EQ(run.code, 0);
  EXPECT_NE(run.out.find("--admin-token"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("Exit status"), std::string::npos) << run.out;
  // The server's own --help points at it.
  Process help(RENDEZVOUS_BIN, {"--help"});
  EXPECT_EQ(help.wait_exit(10s), 0);
  EXPECT_NE(help.output().find("rendezvous promote"), std::string::npos);
}

// Sync mode: a reply means a follower has the record, so killing the leader at any
// moment and promoting the follower loses nothing that was acknowledged. Twenty rounds
// with the roles swapping: each time the killed leader rejoins as the follower of the
// one just promoted, cutting whatever it had that was never acknowledged.
TEST(Failover, SyncModeKill9TheLeaderUnderLoadPromoteTheFollowerEveryAcknowledgedWriteIsThere) {
  const std::vector<std::string> sync{"--replication", "sync", "--sync-timeout", "30s"};
  Node x, y;
  x.lead(sync);
  y.follow(x, sync);
  Node* leader = &x;
  Node* follower = &y;
  ASSERT_TRUE(logged(x, "follower 127.0.0.1")) << x.output();
  std::mt19937_64 rng(20261122);
  struct Acked {
    uint32_t node_id;
    std::string pub;
  };
  size_t total_acked = 0, rounds_with_cut = 0;
  for (int round = 1; round <= 20; ++round) {
    std::mutex mu;
    std::vector<Acked> acked;
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    const std::string addr = leader->addr();
    for (int t = 0; t < 3; ++t)
      clients.emplace_back([&, addr] {
        try {
          rpc::ClientOptions o;
          o.recv_timeout = 40s;
          auto c = rpc::Client::connect(addr, rpc::Mode::kJson, o);
          while (!stop) {
            rpc::Identity id;
            json resp = c.call(id.register_req("0.0.0.0:4000"));
            if (resp.value("type", "") != "register_ok") continue;
            std::lock_guard lk(mu);
            acked.push_back({resp["node_id"].get<uint32_t>(), id.pub_b64()});
          }
        } catch (const std::exception&) {
          // The leader died under us: whatever got no reply was not acknowledged.
        }
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 150));
    leader->kill9();
    stop = true;
    for (auto& t : clients) t.join();

    auto r = post_promote(follower->proc());
    ASSERT_TRUE(r) << "round " << round;
    ASSERT_EQ(r->status, 200) << "round " << round << ": " << r->body;
    EXPECT_EQ(json::parse(r->body)["term"], round);
    auto c = follower->proc().client();
    for (const Acked& a : acked) {
      json l = c.call(rpc::lookup_req(a.node_id));
      ASSERT_EQ(l.value("type", ""), "lookup_ok")
          << "round " << round << ": acknowledged node " << a.node_id << " is missing after the failover: " << l.dump();
      ASSERT_EQ(l["public_key"], a.pub) << "round " << round << ", node " << a.node_id;
    }
    total_acked += acked.size();

    // The killed leader rejoins as the new leader's follower.
    leader->follow(*follower, sync);
    ASSERT_TRUE(converged(*follower, *leader)) << leader->output();
    ASSERT_TRUE(logged(*follower, "connected at seq")) << follower->output();
    if (leader->output().find("divergent records") != std::string::npos) ++rounds_with_cut;
    std::swap(leader, follower);
  }
  EXPECT_GT(total_acked, 100u);
  std::printf("%zu acknowledged registrations over 20 failovers; %zu rejoins cut a divergent tail\n", total_acked,
              rounds_with_cut);
  ASSERT_EQ(follower->terminate(), 0) << follower->output();
  ASSERT_EQ(leader->terminate(), 0) << leader->output();
  repltest::expect_same_data(leader->dir(), follower->dir());
}

}  // namespace
}  // namespace pilot
