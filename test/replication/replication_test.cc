// Leader and followers as real `rendezvous` processes on loopback: a follower converges
// to the same log, byte for byte, and the same state under a random mutation load,
// across restarts and crashes of either side; it answers reads and refuses writes;
// and the replication port survives bad peers — wrong tokens, garbage, stale terms, a
// follower that stops reading, a leader that sends damaged records.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "log/recovery.h"
#include "log/writer.h"
#include "net/replication/messages.h"
#include "projections/snapshot.h"
#include "test/projections/event_gen.h"
#include "test/replication/cluster.h"
#include "test/replication/mutation_load.h"
#include "test/replication/repl_client.h"
#include "test/replication/same_data.h"

namespace pilot {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using repltest::expect_same_data;
using repltest::follower_options;
using repltest::kReplToken;
using repltest::leader_options;
using repltest::log_tip;
using repltest::MutationLoad;
using repltest::wait_converged;
using repltest::wait_for;
using testsupport::Registry;

std::string err_of(const json& r) {
  return r.value("type", "") == "error" ? r.value("error", "") : "<" + r.dump() + ">";
}

TEST(Replication, FollowerConvergesUnderLoadAcrossRestartsAndCrashesOfBothSides) {
  const uint16_t rp = repltest::free_port();
  Registry leader(leader_options(rp));
  Registry follower(follower_options(rp));
  MutationLoad load(20261122, repltest::kAdminToken);

  EXPECT_GT(load.run(leader.addr(), 600), 300u);
  ASSERT_TRUE(wait_converged(leader, follower)) << follower.output();

  // Mutations while the follower is down, then a clean restart: it resumes.
  ASSERT_EQ(follower.terminate(), 0) << follower.output();
  load.run(leader.addr(), 300);
  follower.restart();
  ASSERT_TRUE(wait_converged(leader, follower)) << follower.output();

  // A crash of the follower in the middle of a stream of mutations.
  {
    std::atomic<bool> done{false};
    std::thread writer([&] {
      load.run(leader.addr(), 3000);
      done = true;
    });
    ASSERT_TRUE(wait_for([&] { return log_tip(follower.data_dir()).seq > log_tip(leader.data_dir()).seq - 10; }, 10s));
    std::this_thread::sleep_for(50ms);
    follower.kill9();
    EXPECT_FALSE(done.load()) << "the load ended before the crash: make it longer";
    std::this_thread::sleep_for(50ms);
    follower.restart();
    writer.join();
  }
  ASSERT_TRUE(wait_converged(leader, follower)) << follower.output();

  // The leader restarts cleanly (same replication port); the follower reconnects.
  ASSERT_EQ(leader.terminate(), 0) << leader.output();
  leader.restart();
  load.run(leader.addr(), 300);
  ASSERT_TRUE(wait_converged(leader, follower)) << follower.output();

  // And the leader crashes: what it had written survives (fsync=none keeps it in the
  // page cache), the follower resumes from the recovered log.
  load.run(leader.addr(), 200);
  leader.kill9();
  leader.restart();
  load.run(leader.addr(), 200);
  ASSERT_TRUE(wait_converged(leader, follower)) << follower.output();

  ASSERT_EQ(follower.terminate(), 0) << follower.output();
  const std::string out = follower.output();  // all of it: the follower has exited
  ASSERT_EQ(leader.terminate(), 0) << leader.output();
  expect_same_data(leader.data_dir(), follower.data_dir());
  EXPECT_NE(out.find("replication: caught up with the leader"), std::string::npos) << out;
}

TEST(Replication, FollowerServesReadsRefusesWritesAndKeepsItsOwnLiveness) {
  const uint16_t rp = repltest::free_port();
  Registry leader(leader_options(rp));
  // A follower with a reaper that would expire everything at once, if it ran.
  Registry follower(follower_options(rp, {"--stale-threshold", "1s", "--reap-interval", "100ms"}));
  auto lc = leader.client();
  rpc::Identity alice, bob;
  json ra = lc.call(alice.register_req("0.0.0.0:4000"));
  ASSERT_EQ(ra.value("type", ""), "register_ok") << ra.dump();
  const uint32_t a = ra["node_id"];
  const uint32_t b = lc.call(bob.register_req("0.0.0.0:4001"))["node_id"];
  ASSERT_EQ(lc.call(alice.set_hostname_req(a, "alice"))["type"], "set_hostname_ok");
  ASSERT_EQ(lc.call(alice.set_visibility_req(a, true))["type"], "set_visibility_ok");
  ASSERT_EQ(lc.call(alice.request_handshake_req(a, b, "hi"))["type"], "request_handshake_ok");
  ASSERT_TRUE(wait_converged(leader, follower));

  auto fc = follower.client();
  json la = lc.call(rpc::lookup_req(a)), fa = fc.call(rpc::lookup_req(a));
  EXPECT_EQ(fa.value("type", ""), "lookup_ok") << fa.dump();
  EXPECT_EQ(fa["hostname"], "alice");
  EXPECT_EQ(fa["public_key"], la["public_key"]);
  EXPECT_EQ(fa["real_addr"], la["real_addr"]);
  EXPECT_EQ(fc.call({{"type", "resolve_hostname"}, {"hostname", "alice"}})["node_id"], a);
  EXPECT_EQ(fc.call(rpc::check_trust_req(a, b))["type"], "check_trust_ok");
  EXPECT_EQ(err_of(fc.call(rpc::lookup_req(999))), "node 999: node not found");
  auto bin = follower.client(rpc::Mode::kBinary);
  auto bl = bin.lookup(a);
  ASSERT_TRUE(bl.ok()) << bl.error;
  EXPECT_EQ(bl->hostname, "alice");

  // Writes: the standby error, which the sanitiser shows as "request failed" (§3.2).
  rpc::Identity carol;
  EXPECT_EQ(err_of(fc.call(carol.register_req("0.0.0.0:4002"))), "request failed");
  EXPECT_EQ(err_of(fc.call(alice.set_hostname_req(a, "alice2"))), "request failed");
  EXPECT_EQ(err_of(fc.call(alice.deregister_req(a))), "request failed");
  EXPECT_EQ(err_of(fc.call({{"type", "no_such_op"}})), "request failed");
  // poll_handshakes drains the inbox by an event: refused here, so the request stays
  // for the leader to hand out.
  EXPECT_EQ(err_of(fc.call(bob.poll_handshakes_req(b))), "request failed");

  // A heartbeat to the follower: answered, remembered locally, never logged.
  std::this_thread::sleep_for(1100ms);
  const auto tip = log_tip(follower.data_dir());
  json hb = fc.call(alice.heartbeat_req(a));
  EXPECT_EQ(hb.value("type", ""), "heartbeat_ok") << hb.dump();
  EXPECT_TRUE(bin.heartbeat(b, bob.sign("heartbeat:" + std::to_string(b))).ok());
  EXPECT_GT(fc.call(rpc::lookup_req(a))["last_seen_unix"].get<int64_t>(), la["last_seen_unix"].get<int64_t>());
  EXPECT_EQ(lc.call(rpc::lookup_req(a))["last_seen_unix"], la["last_seen_unix"]);  // the leader never heard it

  // No reaper on the follower: after well over its 1 s threshold, nothing expired and
  // its log is still exactly the leader's.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(fc.call(rpc::lookup_req(b)).value("type", ""), "lookup_ok");
  EXPECT_TRUE(log_tip(follower.data_dir()) == tip);
  EXPECT_TRUE(log_tip(follower.data_dir()) == log_tip(leader.data_dir()));

  // The inbox is intact: the leader hands out bob's request.
  json polled = lc.call(bob.poll_handshakes_req(b));
  ASSERT_EQ(polled["requests"].size(), 1u) << polled.dump();
  ASSERT_TRUE(wait_converged(leader, follower));
  EXPECT_EQ(follower.output().find("reaper:"), std::string::npos) << follower.output();
}

// Sync mode: a reply means the follower has the record. A single client makes every
// mutation, so right after each reply the follower's log must end exactly where the
// leader's does.
TEST(Replication, SyncModeRepliesOnlyOnceAFollowerHasTheRecordAndDegradesWithoutOne) {
  const uint16_t rp = repltest::free_port();
  Registry leader(leader_options(rp, {"--replication", "sync", "--sync-timeout", "700ms"}));
  Registry follower(follower_options(rp));
  ASSERT_TRUE(wait_for([&] { return leader.output().find("follower 127.0.0.1") != std::string::npos; }, 10s));
  auto c = leader.client();
  auto register_one = [&] {
    rpc::Identity id;
    json r = c.call(id.register_req("0.0.0.0:4000"));
    EXPECT_EQ(r.value("type", ""), "register_ok") << r.dump();
  };
  for (int i = 0; i < 100; ++i) {
    register_one();
    const auto l = log_tip(leader.data_dir()), f = log_tip(follower.data_dir());
    ASSERT_TRUE(f == l) << "after mutation " << i << ": leader at " << l.seq << ", follower at " << f.seq;
  }
  EXPECT_EQ(leader.output().find("degraded"), std::string::npos) << leader.output();

  // The follower goes away: the next write waits out the timeout, then the leader
  // degrades to async (and says so), and writes are quick again.
  ASSERT_EQ(follower.terminate(), 0) << follower.output();
  auto t0 = std::chrono::steady_clock::now();
  register_one();
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 600ms);
  EXPECT_LT(waited, 5s);
  // (The log line is read from the child's pipe by a background thread: wait for it.)
  EXPECT_TRUE(wait_for([&] { return leader.output().find("degraded to async") != std::string::npos; }, 5s))
      << leader.output();
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) register_one();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 600ms);

  // It comes back, catches up, and sync resumes: replies wait for it again.
  follower.restart();
  ASSERT_TRUE(wait_for([&] { return leader.output().find("sync replication resumed") != std::string::npos; }, 20s))
      << leader.output();
  for (int i = 0; i < 50; ++i) {
    register_one();
    ASSERT_TRUE(log_tip(follower.data_dir()) == log_tip(leader.data_dir())) << "after mutation " << i;
  }
  ASSERT_EQ(follower.terminate(), 0) << follower.output();
  ASSERT_EQ(leader.terminate(), 0) << leader.output();
  expect_same_data(leader.data_dir(), follower.data_dir());
}

// --sync-fallback=refuse: without a follower's ack the leader acknowledges nothing the
// follower lacks and appends nothing new. The write that trips the timeout waits on;
// later writes are refused (nothing appended; their error, like every reply in sync
// mode, leaves once a follower has what the connection could have seen); when the
// follower is back and caught up, the held reply arrives and writes are accepted again.
TEST(Replication, SyncFallbackRefuseHoldsTheReplyAndRefusesWritesAtOnceUntilAFollowerCatchesUp) {
  const uint16_t rp = repltest::free_port();
  Registry leader(
      leader_options(rp, {"--replication", "sync", "--sync-timeout", "500ms", "--sync-fallback", "refuse"}));
  Registry follower(follower_options(rp));
  ASSERT_TRUE(wait_for([&] { return leader.output().find("follower 127.0.0.1") != std::string::npos; }, 10s));
  auto c = leader.client();
  rpc::Identity alice;
  json r = c.call(alice.register_req("0.0.0.0:4000"));
  ASSERT_EQ(r.value("type", ""), "register_ok") << r.dump();

  ASSERT_EQ(follower.terminate(), 0) << follower.output();
  // This write is appended and durable here, but no follower has it: no reply.
  auto held = leader.client();
  rpc::Identity bob;
  held.send_json(bob.register_req("0.0.0.0:4001").dump());
  ASSERT_TRUE(wait_for([&] { return leader.output().find("refusing writes") != std::string::npos; }, 5s))
      << leader.output();
  const uint64_t tip = log_tip(leader.data_dir()).seq;
  // A new write is refused at once (the reply shows no state) and nothing is appended.
  auto other = leader.client();
  rpc::Identity carol;
  other.set_recv_timeout(5s);
  json refused = other.call(carol.register_req("0.0.0.0:4002"));
  EXPECT_EQ(refused.value("error", ""),
            "sync replication: no follower acknowledges writes; writes cannot be accepted until one does")
      << refused.dump();
  EXPECT_EQ(log_tip(leader.data_dir()).seq, tip) << "a write was appended while refusing";
  // A refusal behind a held reply keeps its place: nothing leaves on that connection.
  held.send_json(carol.register_req("0.0.0.0:4002").dump());
  held.set_recv_timeout(300ms);
  EXPECT_THROW(held.recv_json(), std::exception) << "a reply left for a write the follower does not have";

  // Back and caught up: the held reply arrives, then the refusal behind it; writes are
  // accepted again.
  follower.restart();
  ASSERT_TRUE(wait_for([&] { return leader.output().find("writes accepted again") != std::string::npos; }, 20s))
      << leader.output();
  held.set_recv_timeout(10s);
  json late = json::parse(held.recv_json());
  EXPECT_EQ(late.value("type", ""), "register_ok") << late.dump();
  json behind = json::parse(held.recv_json());
  EXPECT_EQ(behind.value("type", ""), "error") << behind.dump();
  json again = c.call(carol.register_req("0.0.0.0:4002"));
  EXPECT_EQ(again.value("type", ""), "register_ok") << again.dump();
  ASSERT_TRUE(wait_converged(leader, follower));
}

TEST(Replication, FlagsAreChecked) {
  using testsupport::Process;
  auto exit_code = [](std::vector<std::string> args) {
    Process p(RENDEZVOUS_BIN, args, {{"PILOT_REPL_TOKEN", std::nullopt}});
    int st = p.wait_exit(10s);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  };
  EXPECT_EQ(exit_code({"--follow", "127.0.0.1:9100"}), 2);  // no token
  EXPECT_EQ(exit_code({"--follow", "leader-without-port", "--repl-token", "t"}), 2);
  EXPECT_EQ(exit_code({"--replication", "eventual"}), 2);
  EXPECT_EQ(exit_code({"--replication", "sync"}), 2);  // sync needs a leader (a token)
  Process help(RENDEZVOUS_BIN, {"--help"});
  EXPECT_EQ(help.wait_exit(10s), 0);
  for (const char* f :
       {"--follow", "--repl-token", "PILOT_REPL_TOKEN", "--repl-addr", "--replication", "--sync-timeout"})
    EXPECT_NE(help.output().find(f), std::string::npos) << f;
}

TEST(ReplicationPort, BadPeersAreRefusedAndTheLeaderCarriesOn) {
  const uint16_t rp = repltest::free_port();
  Registry leader(leader_options(rp));
  Registry follower(follower_options(rp));
  MutationLoad load(7, repltest::kAdminToken);
  load.run(leader.addr(), 200);
  ASSERT_TRUE(wait_converged(leader, follower)) << follower.output() << leader.output();
  using repl::RefuseCode;
  auto refused = [&](auto send) {
    repltest::ReplClient c(rp);
    send(c);
    repl::Refuse r = c.refusal();
    EXPECT_TRUE(c.wait_closed(5s));
    return r.code;
  };
  EXPECT_EQ(refused([](auto& c) { c.hello("not-the-token"); }), RefuseCode::kBadToken);
  // The start of a TLS ClientHello.
  EXPECT_EQ(refused([](auto& c) { c.send_bytes(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)); }),
            RefuseCode::kBadFrame);
  EXPECT_EQ(refused([](auto& c) { c.send_bytes(std::string("\x20\x00\x00\x00\x01", 5) + std::string(32, 'x')); }),
            RefuseCode::kBadFrame);
  // A position that is not on the leader's log gets rewind points, not a refusal.
  // (A hello of a higher term would fence this leader: failover_test.cc.)
  {
    repltest::ReplClient c(rp);
    c.hello(kReplToken, 5, 0, log::Hash{});
    auto g = c.frame();
    ASSERT_TRUE(g);
    EXPECT_EQ(g->type, repl::MsgType::kRewind);
    EXPECT_TRUE(c.wait_closed(5s));
  }

  // A follower with the wrong token is refused on every try and keeps serving what
  // it has (nothing).
  Registry stranger(follower_options(rp, {}, "wrong-token"));
  ASSERT_TRUE(wait_for(
      [&] { return stranger.output().find("refused us: invalid replication token") != std::string::npos; }, 10s))
      << stranger.output();
  EXPECT_EQ(err_of(stranger.client().call(rpc::lookup_req(1))), "node 1: node not found");
  EXPECT_EQ(log_tip(stranger.data_dir()).seq, 0u);

  // Meanwhile the leader served on, and the real follower followed.
  load.run(leader.addr(), 200);
  ASSERT_TRUE(wait_converged(leader, follower));
  EXPECT_TRUE(wait_for([&] { return leader.output().find("refused 127.0.0.1") != std::string::npos; }, 5s));
}

// Fills `data_dir`'s log (the server must be stopped) with `n` registrations of
// distinct nodes, about 250 bytes each: bulk, quickly.
void populate(const std::string& data_dir, uint32_t n) {
  log::RecoveryResult rec;
  std::string err;
  ASSERT_TRUE(log::recover(data_dir + "/log", 1 << 20, rec, err)) << err;
  log::WriterOptions o;
  o.log_dir = data_dir + "/log";
  o.fsync.mode = log::FsyncPolicy::Mode::kNone;
  o.segment_bytes = 1 << 20;
  auto w = log::Writer::open(o, rec, err);
  ASSERT_TRUE(w) << err;
  int64_t t = 1'700'000'000'000'000'000;
  for (uint32_t id = 1; id <= n; ++id) {
    NodeRegistered e;
    e.node_id = id;
    for (size_t i = 0; i < 4; ++i) std::memcpy(e.public_key.data() + 8 * i, &t, 8), e.public_key[i] ^= id & 0xff;
    std::memcpy(e.public_key.data(), &id, 4);
    e.owner = "owner-" + std::to_string(id) + "@" + std::string(120, 'x') + ".example";
    e.real_addr = "198.51.100." + std::to_string(id % 250) + ":4000";
    e.lan_addrs = {"10.0.0.1:4000", "192.168.1.7:4000"};
    e.version = "v1.2.3";
    w->append(e, t += 1000);
  }
  w->close();
}

TEST(ReplicationPort, AFollowerThatStopsReadingIsDroppedAndCostsTheLeaderBoundedMemory) {
  const uint16_t rp = repltest::free_port();
  // No background snapshot meanwhile: it would build a second copy of the state and
  // drown what is measured here.
  Registry leader(leader_options(
      rp, {"--repl-send-timeout", "1s", "--snapshot-every", "100000000", "--snapshot-interval", "1000000"}));
  ASSERT_EQ(leader.terminate(), 0) << leader.output();
  constexpr uint32_t kRecords = 150000;
  populate(leader.data_dir(), kRecords);
  const uint64_t log_bytes = repltest::log_bytes_of(leader.data_dir());
  leader.restart();
  const int pid = repltest::pid_of(leader.output());
  ASSERT_GT(pid, 0);
  const long before = repltest::rss_kib(pid);

  // The log is far larger than the memory bound asserted below: a leader that queued
  // the stream for a slow follower would blow through it.
  constexpr long kBoundKib = 8 * 1024;
  ASSERT_GT(log_bytes, 4u * kBoundKib * 1024) << leader.output();
  repltest::ReplClient slow(rp, /*rcvbuf=*/4096);
  slow.hello(kReplToken);  // and never read
  ASSERT_TRUE(
      wait_for([&] { return leader.output().find("not reading: nothing could be sent") != std::string::npos; }, 20s))
      << leader.output();
  const long after = repltest::rss_kib(pid);
  // Sanitizer builds keep freed memory in quarantine and shadow maps: their RSS says
  // nothing about buffering.
  if (!std::getenv("ASAN_OPTIONS") && !std::getenv("TSAN_OPTIONS")) {
    EXPECT_LT(after - before, kBoundKib) << "leader RSS grew from " << before << " to " << after << " KiB";
  }
  EXPECT_TRUE(slow.wait_closed(20s));
  // The registry is fine, and a client that reads gets every record.
  EXPECT_EQ(err_of(leader.client().call(rpc::lookup_req(9999999))), "node 9999999: node not found");
  repltest::ReplClient reader(rp);
  reader.hello(kReplToken);
  uint64_t last = 0;
  while (last < kRecords) {
    auto f = reader.frame(30s);
    ASSERT_TRUE(f) << "stream stopped after seq " << last << "\n" << leader.output();
    if (f->type == repl::MsgType::kRefuse) FAIL() << "refused: " << repl::decode_refuse(f->body)->reason;
    if (f->type != repl::MsgType::kRecords) continue;
    std::string_view rest(f->body);
    log::Record r;
    size_t used = 0;
    while (!rest.empty()) {
      ASSERT_EQ(log::parse_record(rest, r, used), log::ParseResult::kOk);
      ASSERT_EQ(r.seq, last + 1);
      last = r.seq;
      rest.remove_prefix(used);
    }
    reader.send_bytes(repl::encode(repl::Ack{last}));  // a follower that says nothing is dropped
  }
}

// A leader that lies: damaged records must never reach the follower's log.
TEST(ReplicationFollower, RefusesRecordsThatFailTheirChecksAndKeepsWhatWasValid) {
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(lfd, 4), 0);
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t port = ntohs(addr.sin_port);

  // Record 1 is good; record 2 carries a valid CRC but the chain of another history.
  std::string good, bad_chain, bad_crc;
  const auto kind = static_cast<uint16_t>(EventKind::kNodeDeregistered);
  const log::Hash h1 =
      log::append_record(good, log::Hash{}, 1, 0, 1'700'000'000'000'000'000, kind, encode_payload(NodeDeregistered{7}));
  log::Hash wrong{};
  wrong[0] = 1;
  log::append_record(bad_chain, wrong, 2, 0, 1'700'000'001'000'000'000, kind, encode_payload(NodeDeregistered{8}));
  bad_crc = good;
  bad_crc[log::kRecordHeaderSize] ^= 0x40;
  std::vector<uint64_t> hello_seqs;  // written by the fake leader, read after join
  std::atomic<size_t> hellos{0};
  std::thread fake([&] {
    // Connection 1: a flipped bit. Connection 2: one good record, then a broken chain.
    // Connection 3: just watch the hello.
    for (int conn = 0; conn < 3; ++conn) {
      int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::string buf;
      char tmp[4096];
      repl::Frame f;
      std::string why;
      while (repl::next_frame(buf, f, why) != repl::FrameStatus::kFrame) {
        ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) break;
        buf.append(tmp, static_cast<size_t>(n));
      }
      auto h = repl::decode_hello(f.body);
      hello_seqs.push_back(h ? h->last_seq : 999);
      ++hellos;
      if (conn == 2) {
        ::close(fd);
        break;
      }
      std::string out = repl::encode(repl::Welcome{repl::kProtocolVersion, 0, 2});
      if (conn == 0) out += repl::records_header(bad_crc.size()) + bad_crc;
      if (conn == 1)
        out += repl::records_header(good.size()) + good + repl::records_header(bad_chain.size()) + bad_chain;
      (void)!::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      // Wait for the follower to hang up.
      while (::recv(fd, tmp, sizeof tmp, 0) > 0) {
      }
      ::close(fd);
    }
  });
  Registry follower(follower_options(port));
  ASSERT_TRUE(wait_for([&] { return hellos.load() >= 3; }, 30s)) << follower.output();
  ::shutdown(lfd, SHUT_RDWR);
  fake.join();
  ::close(lfd);
  EXPECT_EQ(hello_seqs, (std::vector<uint64_t>{0, 0, 1}));
  EXPECT_TRUE(follower.wait_for_output("refusing a record from the leader", 5s)) << follower.output();
  EXPECT_TRUE(follower.wait_for_output("checksum", 5s)) << follower.output();
  EXPECT_TRUE(follower.wait_for_output("hash chain broken", 5s)) << follower.output();
  repltest::Tip tip = log_tip(follower.data_dir());
  EXPECT_EQ(tip.seq, 1u);
  EXPECT_EQ(tip.hash, h1);
}

}  // namespace
}  // namespace pilot
