#include "projections/snapshot.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <concepts>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/codec.h"
#include "projections/sorted.h"

namespace pilot {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(last_seq INTEGER NOT NULL, last_hash BLOB NOT NULL, term INTEGER NOT NULL,
                  next_node INTEGER NOT NULL, next_net INTEGER NOT NULL, format_version INTEGER NOT NULL);
CREATE TABLE nodes(id INTEGER NOT NULL, owner TEXT, public_key BLOB NOT NULL, real_addr TEXT, public INTEGER,
                   hostname TEXT, tags BLOB, lan_addrs BLOB, key_created_ns INTEGER, key_rotated_ns INTEGER,
                   key_rot_count INTEGER, key_expires INTEGER, external_id TEXT, version TEXT, relay_only INTEGER,
                   badge TEXT, badge_sig TEXT, verification_provider TEXT, verified_at INTEGER,
                   recovery_commitment TEXT, recovery_provider TEXT, recovery_nonce TEXT, recovery_exp INTEGER,
                   registered_at_ns INTEGER, last_registered_ns INTEGER);
CREATE TABLE key_index(public_key BLOB NOT NULL, node_id INTEGER NOT NULL);
CREATE TABLE owner_index(owner TEXT NOT NULL, node_id INTEGER NOT NULL);
CREATE TABLE networks(id INTEGER NOT NULL, name TEXT, join_rule TEXT, token TEXT, admin_token TEXT,
                      enterprise INTEGER, max_members INTEGER, allowed_ports BLOB, description TEXT,
                      rules_json TEXT, expr_policy_json TEXT, created_ns INTEGER);
CREATE TABLE members(network_id INTEGER NOT NULL, node_id INTEGER NOT NULL, ordinal INTEGER NOT NULL,
                     role INTEGER NOT NULL, tags BLOB);
CREATE TABLE invites(target_id INTEGER NOT NULL, ordinal INTEGER NOT NULL, network_id INTEGER NOT NULL,
                     inviter_id INTEGER NOT NULL, time_ns INTEGER NOT NULL);
CREATE TABLE rbac_pre_assign(network_id INTEGER NOT NULL, ordinal INTEGER NOT NULL, external_id TEXT,
                             role INTEGER NOT NULL);
CREATE TABLE trust_pairs(a INTEGER NOT NULL, b INTEGER NOT NULL);
CREATE TABLE handshake_requests(node_id INTEGER NOT NULL, ordinal INTEGER NOT NULL, from_node_id INTEGER NOT NULL,
                                justification TEXT, time_ns INTEGER NOT NULL);
CREATE TABLE handshake_responses(node_id INTEGER NOT NULL, ordinal INTEGER NOT NULL, from_node_id INTEGER NOT NULL,
                                 accept INTEGER NOT NULL, time_ns INTEGER NOT NULL);
CREATE TABLE pending_handshakes(from_node_id INTEGER NOT NULL, to_node_id INTEGER NOT NULL);
CREATE TABLE beacons(id INTEGER NOT NULL, addr TEXT, registered_ns INTEGER NOT NULL);
CREATE TABLE settings(key TEXT NOT NULL, value TEXT);
)sql";

// The audit view (projections/audit.h). Snapshots written before it have none of
// these tables: they load with an empty audit view, and the chain restarts from an
// empty prev_hash at the next entry (pilot-log replay from seq 1 rebuilds the whole
// chain while the log reaches back that far).
constexpr const char* kAuditSchema = R"sql(
CREATE TABLE audit_meta(head TEXT NOT NULL, total INTEGER NOT NULL);
CREATE TABLE audit_entries(ordinal INTEGER NOT NULL, seq INTEGER NOT NULL, time INTEGER NOT NULL,
                           action TEXT NOT NULL, network_id INTEGER NOT NULL, node_id INTEGER NOT NULL,
                           details TEXT, prev_hash TEXT, hash TEXT NOT NULL);
CREATE TABLE audit_counts(action TEXT NOT NULL, count INTEGER NOT NULL);
)sql";

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void corrupt(const std::string& what) { throw Error("corrupt snapshot: " + what); }

class Db {
 public:
  Db(const std::string& path, int flags) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw Error("open: " + msg);
    }
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() {
    if (db_) sqlite3_close(db_);
  }
  void close() {  // every statement must be finalized first
    if (db_ && sqlite3_close(db_) != SQLITE_OK) fail("close");
    db_ = nullptr;
  }
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail("exec");
  }
  [[noreturn]] void fail(const std::string& what) { throw Error(what + ": " + sqlite3_errmsg(db_)); }
  sqlite3* get() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

struct Blob {  // bound as NULL when empty
  std::string_view bytes;
};

class Stmt {
 public:
  Stmt(Db& db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db.get(), sql, -1, &st_, nullptr) != SQLITE_OK) db.fail(std::string("prepare ") + sql);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(st_); }

  // Binds the arguments to ?1, ?2, … and runs the statement once.
  template <class... A>
  void insert(const A&... args) {
    int i = 0;
    (bind(++i, args), ...);
    if (sqlite3_step(st_) != SQLITE_DONE) db_.fail("insert");
    sqlite3_reset(st_);
  }

  bool row() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) db_.fail("select");
    return false;
  }
  int64_t i64(int c) { return sqlite3_column_int64(st_, c); }
  std::string_view bytes(int c) {
    // column_blob then column_bytes: no text conversion, any stored bytes come back.
    const void* p = sqlite3_column_blob(st_, c);
    int n = sqlite3_column_bytes(st_, c);
    return p ? std::string_view(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string_view();
  }
  std::string str(int c) { return std::string(bytes(c)); }

  template <std::unsigned_integral T>
  T u(int c, const char* what) {
    int64_t v = i64(c);
    if (v < 0 || static_cast<uint64_t>(v) > std::numeric_limits<T>::max()) corrupt(std::string(what) + " out of range");
    return static_cast<T>(v);
  }
  bool b(int c, const char* what) {
    int64_t v = i64(c);
    if (v != 0 && v != 1) corrupt(std::string(what) + " is not a bool");
    return v == 1;
  }
  Role role(int c) {
    int64_t v = i64(c);
    if (v < 0 || v > static_cast<int64_t>(Role::kOwner)) corrupt("bad role");
    return static_cast<Role>(v);
  }
  PublicKey key(int c, const char* what) {
    std::string_view v = bytes(c);
    PublicKey k{};
    if (v.size() != k.size()) corrupt(std::string(what) + " is not 32 bytes");
    std::memcpy(k.data(), v.data(), k.size());
    return k;
  }

 private:
  void bind(int i, const std::string& s) {
    sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  }
  void bind(int i, std::string_view s) {
    sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  }
  void bind(int i, const char* s) { sqlite3_bind_text(st_, i, s, -1, SQLITE_STATIC); }
  void bind(int i, Blob b) {
    if (b.bytes.empty())
      sqlite3_bind_null(st_, i);
    else
      sqlite3_bind_blob(st_, i, b.bytes.data(), static_cast<int>(b.bytes.size()), SQLITE_STATIC);
  }
  void bind(int i, const PublicKey& k) {
    sqlite3_bind_blob(st_, i, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
  }
  void bind(int i, Role r) { sqlite3_bind_int64(st_, i, static_cast<int64_t>(r)); }
  template <std::integral T>
  void bind(int i, T v) {
    sqlite3_bind_int64(st_, i, static_cast<int64_t>(v));
  }

  Db& db_;
  sqlite3_stmt* st_ = nullptr;
};

// Lists as core/codec.h blobs; an empty list is stored as NULL.
template <class T>
Blob encode_list(std::string& buf, const std::vector<T>& v) {
  buf.clear();
  if (v.empty()) return {};
  Encoder enc(buf);
  enc.put(v);
  return {buf};
}

template <class T>
std::vector<T> decode_list(std::string_view blob, const char* what) {
  std::vector<T> v;
  if (blob.empty()) return v;
  Decoder d(blob);
  d.get(v);
  if (!d.ok() || !d.at_end()) corrupt(std::string("bad ") + what + " blob");
  return v;
}

int64_t count_rows(Db& db, const char* table) {
  Stmt st(db, (std::string("SELECT count(*) FROM ") + table).c_str());
  return st.row() ? st.i64(0) : 0;
}

void sync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) throw Error("open " + path + " for fsync: " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw Error("fsync " + path + ": " + std::strerror(err));
}

// The settings table: one row per field.
template <class S, class F>
void for_each_setting(S& s, F&& f) {
  f("webhook_url", s.webhook_url);
  f("identity_webhook_url", s.identity_webhook_url);
  f("audit_export.format", s.audit_export.format);
  f("audit_export.endpoint", s.audit_export.endpoint);
  f("audit_export.token", s.audit_export.token);
  f("audit_export.index", s.audit_export.index);
  f("audit_export.source", s.audit_export.source);
  f("idp.idp_type", s.idp.idp_type);
  f("idp.url", s.idp.url);
  f("idp.issuer", s.idp.issuer);
  f("idp.client_id", s.idp.client_id);
  f("idp.tenant_id", s.idp.tenant_id);
  f("idp.domain", s.idp.domain);
}

}  // namespace

// The one place that reads and writes the projections' private members wholesale.
// Rows are written in a sorted order so the same state gives the same tables.
struct SnapshotAccess {
  static void write(const State& s, Db& db);
  static void read(Db& db, const std::string& path, State& s);
  static void read_nodes(Db& db, Directory& d);
  static void check_directory(Directory& d);
  static void check_networks(Networks& n);
  static void write_audit(const AuditLog& a, Db& db);
  static void read_audit(Db& db, uint64_t last_seq, AuditLog& a);
};

void SnapshotAccess::write(const State& s, Db& db) {
  const Directory& d = s.directory;
  const Networks& nets = s.networks;
  const Trust& t = s.trust;
  std::string b1, b2;

  db.exec(kSchema);
  db.exec("BEGIN");
  {
    Stmt st(db, "INSERT INTO meta VALUES(?,?,?,?,?,?)");
    st.insert(s.last_seq, s.last_hash, s.term, d.next_node_, nets.next_net_, kSnapshotFormatVersion);
  }
  {
    Stmt st(db, "INSERT INTO nodes VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    for (uint32_t id : sorted_keys(d.nodes_)) {
      const Node& n = d.nodes_.at(id);
      st.insert(n.id, n.owner, n.public_key, n.real_addr, n.is_public, n.hostname, encode_list(b1, n.tags),
                encode_list(b2, n.lan_addrs), n.key_created_ns, n.key_rotated_ns, n.key_rot_count, n.key_expires,
                n.external_id(), n.version, n.relay_only, n.badge(), n.badge_sig(), n.verification_provider(),
                n.verified_at(), n.recovery_commitment(), n.recovery_provider(), n.recovery_nonce(), n.recovery_exp(),
                n.registered_at_ns, n.last_registered_ns);
    }
  }
  {
    Stmt st(db, "INSERT INTO key_index VALUES(?,?)");
    for (const auto& e : d.key_idx_.sorted()) st.insert(e.key, e.id);
  }
  {
    Stmt st(db, "INSERT INTO owner_index VALUES(?,?)");
    for (const auto& [o, id] : d.owner_idx_.sorted()) st.insert(o, id);
  }
  {
    Stmt net_st(db, "INSERT INTO networks VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    Stmt mem_st(db, "INSERT INTO members VALUES(?,?,?,?,?)");
    for (const auto& [id, n] : nets.nets_) {
      if (id == 0) continue;  // the backbone is implicit
      net_st.insert(n.id, n.name, n.join_rule, n.token, n.admin_token, n.enterprise, n.policy.max_members,
                    encode_list(b1, n.policy.allowed_ports), n.policy.description, n.rules_json, n.expr_policy_json,
                    n.created_ns);
      for (size_t i = 0; i < n.members.size(); ++i) {
        uint32_t node = n.members[i];
        auto tags = n.member_tags.find(node);
        mem_st.insert(id, node, i, n.role_of(node),
                      tags == n.member_tags.end() ? Blob{} : encode_list(b1, tags->second));
      }
    }
  }
  {
    Stmt st(db, "INSERT INTO invites VALUES(?,?,?,?,?)");
    for (uint32_t target : sorted_keys(nets.inbox_)) {
      const auto& v = nets.inbox_.at(target);
      for (size_t i = 0; i < v.size(); ++i) st.insert(target, i, v[i].network_id, v[i].inviter_id, v[i].time_ns);
    }
  }
  {
    Stmt st(db, "INSERT INTO rbac_pre_assign VALUES(?,?,?,?)");
    for (const auto& [net, v] : nets.rbac_)
      for (size_t i = 0; i < v.size(); ++i) st.insert(net, i, v[i].external_id, v[i].role);
  }
  {
    Stmt st(db, "INSERT INTO trust_pairs VALUES(?,?)");
    for (const auto& [a, b] : t.sorted_pairs()) st.insert(a, b);
  }
  {
    Stmt st(db, "INSERT INTO pending_handshakes VALUES(?,?)");
    for (const auto& [from, to] : t.sorted_pending()) st.insert(from, to);
  }
  {
    Stmt st(db, "INSERT INTO handshake_requests VALUES(?,?,?,?,?)");
    for (uint32_t node : sorted_keys(t.requests_)) {
      const auto& v = t.requests_.at(node);
      for (size_t i = 0; i < v.size(); ++i) st.insert(node, i, v[i].from_node_id, v[i].justification, v[i].time_ns);
    }
  }
  {
    Stmt st(db, "INSERT INTO handshake_responses VALUES(?,?,?,?,?)");
    for (uint32_t node : sorted_keys(t.responses_)) {
      const auto& v = t.responses_.at(node);
      for (size_t i = 0; i < v.size(); ++i) st.insert(node, i, v[i].from_node_id, v[i].accept, v[i].time_ns);
    }
  }
  {
    Stmt st(db, "INSERT INTO beacons VALUES(?,?,?)");
    for (const auto& [id, b] : s.settings.beacons) st.insert(id, b.addr, b.registered_ns);
  }
  {
    Stmt st(db, "INSERT INTO settings VALUES(?,?)");
    for_each_setting(s.settings, [&](const char* key, const std::string& value) { st.insert(key, value); });
  }
  write_audit(s.audit, db);
  db.exec("COMMIT");
}

void SnapshotAccess::write_audit(const AuditLog& a, Db& db) {
  db.exec(kAuditSchema);
  {
    Stmt st(db, "INSERT INTO audit_meta VALUES(?,?)");
    st.insert(a.head_, a.total_);
  }
  {
    Stmt st(db, "INSERT INTO audit_entries VALUES(?,?,?,?,?,?,?,?,?)");
    for (size_t i = 0; i < a.size(); ++i) {
      const AuditEntry& e = a.at(i);
      st.insert(i, e.seq, e.time, e.action_name(), e.network_id, e.node_id, e.details, e.prev_hash, e.hash);
    }
  }
  {
    Stmt st(db, "INSERT INTO audit_counts VALUES(?,?)");
    for (size_t i = 0; i < kAuditActionCount; ++i)
      if (a.counts_[i] != 0) st.insert(audit_action_name(static_cast<AuditAction>(i)), a.counts_[i]);
  }
}

void SnapshotAccess::read_audit(Db& db, uint64_t last_seq, AuditLog& a) {
  {
    Stmt st(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='audit_meta'");
    if (!st.row() || st.i64(0) == 0) return;  // written before the audit view existed
  }
  {
    Stmt st(db, "SELECT head, total FROM audit_meta");
    if (!st.row()) corrupt("no audit_meta row");
    a.head_ = st.str(0);
    a.total_ = st.u<uint64_t>(1, "audit total");
    if (st.row()) corrupt("more than one audit_meta row");
  }
  auto action = [](Stmt& st, int c) {
    auto act = audit_action_from_name(st.bytes(c));
    if (!act) corrupt("unknown audit action " + st.str(c));
    return *act;
  };
  std::vector<AuditEntry> entries;
  {
    Stmt st(db,
            "SELECT ordinal, seq, time, action, network_id, node_id, details, prev_hash, hash FROM audit_entries "
            "ORDER BY rowid");
    while (st.row()) {
      if (st.u<uint64_t>(0, "audit ordinal") != entries.size()) corrupt("audit rows out of order");
      AuditEntry& e = entries.emplace_back();
      e.seq = st.u<uint64_t>(1, "audit seq");
      e.time = st.i64(2);
      e.action = action(st, 3);
      e.network_id = st.u<uint16_t>(4, "audit network_id");
      e.node_id = st.u<uint32_t>(5, "audit node_id");
      e.details = st.str(6);
      e.prev_hash = st.str(7);
      e.hash = st.str(8);
      if (e.seq == 0 || e.seq > last_seq || (entries.size() > 1 && e.seq < entries[entries.size() - 2].seq))
        corrupt("audit entry seq out of order or past the snapshot");
    }
  }
  // The ring keeps the newest min(total, capacity) entries, chained, the head last.
  if (entries.size() != std::min<uint64_t>(a.total_, AuditLog::kCapacity))
    corrupt("audit entries do not match the total");
  if (auto bad = audit_chain_break(entries)) corrupt("audit hash chain broken at entry " + std::to_string(*bad));
  if (a.head_ != (entries.empty() ? std::string() : entries.back().hash))
    corrupt("audit head is not the newest entry's hash");
  uint64_t counted = 0;
  {
    Stmt st(db, "SELECT action, count FROM audit_counts ORDER BY rowid");
    while (st.row()) {
      uint64_t& c = a.counts_[static_cast<size_t>(action(st, 0))];
      if (c != 0) corrupt("audit action counted twice");
      c = st.u<uint64_t>(1, "audit count");
      if (__builtin_add_overflow(counted, c, &counted)) corrupt("audit counts overflow");
    }
  }
  if (counted != a.total_) corrupt("audit counts do not add up to the total");
  a.ring_ = std::move(entries);
}

void SnapshotAccess::read_nodes(Db& db, Directory& d) {
  // Headroom, so the first registrations replayed after the snapshot do not rehash
  // a million-entry table.
  const auto rows = static_cast<size_t>(count_rows(db, "nodes"));
  d.nodes_.reserve(rows + rows / 4 + 64);
  Stmt st(db,
          "SELECT id, owner, public_key, real_addr, public, hostname, tags, lan_addrs, key_created_ns, "
          "key_rotated_ns, key_rot_count, key_expires, external_id, version, relay_only, badge, badge_sig, "
          "verification_provider, verified_at, recovery_commitment, recovery_provider, recovery_nonce, "
          "recovery_exp, registered_at_ns, last_registered_ns FROM nodes ORDER BY rowid");
  while (st.row()) {
    uint32_t id = st.u<uint32_t>(0, "node id");
    if (id == 0 || id >= d.next_node_) corrupt("node id " + std::to_string(id) + " outside [1, next_node)");
    auto [node, inserted] = d.nodes_.try_emplace(id);
    if (!inserted) corrupt("node " + std::to_string(id) + " twice");
    Node& n = *node;
    n.owner = st.str(1);
    n.public_key = st.key(2, "public_key");
    n.real_addr = st.str(3);
    n.is_public = st.b(4, "public");
    n.hostname = st.str(5);
    n.tags = decode_list<std::string>(st.bytes(6), "tags");
    n.lan_addrs = decode_list<std::string>(st.bytes(7), "lan_addrs");
    n.key_created_ns = st.i64(8);
    n.key_rotated_ns = st.i64(9);
    n.key_rot_count = st.u<uint32_t>(10, "key_rot_count");
    n.key_expires = st.i64(11);
    n.version = st.str(13);
    n.relay_only = st.b(14, "relay_only");
    // The extras are allocated only when one of them is set.
    const bool has_extras = !st.bytes(12).empty() || !st.bytes(15).empty() || !st.bytes(16).empty() ||
                            !st.bytes(17).empty() || st.i64(18) != 0 || !st.bytes(19).empty() ||
                            !st.bytes(20).empty() || !st.bytes(21).empty() || st.i64(22) != 0;
    if (has_extras) {
      NodeExtras& x = n.extras.mut();
      x.external_id = st.str(12);
      x.badge = st.str(15);
      x.badge_sig = st.str(16);
      x.verification_provider = st.str(17);
      x.verified_at = st.i64(18);
      x.recovery_commitment = st.str(19);
      x.recovery_provider = st.str(20);
      x.recovery_nonce = st.str(21);
      x.recovery_exp = st.i64(22);
    }
    n.registered_at_ns = st.i64(23);
    n.last_registered_ns = st.i64(24);
  }
}

void SnapshotAccess::read(Db& db, const std::string& path, State& s) {
  Directory& d = s.directory;
  Networks& nets = s.networks;
  Trust& t = s.trust;
  {
    Stmt st(db, "SELECT format_version, last_seq, last_hash, term, next_node, next_net FROM meta");
    if (!st.row()) corrupt("no meta row");
    int64_t version = st.i64(0);
    if (version != kSnapshotFormatVersion)
      throw Error("unsupported snapshot format_version " + std::to_string(version) + " (want " +
                  std::to_string(kSnapshotFormatVersion) + ")");
    s.last_seq = static_cast<uint64_t>(st.i64(1));
    s.last_hash = st.key(2, "last_hash");
    s.term = static_cast<uint64_t>(st.i64(3));
    d.next_node_ = st.u<uint64_t>(4, "next_node");
    nets.next_net_ = st.u<uint32_t>(5, "next_net");
    if (d.next_node_ < 1 || d.next_node_ > (uint64_t{1} << 32)) corrupt("next_node out of range");
    if (nets.next_net_ < 1 || nets.next_net_ > 65536) corrupt("next_net out of range");
    if (st.row()) corrupt("more than one meta row");
  }
  // The nodes table is most of the file: a second connection reads it in parallel
  // with the indexes (the two fill different members of the Directory).
  std::exception_ptr nodes_error;
  std::thread nodes_reader([&] {
    try {
      Db nodes_db(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
      read_nodes(nodes_db, d);
    } catch (...) {
      nodes_error = std::current_exception();
    }
  });
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join_nodes{nodes_reader};
  {
    const auto keys = static_cast<size_t>(count_rows(db, "key_index"));
    d.key_idx_.reserve(keys + keys / 4 + 64);
    Stmt st(db, "SELECT public_key, node_id FROM key_index ORDER BY rowid");
    while (st.row()) {
      PublicKey k = st.key(0, "key_index key");
      uint32_t id = st.u<uint32_t>(1, "key_index id");
      if (id == 0 || d.key_idx_.find(k)) corrupt("key bound twice or to node 0");
      d.key_idx_.assign(k, id);
    }
  }
  {
    const auto owners = static_cast<size_t>(count_rows(db, "owner_index"));
    d.owner_idx_.reserve(owners + owners / 4 + 64);
    Stmt st(db, "SELECT owner, node_id FROM owner_index ORDER BY rowid");
    while (st.row()) {
      if (!d.owner_idx_.try_emplace(st.str(0), st.u<uint32_t>(1, "owner_index id"))) corrupt("owner bound twice");
    }
  }
  join_nodes.t.join();
  if (nodes_error) std::rethrow_exception(nodes_error);
  check_directory(d);
  {
    Stmt st(db,
            "SELECT id, name, join_rule, token, admin_token, enterprise, max_members, allowed_ports, description, "
            "rules_json, expr_policy_json, created_ns FROM networks ORDER BY rowid");
    while (st.row()) {
      uint16_t id = st.u<uint16_t>(0, "network id");
      if (id == 0 || id >= nets.next_net_) corrupt("network id " + std::to_string(id) + " outside [1, next_net)");
      auto [it, inserted] = nets.nets_.try_emplace(id);
      if (!inserted) corrupt("network " + std::to_string(id) + " twice");
      Network& n = it->second;
      n.id = id;
      n.name = st.str(1);
      n.join_rule = st.str(2);
      n.token = st.str(3);
      n.admin_token = st.str(4);
      n.enterprise = st.b(5, "enterprise");
      n.policy.max_members = st.u<uint32_t>(6, "max_members");
      n.policy.allowed_ports = decode_list<uint16_t>(st.bytes(7), "allowed_ports");
      n.policy.description = st.str(8);
      n.rules_json = st.str(9);
      n.expr_policy_json = st.str(10);
      n.created_ns = st.i64(11);
    }
  }
  {
    Stmt st(db, "SELECT network_id, node_id, ordinal, role, tags FROM members ORDER BY rowid");
    while (st.row()) {
      uint16_t net = st.u<uint16_t>(0, "member network");
      auto it = nets.nets_.find(net);
      if (net == 0 || it == nets.nets_.end()) corrupt("member of unknown network " + std::to_string(net));
      Network& n = it->second;
      uint32_t node = st.u<uint32_t>(1, "member node");
      if (st.u<uint64_t>(2, "member ordinal") != n.members.size()) corrupt("member rows out of order");
      n.members.push_back(node);
      if (Role r = st.role(3); r != Role::kNone) n.roles.emplace(node, r);
      auto tags = decode_list<std::string>(st.bytes(4), "member tags");
      if (!tags.empty()) n.member_tags.emplace(node, std::move(tags));
    }
  }
  {
    Stmt st(db, "SELECT target_id, ordinal, network_id, inviter_id, time_ns FROM invites ORDER BY rowid");
    while (st.row()) {
      auto& v = nets.inbox_[st.u<uint32_t>(0, "invite target")];
      if (st.u<uint64_t>(1, "invite ordinal") != v.size()) corrupt("invite rows out of order");
      v.push_back({st.u<uint16_t>(2, "invite network"), st.u<uint32_t>(3, "inviter"), st.i64(4)});
    }
  }
  {
    Stmt st(db, "SELECT network_id, ordinal, external_id, role FROM rbac_pre_assign ORDER BY rowid");
    while (st.row()) {
      auto& v = nets.rbac_[st.u<uint16_t>(0, "pre-assignment network")];
      if (st.u<uint64_t>(1, "pre-assignment ordinal") != v.size()) corrupt("pre-assignment rows out of order");
      v.push_back({st.str(2), st.role(3)});
      if (v.back().role == Role::kNone) corrupt("pre-assignment without a role");
    }
  }
  check_networks(nets);
  {
    Stmt st(db, "SELECT a, b FROM trust_pairs ORDER BY rowid");
    while (st.row()) t.pairs_.insert(Trust::pair_key(st.u<uint32_t>(0, "trust a"), st.u<uint32_t>(1, "trust b")));
  }
  {
    Stmt st(db, "SELECT from_node_id, to_node_id FROM pending_handshakes ORDER BY rowid");
    while (st.row()) t.pending_.insert(Trust::pack(st.u<uint32_t>(0, "pending from"), st.u<uint32_t>(1, "pending to")));
  }
  {
    Stmt st(db, "SELECT node_id, ordinal, from_node_id, justification, time_ns FROM handshake_requests ORDER BY rowid");
    while (st.row()) {
      auto& v = t.requests_[st.u<uint32_t>(0, "handshake request node")];
      if (st.u<uint64_t>(1, "handshake request ordinal") != v.size()) corrupt("handshake request rows out of order");
      v.push_back({st.u<uint32_t>(2, "handshake request from"), st.str(3), st.i64(4)});
    }
  }
  {
    Stmt st(db, "SELECT node_id, ordinal, from_node_id, accept, time_ns FROM handshake_responses ORDER BY rowid");
    while (st.row()) {
      auto& v = t.responses_[st.u<uint32_t>(0, "handshake response node")];
      if (st.u<uint64_t>(1, "handshake response ordinal") != v.size()) corrupt("handshake response rows out of order");
      v.push_back({st.u<uint32_t>(2, "handshake response from"), st.b(3, "accept"), st.i64(4)});
    }
  }
  {
    Stmt st(db, "SELECT id, addr, registered_ns FROM beacons ORDER BY rowid");
    while (st.row()) {
      uint32_t id = st.u<uint32_t>(0, "beacon id");
      if (id == 0 || !s.settings.beacons.try_emplace(id, Beacon{id, st.str(1), st.i64(2)}).second)
        corrupt("bad or repeated beacon id");
    }
  }
  {
    Stmt st(db, "SELECT key, value FROM settings ORDER BY rowid");
    while (st.row()) {
      std::string key = st.str(0);
      bool known = false;
      for_each_setting(s.settings, [&](const char* name, std::string& field) {
        if (key == name) {
          field = st.str(1);
          known = true;
        }
      });
      if (!known) corrupt("unknown setting " + key);
    }
  }
  read_audit(db, s.last_seq, s.audit);
}

void SnapshotAccess::check_directory(Directory& d) {
  d.dormant_key_.reserve(d.key_idx_.size() - std::min(d.key_idx_.size(), d.nodes_.size()));
  d.key_idx_.for_each([&](const PublicKey& key, uint32_t id) {
    if (const Node* n = d.nodes_.find(id)) {
      if (n->public_key != key) corrupt("key index entry for live node " + std::to_string(id) + " is not its key");
    } else if (!d.dormant_key_.try_emplace(id, key).second) {
      corrupt("node " + std::to_string(id) + " bound to two keys");
    }
  });
  d.hostname_idx_.reserve(d.nodes_.size() / 2);
  for (const auto& [id, n] : d.nodes_) {
    if (!n.hostname.empty() && !d.hostname_idx_.try_emplace(n.hostname, id).second)
      corrupt("hostname " + n.hostname + " held twice");
  }
}

void SnapshotAccess::check_networks(Networks& n) {
  n.rebuild_derived();
  if (n.name_idx_.size() != n.nets_.size()) corrupt("duplicate network names");
  size_t memberships = 0, members = 0;
  for (const auto& [node, v] : n.memberships_) {
    memberships += v.size();
    if (std::adjacent_find(v.begin(), v.end()) != v.end()) corrupt("node listed twice in a network");
  }
  for (const auto& [id, net] : n.nets_) members += net.members.size();
  if (memberships != members) corrupt("membership lists disagree");
  size_t invites = 0, sent = 0;
  for (const auto& [target, v] : n.inbox_) {
    for (const Invite& i : v) {
      if (!n.custom(i.network_id)) corrupt("invite to unknown network");
    }
    invites += v.size();
  }
  for (const auto& [inviter, v] : n.sent_) sent += v.size();
  if (invites != sent) corrupt("two invites for the same network and target");
  for (const auto& [net, v] : n.rbac_) {
    if (!n.custom(net)) corrupt("pre-assignment for unknown network");
  }
}

void save_snapshot(const State& state, const std::string& path) {
  const std::string tmp = path + ".tmp";
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) throw Error("unlink " + tmp + ": " + std::strerror(errno));
  try {
    Db db(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
    // We fsync the finished file ourselves, so the temporary file needs no journal.
    // Big pages: fewer B-tree pages and page headers for a bulk load.
    db.exec(
        "PRAGMA page_size=65536; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
        "PRAGMA cache_size=-65536");
    SnapshotAccess::write(state, db);
    db.close();
    sync_path(tmp, false);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw Error("rename " + tmp + " -> " + path + ": " + std::strerror(errno));
  } catch (const std::exception& e) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("save_snapshot " + path + ": " + e.what());
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  try {
    sync_path(dir.empty() ? "." : dir, true);
  } catch (const std::exception& e) {
    throw std::runtime_error("save_snapshot " + path + ": " + e.what());
  }
}

std::optional<State> load_snapshot(const std::string& path, std::string* error) {
  auto fail = [&](const std::string& msg) -> std::optional<State> {
    if (error) *error = "load_snapshot " + path + ": " + msg;
    return std::nullopt;
  };
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return fail("no such file");
  try {
    Db db(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
    std::optional<State> s(std::in_place);
    SnapshotAccess::read(db, path, *s);
    return s;
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace pilot
