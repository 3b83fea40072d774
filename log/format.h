// The bytes of the write-ahead log, shared by the writer, the reader, recovery and
// pilot-log. log/FORMAT.md tells the same story with a worked example.
//
// A data directory's log/ holds segment files named by the sequence number of their
// first record, 20 zero-padded decimal digits + ".seg". A segment is a 64-byte header
// followed by records back to back; the rest of a preallocated segment is zeros.
//
// Segment header (little-endian):
//   0  char[8]  magic "PILOTLOG"
//   8  u32      format version (1)
//  12  u32      reserved, 0
//  16  u64      first_seq: sequence number of the first record in this segment
//  24  u8[32]   prev_hash: hash of record first_seq-1 (zeros for the first segment)
//  56  u32      reserved, 0
//  60  u32      crc32c of bytes [0, 60)
//
// Record (little-endian):
//   0  u32      payload length
//   4  u32      crc32c of bytes [0,4) ‖ [8, 68 + length)  (everything but itself)
//   8  u64      seq: 1, 2, 3, … with no gaps across segments
//  16  u64      term: leader epoch; never decreases
//  24  i64      time: unix nanoseconds when the leader appended it
//  32  u16      kind: core/events.h EventKind
//  34  u16      flags: 0 (reserved)
//  36  u8[32]   hash = BLAKE2b-256(prev record's hash ‖ bytes [8, 36) ‖ payload)
//  68  u8[len]  payload: core/events.h binary encoding
//
// End of data: fewer than 68 bytes left, or a header of 68 zero bytes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/events.h"

namespace pilot::log {

using Hash = std::array<uint8_t, 32>;

inline constexpr char kSegmentMagic[8] = {'P', 'I', 'L', 'O', 'T', 'L', 'O', 'G'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 64;
inline constexpr size_t kRecordHeaderSize = 68;
// Events are small (the largest is a network with its policies); the cap keeps a
// corrupt length from sending the reader on a 4 GiB allocation.
inline constexpr uint32_t kMaxPayload = 1u << 20;
inline constexpr uint64_t kDefaultSegmentBytes = 64ull << 20;
// The writer never has more than this many bytes written but not yet fdatasync'd
// (fsync=always). Recovery relies on it: corruption followed by a valid record
// further away than this cannot be a torn write, so it is refused as mid-log damage.
inline constexpr uint64_t kMaxBatchBytes = 1ull << 20;
inline constexpr uint64_t kTornTailWindow = kMaxBatchBytes + kRecordHeaderSize + kMaxPayload;

struct SegmentHeader {
  uint64_t first_seq = 0;
  Hash prev_hash{};
};

struct RecordHeader {
  uint32_t length = 0;
  uint32_t crc = 0;
  uint64_t seq = 0;
  uint64_t term = 0;
  int64_t time_ns = 0;
  uint16_t kind = 0;
  uint16_t flags = 0;
  Hash hash{};
};

// A decoded record: header fields plus its payload bytes.
struct Record {
  uint64_t seq = 0;
  uint64_t term = 0;
  int64_t time_ns = 0;
  uint16_t kind = 0;
  Hash hash{};
  std::string payload;
  EventMeta meta() const { return {seq, term, time_ns}; }
};

std::string encode_segment_header(const SegmentHeader& h);
// false on bad magic, version or crc.
bool decode_segment_header(std::string_view bytes, SegmentHeader& out);

Hash chain_hash(const Hash& prev, std::string_view header_fields /* bytes [8,36) */, std::string_view payload);

// Appends one framed record to `out` and returns its hash. `prev` is the previous
// record's hash.
Hash append_record(std::string& out, const Hash& prev, uint64_t seq, uint64_t term, int64_t time_ns, uint16_t kind,
                   std::string_view payload);

enum class ParseResult {
  kOk,         // a whole, checksummed record
  kEnd,        // clean end of data (short tail of zeros or end of bytes)
  kTruncated,  // a record starts but its bytes end early
  kCorrupt,    // bad crc, length, flags, or non-zero garbage
};
const char* to_string(ParseResult r);

// Parses the record at the start of `bytes` (framing + crc only; the caller checks
// seq continuity and the hash chain). On kOk, `consumed` is its size on disk. On
// failure `*why` (if given) names the check that failed.
ParseResult parse_record(std::string_view bytes, Record& out, size_t& consumed, const char** why = nullptr);

// Checks that `r` continues the chain after (prev_seq, prev_hash, prev_term).
// Returns an empty string if it does, else what is wrong.
std::string check_chain(const Record& r, uint64_t prev_seq, const Hash& prev_hash, uint64_t prev_term);
// The same without recomputing the hash: sequence and term order only.
std::string check_order(const Record& r, uint64_t prev_seq, uint64_t prev_term);

std::string segment_file_name(uint64_t first_seq);
// true and sets first_seq for names produced by segment_file_name.
bool parse_segment_file_name(std::string_view name, uint64_t& first_seq);

std::string hash_hex(const Hash& h);

}  // namespace pilot::log
