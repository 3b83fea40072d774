#include "log/format.h"

#include <sodium.h>

#include <cstdio>
#include <cstring>

#include "log/crc32c.h"

namespace pilot::log {
namespace {

template <class U>
void put_le(char* p, U v) {
  for (size_t i = 0; i < sizeof(U); ++i) p[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
}

template <class U>
U get_le(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(U); ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return static_cast<U>(v);
}

// Bytes [8, 36) of a record — seq, term, time, kind, flags — which the chain hash
// covers. The writer frames them in place; check_chain rebuilds them from a Record.
constexpr size_t kHashedFieldsSize = 28;
void put_hashed_fields(char* p, uint64_t seq, uint64_t term, int64_t time_ns, uint16_t kind) {
  put_le<uint64_t>(p, seq);
  put_le<uint64_t>(p + 8, term);
  put_le<int64_t>(p + 16, time_ns);
  put_le<uint16_t>(p + 24, kind);
  put_le<uint16_t>(p + 26, 0);  // flags
}

uint32_t record_crc(const char* rec, size_t total) {
  uint32_t c = crc32c(rec, 4);
  return crc32c_extend(c, rec + 8, total - 8);
}

bool all_zero(std::string_view b) {
  for (char c : b)
    if (c != 0) return false;
  return true;
}

}  // namespace

std::string encode_segment_header(const SegmentHeader& h) {
  std::string b(kSegmentHeaderSize, '\0');
  std::memcpy(b.data(), kSegmentMagic, 8);
  put_le<uint32_t>(&b[8], kFormatVersion);
  put_le<uint64_t>(&b[16], h.first_seq);
  std::memcpy(&b[24], h.prev_hash.data(), 32);
  put_le<uint32_t>(&b[60], crc32c(b.data(), 60));
  return b;
}

bool decode_segment_header(std::string_view b, SegmentHeader& out) {
  if (b.size() < kSegmentHeaderSize) return false;
  if (std::memcmp(b.data(), kSegmentMagic, 8) != 0) return false;
  if (get_le<uint32_t>(&b[8]) != kFormatVersion) return false;
  if (get_le<uint32_t>(&b[60]) != crc32c(b.data(), 60)) return false;
  out.first_seq = get_le<uint64_t>(&b[16]);
  std::memcpy(out.prev_hash.data(), &b[24], 32);
  return true;
}

Hash chain_hash(const Hash& prev, std::string_view header_fields, std::string_view payload) {
  Hash h;
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, h.size());
  crypto_generichash_update(&st, prev.data(), prev.size());
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(header_fields.data()), header_fields.size());
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  crypto_generichash_final(&st, h.data(), h.size());
  return h;
}

Hash append_record(std::string& out, const Hash& prev, uint64_t seq, uint64_t term, int64_t time_ns, uint16_t kind,
                   std::string_view payload) {
  const size_t start = out.size();
  out.resize(start + kRecordHeaderSize);
  char* h = &out[start];
  put_le<uint32_t>(h, static_cast<uint32_t>(payload.size()));
  put_hashed_fields(h + 8, seq, term, time_ns, kind);
  Hash hash = chain_hash(prev, std::string_view(h + 8, kHashedFieldsSize), payload);
  std::memcpy(h + 36, hash.data(), 32);
  out.append(payload);
  h = &out[start];  // append may have moved the buffer
  put_le<uint32_t>(h + 4, record_crc(h, kRecordHeaderSize + payload.size()));
  return hash;
}

const char* to_string(ParseResult r) {
  switch (r) {
    case ParseResult::kOk: return "ok";
    case ParseResult::kEnd: return "end";
    case ParseResult::kTruncated: return "truncated record";
    case ParseResult::kCorrupt: return "corrupt record";
  }
  return "?";
}

ParseResult parse_record(std::string_view b, Record& out, size_t& consumed, const char** why) {
  consumed = 0;
  auto bad = [&](ParseResult r, const char* reason) {
    if (why) *why = reason;
    return r;
  };
  if (b.size() < kRecordHeaderSize)
    return all_zero(b) ? ParseResult::kEnd : bad(ParseResult::kTruncated, "record header cut short");
  if (all_zero(b.substr(0, kRecordHeaderSize))) return ParseResult::kEnd;
  const char* h = b.data();
  uint32_t len = get_le<uint32_t>(h);
  if (len > kMaxPayload) return bad(ParseResult::kCorrupt, "record length over the 1 MiB maximum");
  if (b.size() < kRecordHeaderSize + len) return bad(ParseResult::kTruncated, "record payload cut short");
  if (get_le<uint32_t>(h + 4) != record_crc(h, kRecordHeaderSize + len))
    return bad(ParseResult::kCorrupt, "record checksum mismatch");
  if (get_le<uint16_t>(h + 34) != 0) return bad(ParseResult::kCorrupt, "record flags not zero");
  out.seq = get_le<uint64_t>(h + 8);
  out.term = get_le<uint64_t>(h + 16);
  out.time_ns = get_le<int64_t>(h + 24);
  out.kind = get_le<uint16_t>(h + 32);
  std::memcpy(out.hash.data(), h + 36, 32);
  out.payload.assign(h + kRecordHeaderSize, len);
  consumed = kRecordHeaderSize + len;
  return ParseResult::kOk;
}

std::string check_order(const Record& r, uint64_t prev_seq, uint64_t prev_term) {
  char buf[160];
  if (r.seq != prev_seq + 1) {
    std::snprintf(buf, sizeof buf, "sequence gap: expected seq %llu, found %llu", (unsigned long long)(prev_seq + 1),
                  (unsigned long long)r.seq);
    return buf;
  }
  if (r.term < prev_term) {
    std::snprintf(buf, sizeof buf, "term went backwards: %llu after %llu", (unsigned long long)r.term,
                  (unsigned long long)prev_term);
    return buf;
  }
  return {};
}

std::string check_chain(const Record& r, uint64_t prev_seq, const Hash& prev_hash, uint64_t prev_term) {
  if (std::string why = check_order(r, prev_seq, prev_term); !why.empty()) return why;
  char fields[kHashedFieldsSize];
  put_hashed_fields(fields, r.seq, r.term, r.time_ns, r.kind);
  if (chain_hash(prev_hash, std::string_view(fields, sizeof fields), r.payload) != r.hash)
    return "hash chain broken: record was edited, dropped or reordered";
  return {};
}

std::string segment_file_name(uint64_t first_seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.seg", static_cast<unsigned long long>(first_seq));
  return buf;
}

bool parse_segment_file_name(std::string_view name, uint64_t& first_seq) {
  if (name.size() != 24 || name.substr(20) != ".seg") return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  first_seq = v;
  return true;
}

std::string hash_hex(const Hash& h) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t b : h) s += d[b >> 4], s += d[b & 15];
  return s;
}

}  // namespace pilot::log
