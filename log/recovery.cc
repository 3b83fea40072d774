#include "log/recovery.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log/file_util.h"
#include "log/scanner.h"

namespace pilot::log {
namespace {

// Is there a checksummed record with a later sequence number anywhere in
// [from, end of file)? Used to tell a torn tail from damage in the middle.
bool valid_record_after(const std::string& path, uint64_t from, uint64_t after_seq) {
  std::string bytes;
  if (!read_file_from(path, from, bytes)) return false;
  Record r;
  size_t consumed = 0;
  for (size_t i = 0; i + kRecordHeaderSize <= bytes.size(); ++i) {
    // Cheap filters before the checksum: plausible length, flags and sequence.
    uint64_t seq;
    std::memcpy(&seq, bytes.data() + i + 8, 8);
    if (seq <= after_seq || seq - after_seq > (1ull << 32)) continue;
    if (bytes[i + 34] != 0 || bytes[i + 35] != 0) continue;
    if (parse_record(std::string_view(bytes).substr(i), r, consumed) == ParseResult::kOk) return true;
  }
  return false;
}

}  // namespace

bool inspect(const std::string& log_dir, RecoveryResult& out, std::string& error) {
  out = RecoveryResult{};
  Scanner s(log_dir, 1, /*verify_chain=*/true);
  // Every record's CRC, seq and term, but the hash chain only of the last segment:
  // only there can a crash have left damage, and rehashing a long log on every start
  // would cost seconds (`pilot-log verify` checks the whole chain offline).
  if (auto segs = list_segments(log_dir); !segs.empty()) s.set_verify_chain_from(segs.back().first_seq);
  Record r;
  Scanner::Status st;
  while ((st = s.next(r)) == Scanner::Status::kRecord) {
    if (out.records++ == 0) out.first_seq = r.seq;
  }
  out.last_seq = s.last_seq();
  out.last_term = s.last_term();
  out.last_hash = s.last_hash();
  out.segment = s.current_segment();
  out.end_offset = s.current_offset();
  if (st != Scanner::Status::kError) return true;

  const ScanError& e = s.error();
  char where[512];
  std::snprintf(where, sizeof where, "%s at offset %llu (after seq %llu): %s", e.segment.c_str(),
                (unsigned long long)e.offset, (unsigned long long)e.after_seq, e.what.c_str());
  // A torn write leaves bytes that fail their checksum, never a checksummed record
  // out of chain, and can only tear a segment header that is zeros or short.
  const bool header_failed = e.segment != out.segment;
  bool torn = e.in_last_segment && !e.chain_error && !e.io_error &&
              (header_failed ? e.kind == ParseResult::kTruncated
                             : !valid_record_after(e.segment, e.offset + kTornTailWindow, e.after_seq));
  if (!torn) {
    error = std::string("log corruption in the middle of the log, refusing to start: ") + where +
            ". Run `pilot-log verify` on the data directory; restore the damaged segment from a replica or backup.";
    return false;
  }
  out.repaired = true;
  if (header_failed) {
    out.remove_segment = e.segment;
    out.report = std::string("torn tail: a segment whose header never reached the disk: ") + where;
  } else {
    out.report = std::string("torn tail: ") + where;
  }
  return true;
}

bool recover(const std::string& log_dir, uint64_t segment_bytes, RecoveryResult& out, std::string& error) {
  if (!inspect(log_dir, out, error)) return false;
  if (!out.remove_segment.empty()) {
    if (::unlink(out.remove_segment.c_str()) != 0) {
      error = "cannot remove torn segment " + out.remove_segment + ": " + std::strerror(errno);
      return false;
    }
    fsync_dir(log_dir);
    out.report = "removed " + out.report;
  } else if (out.repaired) {
    out.report = "cut " + out.report;
  }
  // Zero everything after the last valid record, so bytes of a torn batch can never
  // be mistaken for records later.
  if (!out.segment.empty() && !reset_tail(out.segment, out.end_offset, segment_bytes, error)) return false;
  return true;
}

}  // namespace pilot::log
