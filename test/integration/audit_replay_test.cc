// Audit replay and export against the real binaries: the `rendezvous` server is driven
// over its registry port, its live state is read at seq k (get_audit_log, lookups,
// list_networks), and `pilot-log replay --to k` must rebuild exactly that state, also
// after the server moved on past k and restarted. `pilot-log export` must give back
// the entries the projection makes (jsonl parsed back field by field) and CEF lines
// of the spec's header format.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "admin/audit_format.h"
#include "core/time_format.h"
#include "log/recovery.h"
#include "log/scanner.h"
#include "log/writer.h"
#include "net/rpc/client.h"
#include "projections/snapshot.h"
#include "projections/store.h"
#include "test/projections/event_gen.h"
#include "test/support/process.h"
#include "test/support/registry_fixture.h"
#include "test/support/temp_dir.h"

#ifndef PILOT_LOG_BIN
#error "PILOT_LOG_BIN must name the pilot-log binary"
#endif

namespace pilot {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using rpc::Client;
using rpc::Identity;
using testsupport::Process;

namespace fs = std::filesystem;

const std::string kAdmin = "audit-admin-token";

struct ToolRun {
  int status = -1;
  std::string out;
  std::string err;
};

// pilot-log with stdout and stderr apart (stderr is not a terminal: no progress line).
ToolRun pilot_log(const std::vector<std::string>& args, const std::string& scratch) {
  const std::string out = scratch + "/tool.out", err = scratch + "/tool.err";
  std::string cmd = std::string(PILOT_LOG_BIN);
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " >" + out + " 2>" + err + " </dev/null";
  ToolRun r;
  r.status = std::system(cmd.c_str());
  std::ifstream o(out), e(err);
  std::stringstream so, se;
  so << o.rdbuf();
  se << e.rdbuf();
  r.out = so.str();
  r.err = se.str();
  return r;
}

int exit_code(const ToolRun& r) { return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1; }

State load(const std::string& path) {
  std::string err;
  auto s = load_snapshot(path, &err);
  EXPECT_TRUE(s.has_value()) << err;
  return s ? std::move(*s) : State{};
}

// Folds the data directory's log in this process (not through pilot-log) up to
// `upto`, collecting every audit entry as the projection makes it.
State fold(const std::string& data_dir, uint64_t upto, std::vector<AuditEntry>* entries = nullptr) {
  State s;
  log::Scanner scan(DataDir{data_dir}.log_dir(), 1, /*verify_chain=*/true);
  log::Record r;
  while (s.last_seq < upto && scan.next(r) == log::Scanner::Status::kRecord) {
    auto ev = decode_payload(static_cast<EventKind>(r.kind), r.payload);
    EXPECT_TRUE(ev.has_value()) << "seq " << r.seq;
    if (!ev) break;
    const uint64_t before = s.audit.total();
    s.apply(r.meta(), *ev);
    s.last_hash = r.hash;
    if (entries && s.audit.total() > before) entries->push_back(*s.audit.newest());
  }
  return s;
}

json ok(Client& c, const json& req, const std::string& type) {
  json r = c.call(req);
  EXPECT_EQ(r.value("type", ""), type) << req.dump() << " -> " << r.dump();
  return r;
}

uint32_t register_node(Client& c, const Identity& id, const std::string& listen) {
  return ok(c, id.register_req(listen), "register_ok").value("node_id", 0u);
}

// What a live server shows of its state, read over the registry port.
struct LiveView {
  json audit;     // get_audit_log entries (up to 1000, newest first)
  json networks;  // list_networks
  std::map<uint32_t, json> lookups;
};

LiveView read_live(Client& c, const std::vector<uint32_t>& nodes) {
  LiveView v;
  v.audit = ok(c, {{"type", "get_audit_log"}, {"admin_token", kAdmin}, {"limit", 1000}}, "get_audit_log_ok")["entries"];
  v.networks = ok(c, {{"type", "list_networks"}, {"admin_token", kAdmin}}, "list_networks_ok")["networks"];
  for (uint32_t id : nodes) v.lookups[id] = c.call(rpc::lookup_req(id));
  return v;
}

// The live view must be what the replayed state says.
void expect_live_view_is(const LiveView& live, const State& s) {
  EXPECT_EQ(live.audit, audit_log_entries_json(s.audit, 1000, 0))
      << "get_audit_log differs from the replayed audit view";
  for (const auto& [id, r] : live.lookups) {
    const Node* n = s.directory.find(id);
    if (!n) {
      EXPECT_EQ(r.value("type", ""), "error") << "node " << id << " is gone in the replay: " << r.dump();
      continue;
    }
    ASSERT_EQ(r.value("type", ""), "lookup_ok") << r.dump();
    EXPECT_EQ(r.value("hostname", ""), n->hostname) << id;
    EXPECT_EQ(r.value("public", false), n->is_public) << id;
    EXPECT_EQ(r.value("tags", json::array()), json(n->tags)) << id;
    EXPECT_EQ(r.value("public_key", ""), encode_public_key(n->public_key)) << id;
  }
  json nets = json::array();
  for (const auto& [id, net] : s.networks.all())
    nets.push_back({id, net.name, id == 0 ? s.directory.size() : net.members.size()});
  json live_nets = json::array();
  for (const json& n : live.networks)
    live_nets.push_back({n.value("id", -1), n.value("name", ""), n.value("members", size_t{0})});
  EXPECT_EQ(live_nets, nets);
}

TEST(AuditReplay, ReplayToKIsTheLiveStateAtKAndExportGivesTheProjectionsEntries) {
  testsupport::Registry reg(testsupport::with_flags({"--admin-token", kAdmin}));
  testsupport::TempDir scratch;
  const std::string dir = reg.data_dir();
  Identity alice, bob, carol;

  // ---- phase A: up to seq k --------------------------------------------------------
  std::vector<uint32_t> ids;
  LiveView at_k;
  {
    Client c = reg.client();
    const uint32_t a = register_node(c, alice, "0.0.0.0:4000");
    const uint32_t b = register_node(c, bob, "0.0.0.0:4001");
    const uint32_t x = register_node(c, carol, "0.0.0.0:4002");
    ids = {a, b, x};
    register_node(c, alice, "0.0.0.0:4010");  // re-registration of a live node
    ok(c, alice.set_hostname_req(a, "alpha"), "set_hostname_ok");
    ok(c, alice.set_hostname_req(a, "alpha-2"), "set_hostname_ok");
    ok(c, bob.set_tags_req(b, {"gpu", "eu"}), "set_tags_ok");
    ok(c, carol.set_visibility_req(x, true), "set_visibility_ok");
    ok(c, {{"type", "create_network"}, {"node_id", a}, {"name", "lab"}, {"admin_token", kAdmin}}, "create_network_ok");
    ok(c, bob.join_network_req(b, 1), "join_network_ok");
    ok(c, carol.join_network_req(x, 1), "join_network_ok");
    ok(c, alice.report_trust_req(a, b), "report_trust_ok");
    ok(c, carol.request_handshake_req(x, a, "hello"), "request_handshake_ok");
    ok(c, alice.respond_handshake_req(a, x, true), "respond_handshake_ok");
    at_k = read_live(c, ids);
  }
  ASSERT_EQ(WEXITSTATUS(reg.terminate()), 0) << reg.output();
  const uint64_t k = load(DataDir{dir}.snapshot_path()).last_seq;
  ASSERT_GT(k, 10u);
  int64_t time_of_k = 0;
  {
    log::Scanner scan(DataDir{dir}.log_dir(), k);
    log::Record r;
    ASSERT_EQ(scan.next(r), log::Scanner::Status::kRecord);
    time_of_k = r.time_ns;
  }

  // ---- phase B: the server restarts from its snapshot and moves on ------------------
  reg.restart();
  LiveView at_end;
  {
    Client c = reg.client();
    ok(c, bob.leave_network_req(ids[1], 1), "leave_network_ok");
    ok(c, alice.revoke_trust_req(ids[0], ids[1]), "revoke_trust_ok");
    ok(c, {{"type", "delete_network"}, {"node_id", ids[0]}, {"network_id", 1}, {"admin_token", kAdmin}},
       "delete_network_ok");
    ok(c, bob.deregister_req(ids[1]), "deregister_ok");
    at_end = read_live(c, ids);
  }
  ASSERT_EQ(WEXITSTATUS(reg.terminate()), 0) << reg.output();
  const State live_end_snapshot = load(DataDir{dir}.snapshot_path());
  ASSERT_GT(live_end_snapshot.last_seq, k);

  // ---- replay --to k: the state the live server showed at k -------------------------
  const std::string replay_db = scratch.path() + "/replay-k.db";
  ToolRun r = pilot_log({"replay", "--data-dir", dir, "--to", std::to_string(k), "--out", replay_db}, scratch.path());
  ASSERT_EQ(exit_code(r), 0) << r.err;
  const State replayed_k = load(replay_db);
  EXPECT_EQ(replayed_k.last_seq, k);
  expect_live_view_is(at_k, replayed_k);
  // And field for field what this test folds from the log itself.
  const State folded_k = fold(dir, k);
  EXPECT_TRUE(replayed_k == folded_k);
  EXPECT_EQ(replayed_k.debug_dump(), folded_k.debug_dump());
  // Printed as text: the same dump. stderr is not a terminal: one summary line.
  ToolRun text = pilot_log({"replay", "-d", dir, "--to", std::to_string(k)}, scratch.path());
  ASSERT_EQ(exit_code(text), 0) << text.err;
  EXPECT_EQ(text.out, folded_k.debug_dump());
  EXPECT_EQ(text.err.find('\r'), std::string::npos) << text.err;
  EXPECT_EQ(std::count(text.err.begin(), text.err.end(), '\n'), 1) << text.err;
  EXPECT_NE(text.err.find("applied " + std::to_string(k) + " records"), std::string::npos) << text.err;
  // By time: the last record at or before the time of record k.
  ToolRun by_time = pilot_log({"replay", "-d", dir, "--to", format_rfc3339_nano(time_of_k)}, scratch.path());
  ASSERT_EQ(exit_code(by_time), 0) << by_time.err;
  EXPECT_EQ(by_time.out, folded_k.debug_dump());

  // ---- the whole log: the live state at the end, across the restart -------------------
  const std::string replay_end = scratch.path() + "/replay-end.db";
  r = pilot_log({"replay", "-d", dir, "-o", replay_end}, scratch.path());
  ASSERT_EQ(exit_code(r), 0) << r.err;
  const State replayed_end = load(replay_end);
  expect_live_view_is(at_end, replayed_end);
  // The restarted server continued the chain from its snapshot: same hashes as one fold.
  EXPECT_TRUE(replayed_end == live_end_snapshot);
  EXPECT_EQ(replayed_end.audit.head(), live_end_snapshot.audit.head());
  EXPECT_NE(at_end.audit, at_k.audit);

  // ---- export jsonl: parsed back, the projection's entries --------------------------
  std::vector<AuditEntry> entries;
  fold(dir, UINT64_MAX, &entries);
  ASSERT_EQ(entries.size(), replayed_end.audit.total());
  r = pilot_log({"export", "-d", dir, "--format", "jsonl"}, scratch.path());
  ASSERT_EQ(exit_code(r), 0) << r.err;
  std::vector<AuditEntry> parsed;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line);
    AuditEntry e;
    e.seq = j.at("seq");
    auto t = parse_rfc3339(j.at("timestamp").get<std::string>());
    ASSERT_TRUE(t) << line;
    e.time = *t / 1000000000;
    auto action = audit_action_from_name(j.at("action").get<std::string>());
    ASSERT_TRUE(action) << line;
    e.action = *action;
    e.network_id = j.at("network_id");
    e.node_id = j.at("node_id");
    e.details = j.at("details");
    e.prev_hash = j.at("prev_hash");
    e.hash = j.at("hash");
    parsed.push_back(std::move(e));
  }
  ASSERT_EQ(parsed.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) EXPECT_EQ(parsed[i], entries[i]) << "entry " << i;
  EXPECT_FALSE(audit_chain_break(parsed));
  std::set<std::string> actions;
  for (const auto& e : entries) actions.insert(std::string(e.action_name()));
  for (const char* a : {"node.registered", "node.re_registered", "hostname.changed", "tags.changed",
                        "visibility.changed", "network.created", "network.joined", "trust.created", "handshake.relayed",
                        "handshake.responded", "network.left", "trust.revoked", "network.deleted", "node.deregistered"})
    EXPECT_TRUE(actions.count(a)) << a;

  // A seq range: exactly the entries of those records.
  r = pilot_log({"export", "-d", dir, "--format", "jsonl", "--from", "3", "--to", std::to_string(k)}, scratch.path());
  ASSERT_EQ(exit_code(r), 0) << r.err;
  size_t in_range = 0;
  for (const auto& e : entries) in_range += e.seq >= 3 && e.seq <= k;
  EXPECT_EQ(static_cast<size_t>(std::count(r.out.begin(), r.out.end(), '\n')), in_range);
  EXPECT_EQ(r.out.substr(0, r.out.find('\n') + 1), admin::audit_jsonl_line(entries[2]));

  // ---- export cef: every line has the spec's header ---------------------------------
  r = pilot_log({"export", "-d", dir, "--format", "cef", "--out", scratch.path() + "/audit.cef"}, scratch.path());
  ASSERT_EQ(exit_code(r), 0) << r.err;
  std::ifstream cef(scratch.path() + "/audit.cef");
  const std::regex header(
      R"(^CEF:0\|Pilot\|Registry\|1\.0\|((?:[^|\\]|\\[|\\])+)\|((?:[^|\\]|\\[|\\])+)\|([0-9]|10)\|)"
      R"(dvc=pilot-registry dvchost=registry cs1=(\S+) cs1Label=action cn1=([0-9]+) cn1Label=network_id )"
      R"(cn2=([0-9]+) cn2Label=node_id msg=((?:[^=\\\r\n]|\\[=\\rn])*)$)");
  size_t n = 0;
  for (std::string line; std::getline(cef, line); ++n) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, header)) << line;
    ASSERT_LT(n, entries.size());
    const AuditEntry& e = entries[n];
    EXPECT_EQ(m[1].str(), e.action_name());
    EXPECT_EQ(m[2].str(), e.action_name());
    EXPECT_EQ(std::stoi(m[3].str()), admin::cef_severity(e.action_name())) << line;
    EXPECT_EQ(m[4].str(), e.action_name());
    EXPECT_EQ(std::stoul(m[5].str()), e.network_id);
    EXPECT_EQ(std::stoul(m[6].str()), e.node_id);
    EXPECT_EQ(m[7].str(), admin::cef_escape_extension(e.details));
    if (e.action == AuditAction::kNetworkDeleted) {
      EXPECT_EQ(m[3].str(), "6");
    }
  }
  EXPECT_EQ(n, entries.size());
}

// A data directory whose first segments were deleted after a snapshot: replay starts
// from snapshot.db, says so, and still equals a fold of everything; a target before
// the snapshot cannot be rebuilt.
TEST(AuditReplay, StartsFromTheSnapshotWhenTheLogsEarlySegmentsAreGone) {
  testsupport::TempDir tmp;
  const DataDir dir{tmp.path()};
  std::vector<projtest::Record> records = projtest::EventGen(11).stream(3000);
  {
    log::RecoveryResult rec;
    std::string err;
    ASSERT_TRUE(log::recover(dir.log_dir(), 64 << 10, rec, err)) << err;
    log::WriterOptions o;
    o.log_dir = dir.log_dir();
    o.fsync.mode = log::FsyncPolicy::Mode::kNone;
    o.segment_bytes = 64 << 10;
    auto w = log::Writer::open(o, rec, err);
    ASSERT_TRUE(w) << err;
    for (const auto& r : records) {
      w->set_term(r.meta.term);
      w->append(r.event, r.meta.time_ns);
    }
    w->close();
  }
  auto segs = log::list_segments(dir.log_dir());
  ASSERT_GT(segs.size(), 4u);
  // Snapshot at the start of the third segment, then drop the two segments before it.
  const uint64_t snap_seq = segs[2].first_seq + 5;
  Snapshotter snapper(dir);
  ASSERT_EQ(snapper.run(snap_seq).error, "");
  fs::remove(segs[0].path);
  fs::remove(segs[1].path);

  testsupport::TempDir scratch;
  State expected;  // from the generated records: the log no longer has their start
  for (const auto& r : records) {
    expected.apply(r.meta, r.event);
    if (r.meta.seq == 2500) break;
  }
  ToolRun r = pilot_log({"replay", "-d", tmp.path(), "--to", "2500", "-o", scratch.path() + "/r.db"}, scratch.path());
  ASSERT_EQ(exit_code(r), 0) << r.err;
  EXPECT_NE(r.err.find("starting from " + dir.snapshot_path() + " at seq " + std::to_string(snap_seq)),
            std::string::npos)
      << r.err;
  State got = load(scratch.path() + "/r.db");
  got.last_hash = expected.last_hash;  // the test's fold has no log hashes
  EXPECT_TRUE(got == expected);
  EXPECT_EQ(got.audit.head(), expected.audit.head()) << "the chain runs through the snapshot";

  r = pilot_log({"replay", "-d", tmp.path(), "--to", std::to_string(snap_seq - 1)}, scratch.path());
  EXPECT_EQ(exit_code(r), 1);
  EXPECT_NE(r.err.find("no earlier state can be rebuilt"), std::string::npos) << r.err;

  // export: the snapshot keeps the newest 1000 entries; older ones are reported gone.
  r = pilot_log({"export", "-d", tmp.path(), "--format", "jsonl", "--to", "2500"}, scratch.path());
  ASSERT_EQ(exit_code(r), 0) << r.err;
  EXPECT_NE(r.err.find("are not available any more"), std::string::npos) << r.err;
  const std::string last_line = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
  EXPECT_EQ(last_line, admin::audit_jsonl_line(*expected.audit.newest()));
}

TEST(AuditReplay, UsageErrors) {
  testsupport::TempDir scratch;
  for (std::vector<std::string> args : {std::vector<std::string>{"export"},
                                        {"export", "--format", "xml"},
                                        {"replay", "--from", "3"},
                                        {"replay", "--to", "yesterday"},
                                        {"replay", "--format", "csv"},
                                        {"export", "--format", "csv", "--json"}}) {
    ToolRun r = pilot_log(args, scratch.path());
    EXPECT_EQ(exit_code(r), 2) << args[0] << " " << (args.size() > 1 ? args[1] : "");
    EXPECT_NE(r.err.find("usage: pilot-log"), std::string::npos) << r.err;
  }
  EXPECT_NE(pilot_log({"replay", "--help"}, scratch.path()).out.find("--to SEQ|TIME"), std::string::npos);
  EXPECT_NE(pilot_log({"export", "--help"}, scratch.path()).out.find("jsonl"), std::string::npos);
  EXPECT_NE(pilot_log({"--help"}, scratch.path()).out.find("replay"), std::string::npos);
}

}  // namespace
}  // namespace pilot
