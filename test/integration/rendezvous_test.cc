// The real `rendezvous` binary on a real data directory: flags, startup from the log
// and the snapshot, graceful SIGTERM (durable, snapshotted, exit 0), and refusing to
// start on a damaged log.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/ed25519.h"
#include "log/recovery.h"
#include "log/scanner.h"
#include "log/writer.h"
#include "net/rpc/client.h"
#include "projections/snapshot.h"
#include "projections/store.h"
#include "test/projections/event_gen.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"

namespace pilot {
namespace {

using namespace std::chrono_literals;
using testsupport::Process;

const std::string kBin = RENDEZVOUS_BIN;

// Writes `n` generated events into <root>/log and returns the state they build.
State populate(const std::string& root, size_t n, uint64_t seed) {
  DataDir dir{root};
  log::RecoveryResult rec;
  std::string err;
  EXPECT_TRUE(log::recover(dir.log_dir(), log::kDefaultSegmentBytes, rec, err)) << err;
  log::WriterOptions o;
  o.log_dir = dir.log_dir();
  o.fsync.mode = log::FsyncPolicy::Mode::kNone;
  auto w = log::Writer::open(o, rec, err);
  State s;
  for (const auto& r : projtest::EventGen(seed).stream(n)) {
    w->set_term(r.meta.term);
    w->append(r.event, r.meta.time_ns);
    s.apply(r.meta, r.event);
    s.last_hash = w->last_hash();
  }
  w->close();
  return s;
}

TEST(Rendezvous, HelpAndBadFlags) {
  Process help(kBin, {"--help"});
  EXPECT_EQ(help.wait_exit(5s), 0);
  EXPECT_NE(help.output().find("--data-dir"), std::string::npos) << help.output();
  EXPECT_NE(help.output().find("PILOT_DATA_DIR"), std::string::npos);
  EXPECT_NE(help.output().find("--fsync"), std::string::npos);
  // The embedded beacon's flags (shared with cmd/beacon, net/beacon/beacon_flags.h).
  for (const char* f : {"--beacon\n", "--beacon-addr", "--punch-auth", "--punch-grants", "--beacon-max-nodes"})
    EXPECT_NE(help.output().find(f), std::string::npos) << f;

  Process bad(kBin, {"--no-such-flag"});
  int st = bad.wait_exit(5s);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 2);
  EXPECT_NE(bad.output().find("unknown flag"), std::string::npos) << bad.output();

  Process fsync(kBin, {"-fsync=sometimes"});
  st = fsync.wait_exit(5s);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 2);

  testsupport::TempDir tmp;
  const std::vector<std::vector<std::string>> bad_beacon = {
      {"-punch-auth", "sometimes"}, {"--beacon-addr", "nonsense"}, {"--beacon-max-nodes", "3"}};
  for (std::vector<std::string> args : bad_beacon) {
    args.insert(args.end(), {"--data-dir", tmp.path(), "--registry-addr", "127.0.0.1:0", "--http", "127.0.0.1:0"});
    Process p(kBin, args);
    st = p.wait_exit(5s);
    ASSERT_TRUE(WIFEXITED(st)) << args[0];
    EXPECT_EQ(WEXITSTATUS(st), 2) << p.output();
  }
}

// --log-format json: every line on stderr is one JSON object with time, level and msg,
// from the first line to the last (SIGTERM's shutdown lines included).
TEST(Rendezvous, LogFormatJsonWritesOneObjectPerLine) {
  testsupport::TempDir tmp;
  Process p(kBin, {"--data-dir", tmp.path(), "--registry-addr", "127.0.0.1:0", "--http", "", "--beacon=false",
                   "--log-format", "json"});
  ASSERT_TRUE(p.wait_for_output("listening on", 20s)) << p.output();
  p.signal(SIGTERM);
  ASSERT_EQ(p.wait_exit(20s), 0) << p.output();
  std::istringstream lines(p.output());
  size_t n = 0;
  bool saw_listening = false;
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not a JSON object: " << line;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
    saw_listening |= j.value("msg", "").find("listening on") != std::string::npos;
    ++n;
  }
  EXPECT_GT(n, 3u);
  EXPECT_TRUE(saw_listening);

  Process bad(kBin, {"--data-dir", tmp.path(), "--log-format", "xml"});
  const int st = bad.wait_exit(5s);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 2) << bad.output();
  EXPECT_NE(bad.output().find("--log-format must be text or json"), std::string::npos) << bad.output();
}

TEST(Rendezvous, RestoresFromTheLogSnapshotsOnSigtermAndRestartsFromTheSnapshot) {
  testsupport::TempDir tmp;
  State expected = populate(tmp.path(), 1500, 42);
  {
    Process p(kBin, {"--data-dir", tmp.path(), "--log-level", "debug", "--registry-addr", "127.0.0.1:0",
                     "--beacon-addr", "127.0.0.1:0", "--http", "127.0.0.1:0"});
    ASSERT_TRUE(p.wait_for_output("ready", 20s)) << p.output();
    EXPECT_NE(p.output().find("1500 records replayed"), std::string::npos) << p.output();
    p.signal(SIGTERM);
    int st = p.wait_exit(20s);
    ASSERT_TRUE(WIFEXITED(st)) << p.output();
    EXPECT_EQ(WEXITSTATUS(st), 0) << p.output();
    EXPECT_NE(p.output().find("snapshot: wrote seq 1500"), std::string::npos) << p.output();
    EXPECT_NE(p.output().find("stopped cleanly"), std::string::npos) << p.output();
  }
  std::string err;
  auto snap = load_snapshot(DataDir{tmp.path()}.snapshot_path(), &err);
  ASSERT_TRUE(snap) << err;
  EXPECT_TRUE(*snap == expected) << "the shutdown snapshot differs from the replayed state";

  // Second start: from the snapshot, nothing to replay. Environment instead of flags.
  ::setenv("PILOT_DATA_DIR", tmp.path().c_str(), 1);
  Process again(kBin, {"--registry-addr", "127.0.0.1:0", "--beacon-addr", "127.0.0.1:0", "--http", "127.0.0.1:0"});
  ::unsetenv("PILOT_DATA_DIR");
  ASSERT_TRUE(again.wait_for_output("ready", 20s)) << again.output();
  EXPECT_NE(again.output().find("snapshot at seq 1500"), std::string::npos) << again.output();
  EXPECT_NE(again.output().find("0 records replayed"), std::string::npos) << again.output();
  again.signal(SIGINT);
  EXPECT_EQ(again.wait_exit(20s), 0) << again.output();
}

TEST(Rendezvous, RefusesToStartOnMidLogCorruption) {
  testsupport::TempDir tmp;
  populate(tmp.path(), 60000, 7);
  auto seg = log::list_segments(DataDir{tmp.path()}.log_dir()).back().path;
  std::FILE* f = std::fopen(seg.c_str(), "r+b");
  ASSERT_TRUE(f);
  std::fseek(f, 1 << 20, SEEK_SET);
  int c = std::fgetc(f);
  std::fseek(f, 1 << 20, SEEK_SET);
  std::fputc(c ^ 0x10, f);
  std::fclose(f);
  Process p(kBin, {"--data-dir", tmp.path(), "--registry-addr", "127.0.0.1:0", "--beacon-addr", "127.0.0.1:0", "--http",
                   "127.0.0.1:0"});
  int st = p.wait_exit(30s);
  ASSERT_TRUE(WIFEXITED(st)) << p.output();
  EXPECT_EQ(WEXITSTATUS(st), 1) << p.output();
  EXPECT_NE(p.output().find("refusing to start"), std::string::npos) << p.output();
  EXPECT_NE(p.output().find(seg), std::string::npos) << p.output();
}

}  // namespace
}  // namespace pilot

namespace pilot {
namespace {

// The minimal `registry` fixture binary (spec §17.2): serves the same registry, and
// without --data-dir keeps its state in a temporary directory it removes on exit.
TEST(RegistryFixtureBinary, ServesFromATemporaryDirectoryAndRemovesIt) {
  using namespace std::chrono_literals;
  testsupport::Process p(REGISTRY_BIN, {"--addr", "127.0.0.1:0", "--fsync", "none", "--beacon", "192.0.2.1:9001"});
  ASSERT_TRUE(p.wait_for_output("registry: listening on 127.0.0.1:", 20s)) << p.output();
  ASSERT_TRUE(p.wait_for_output("ready", 5s)) << p.output();
  const std::string& out = p.output();
  const std::string marker = "data dir ";
  size_t at = out.find(marker);
  ASSERT_NE(at, std::string::npos) << out;
  const std::string dir = out.substr(at + marker.size(), out.find(',', at) - at - marker.size());
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/log")) << dir;
  const std::string addr = out.substr(out.find("listening on ") + 13);
  const uint16_t port = uint16_t(std::stoi(addr.substr(addr.find(':') + 1)));

  auto c = rpc::Client::connect("127.0.0.1:" + std::to_string(port));
  KeyPair k = KeyPair::generate();
  nlohmann::json r = c.call({{"type", "register"},
                             {"listen_addr", "198.51.100.7:4000"},
                             {"public_key", encode_public_key(k.public_key)},
                             {"relay_only", true}});
  EXPECT_EQ(r["node_id"], 1) << r.dump();
  c.call({{"type", "set_visibility"},
          {"node_id", 1},
          {"public", true},
          {"signature", encode_signature(k.sign("set_visibility:1"))}});
  EXPECT_EQ(c.call({{"type", "lookup"}, {"node_id", 1}})["real_addr"], "192.0.2.1:9001");  // --beacon
  c.close();

  p.signal(SIGTERM);
  int st = p.wait_exit(20s);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << p.output();
  EXPECT_FALSE(std::filesystem::exists(dir)) << "the temporary data directory was left behind";
}

TEST(RegistryFixtureBinary, HelpNamesItsFlags) {
  using namespace std::chrono_literals;
  testsupport::Process help(REGISTRY_BIN, {"--help"});
  ASSERT_EQ(help.wait_exit(10s), 0);
  for (const char* f : {"--addr", "--beacon", "--admin-token", "--data-dir", "PILOT_BEACON"})
    EXPECT_NE(help.output().find(f), std::string::npos) << f;
}

}  // namespace
}  // namespace pilot
