// Writes the seed corpora of the fuzz targets (test/fuzz/corpus/<target>/). The
// output is deterministic; rerun it after changing a seed and commit the files:
//   ./build/test/fuzz/fuzz_make_corpus test/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/events.h"
#include "log/crc32c.h"
#include "log/format.h"

namespace {

using namespace pilot;
namespace fs = std::filesystem;

void save(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream f(dir / name, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
}

PublicKey key(uint8_t seed) {
  PublicKey k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(seed + i * 7);
  return k;
}

// A small, fixed event of many kinds.
std::vector<Event> sample_events() {
  NodeRegistered reg;
  reg.node_id = 42;
  reg.public_key = key(1);
  reg.owner = "alice@example.com";
  reg.real_addr = "203.0.113.7:4000";
  reg.lan_addrs = {"10.0.0.5:4000", "192.168.1.9:4000"};
  reg.version = "v1.9.0";
  NetworkCreated net;
  net.network_id = 7;
  net.name = "lab";
  net.join_rule = "token";
  net.token = "s3cret";
  net.enterprise = true;
  net.creator_node_id = 42;
  net.rules_json = R"({"allow":["*:80"]})";
  KeyRotated rot;
  rot.node_id = 42;
  rot.new_public_key = key(99);
  rot.recovered = true;
  rot.recovery_nonce = "n-1";
  rot.recovery_exp = 1772496000;
  NetworkPolicySet pol;
  pol.network_id = 7;
  pol.max_members = 50;
  pol.allowed_ports = {22, 80, 443};
  pol.description = "caf\xc3\xa9 \xff raw bytes";  // valid and invalid UTF-8
  AuditExportConfigured audit{"splunk_hec", "https://splunk:8088", "tok", "main", "pilot"};
  IdpConfigured idp{"oidc", "https://idp", "issuer", "client", "tenant", "example.com"};
  return {reg,
          NodeDeregistered{42},
          TagsChanged{42, {"gpu", "eu-west"}},
          rot,
          net,
          MemberJoined{7, 42, Role::kOwner},
          MemberLeft{7, 43, LeaveReason::kKicked, "spam"},
          pol,
          TrustAdded{42, 43},
          HandshakeRequested{42, 43, "let me in"},
          BeaconRegistered{1, "198.51.100.1:9001"},
          audit,
          idp,
          RbacPreAssigned{7, "ext-9", Role::kAdmin}};
}

// ---- fuzz_record_reader: segment bodies ----------------------------------------------

struct Chain {
  std::string bytes;
  log::Hash prev{};
  uint64_t seq = 0;
  uint64_t term = 1;
  int64_t time = 1772496000LL * 1000000000;
  void add(const Event& e) { add_raw(static_cast<uint16_t>(kind_of(e)), encode_payload(e)); }
  void add_raw(uint16_t kind, const std::string& payload) {
    prev = log::append_record(bytes, prev, ++seq, term, time += 1000, kind, payload);
  }
};

void fix_crc(std::string& rec_bytes, size_t at, size_t len) {
  uint32_t c = log::crc32c_extend(log::crc32c(rec_bytes.data() + at, 4), rec_bytes.data() + at + 8, len - 8);
  for (int i = 0; i < 4; ++i) rec_bytes[at + 4 + i] = static_cast<char>(c >> (8 * i));
}

void record_reader_corpus(const fs::path& dir) {
  const auto events = sample_events();
  save(dir, "empty", "");
  {
    Chain c;
    c.add(events[0]);
    save(dir, "one_record", c.bytes);
  }
  {
    Chain c;
    for (const auto& e : events) c.add(e);
    save(dir, "all_sample_kinds", c.bytes);
    save(dir, "records_then_preallocated_zeros", c.bytes + std::string(300, '\0'));
    save(dir, "truncated_payload", c.bytes.substr(0, c.bytes.size() - 5));
  }
  {
    Chain c;
    c.add(events[1]);
    c.add(events[2]);
    const size_t second = c.bytes.size();
    c.add(events[8]);
    save(dir, "truncated_header", c.bytes.substr(0, second + 30));
    std::string bad = c.bytes;
    bad[second + 70] ^= 0x40;
    save(dir, "bad_crc", bad);
    std::string flags = c.bytes;
    flags[second + 34] = 1;
    fix_crc(flags, second, c.bytes.size() - second);
    save(dir, "nonzero_flags_valid_crc", flags);
    std::string len = c.bytes.substr(0, second);
    std::string hdr(log::kRecordHeaderSize, '\x01');
    const uint32_t huge = log::kMaxPayload + 1;
    for (int i = 0; i < 4; ++i) hdr[i] = static_cast<char>(huge >> (8 * i));
    save(dir, "length_above_max", len + hdr);
  }
  {
    Chain c;
    c.add(events[0]);
    c.seq++;  // seq 3 after 1, framed and chained correctly otherwise
    c.add(events[5]);
    save(dir, "seq_gap", c.bytes);
  }
  {
    Chain c;
    c.term = 5;
    c.add(events[4]);
    c.term = 3;
    c.add(events[5]);
    save(dir, "term_backwards", c.bytes);
  }
  {
    Chain c;
    c.add(events[0]);
    log::Hash wrong{};
    wrong[0] = 1;
    c.prev = wrong;
    c.add(events[9]);
    save(dir, "hash_chain_broken", c.bytes);
  }
  {
    Chain c;
    c.add(events[3]);
    const size_t end1 = c.bytes.size();
    c.add(events[4]);
    std::string gap = c.bytes.substr(0, end1) + std::string(log::kRecordHeaderSize, '\0') + c.bytes.substr(end1);
    save(dir, "zero_gap_hides_a_record", gap);
  }
  {
    Chain c;
    c.add(events[0]);
    c.add_raw(999, "\x01\x02\x03");
    c.add_raw(static_cast<uint16_t>(EventKind::kVisibilityChanged), std::string("\x01\0\0\0\x02", 5));
    save(dir, "unknown_kind_and_undecodable_payload", c.bytes);
  }
  {
    Chain c;
    NetworkCreated big = std::get<NetworkCreated>(events[4]);
    big.rules_json = std::string(3000, '{');
    c.add(big);
    c.add(events[6]);
    save(dir, "big_record", c.bytes);
  }
}

// ---- fuzz_event_decode: kind (2 bytes LE) + payload ----------------------------------

std::string with_kind(uint16_t kind, const std::string& payload) {
  std::string out(2, '\0');
  out[0] = static_cast<char>(kind & 0xff);
  out[1] = static_cast<char>(kind >> 8);
  return out + payload;
}

void event_decode_corpus(const fs::path& dir) {
  for (const auto& e : sample_events()) {
    const std::string name(kind_name(kind_of(e)));
    save(dir, name, with_kind(static_cast<uint16_t>(kind_of(e)), encode_payload(e)));
  }
  const auto k = [](EventKind kind) { return static_cast<uint16_t>(kind); };
  const std::string reg = encode_payload(sample_events()[0]);
  // node_id + key only: older writers' payloads end early, the rest are defaults.
  save(dir, "short_node_registered", with_kind(k(EventKind::kNodeRegistered), reg.substr(0, 4 + 32)));
  save(dir, "empty_node_expired", with_kind(k(EventKind::kNodeExpired), ""));
  save(dir, "trailing_garbage", with_kind(k(EventKind::kNodeDeregistered), std::string("\x2a\0\0\0!", 5)));
  save(dir, "bad_bool", with_kind(k(EventKind::kVisibilityChanged), std::string("\x01\0\0\0\x02", 5)));
  save(dir, "bad_role", with_kind(k(EventKind::kMemberJoined), std::string("\x07\0\x2a\0\0\0\x09", 7)));
  save(dir, "unknown_kind", with_kind(999, "\x01\x02\x03"));
  save(
      dir, "overlong_varint",
      with_kind(k(EventKind::kHostnameChanged), std::string("\x01\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 14)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_ROOT   (e.g. test/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  const fs::path root(argv[1]);
  record_reader_corpus(root / "fuzz_record_reader");
  event_decode_corpus(root / "fuzz_event_decode");
  return 0;
}
