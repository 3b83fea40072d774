// Fuzzes the log reader with arbitrary bytes as the body of a segment file (what
// follows the 64-byte header): parse_record walked over the buffer, parse_record at
// every early offset (as recovery's look-ahead does), and log::Scanner over a real
// segment file holding the bytes. Besides "no crash, no leak", it checks that the
// three agree with each other and that a record which continues the chain is
// exactly what append_record would write.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/events.h"
#include "log/format.h"
#include "log/scanner.h"

namespace {

using namespace pilot;
using namespace pilot::log;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_record_reader: invariant failed: %s\n", what);
    std::abort();
  }
}

// One segment file in a private directory, rewritten for every input.
struct TempLog {
  std::string dir, segment;
  TempLog() {
    std::string t = (std::filesystem::temp_directory_path() / "fuzz-record-reader-XXXXXX").string();
    check(::mkdtemp(t.data()) != nullptr, "mkdtemp");
    dir = t;
    segment = dir + "/" + segment_file_name(1);
  }
  ~TempLog() {
    ::unlink(segment.c_str());
    ::rmdir(dir.c_str());
  }
  void write(std::string_view body) const {
    std::string file = encode_segment_header({1, Hash{}});
    file.append(body);
    int fd = ::open(segment.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    check(fd >= 0, "open temp segment");
    size_t done = 0;
    while (done < file.size()) {
      ssize_t n = ::write(fd, file.data() + done, file.size() - done);
      check(n > 0, "write temp segment");
      done += static_cast<size_t>(n);
    }
    ::close(fd);
  }
};

struct Scan {
  std::vector<Record> records;
  Scanner::Status end = Scanner::Status::kEnd;
};

Scan scan(const std::string& dir, uint64_t from_seq, bool verify_chain) {
  Scanner s(dir, from_seq, verify_chain);
  Scan out;
  Record r;
  while ((out.end = s.next(r)) == Scanner::Status::kRecord) {
    out.records.push_back(r);
    check(out.records.size() <= (1u << 20), "scanner runs away");
  }
  if (out.end == Scanner::Status::kError) check(!s.error().what.empty(), "scan error without a reason");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const TempLog temp;
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  // 1. Walk the buffer record by record, as a reader of one segment does.
  std::vector<Record> parsed;
  size_t chained = 0;  // leading records that also continue the hash chain from seq 1
  bool chain_ok = true;
  Hash prev_hash{};
  uint64_t prev_seq = 0, prev_term = 0;
  ParseResult last = ParseResult::kEnd;
  size_t end_of_data = 0;
  for (size_t off = 0;; end_of_data = off) {
    Record r;
    size_t consumed = 0;
    last = parse_record(body.substr(off), r, consumed);
    if (last != ParseResult::kOk) {
      check(consumed == 0, "consumed set on failure");
      break;
    }
    check(consumed == kRecordHeaderSize + r.payload.size(), "consumed != header + payload");
    check(consumed <= body.size() - off, "record longer than the buffer");
    check(r.payload.size() <= kMaxPayload, "payload above kMaxPayload");
    if (chain_ok && check_chain(r, prev_seq, prev_hash, prev_term).empty()) {
      std::string again;
      const Hash h = append_record(again, prev_hash, r.seq, r.term, r.time_ns, r.kind, r.payload);
      check(h == r.hash, "append_record computes another hash");
      check(again == body.substr(off, consumed), "append_record writes other bytes");
      prev_seq = r.seq, prev_hash = r.hash, prev_term = r.term;
      ++chained;
    } else {
      chain_ok = false;
    }
    if (is_known_kind(r.kind)) (void)decode_payload(static_cast<EventKind>(r.kind), r.payload);
    off += consumed;
    parsed.push_back(std::move(r));
  }

  // 2. Parse at every early offset, as recovery's look-ahead for a later record does.
  for (size_t i = 0; i < std::min<size_t>(size, 2048); ++i) {
    Record r;
    size_t consumed = 0;
    if (parse_record(body.substr(i), r, consumed) == ParseResult::kOk)
      check(consumed <= size - i, "record longer than the buffer");
  }

  // 3. The scanner over a real file agrees with the walk above.
  temp.write(body);
  const Scan full = scan(temp.dir, 1, true);
  check(full.records.size() == chained, "scanner and walk disagree on the chained records");
  for (size_t i = 0; i < full.records.size(); ++i)
    check(full.records[i].seq == parsed[i].seq && full.records[i].hash == parsed[i].hash &&
              full.records[i].payload == parsed[i].payload,
          "scanner returned another record");
  // Good = every record parses and chains, and only zeros follow the end of data.
  const bool zeros_after = body.find_first_not_of('\0', end_of_data) == std::string_view::npos;
  const bool good = last == ParseResult::kEnd && chained == parsed.size() && zeros_after;
  if (full.end == Scanner::Status::kEnd)
    check(good, "scanner ended cleanly on a bad buffer");
  else
    check(!good, "scanner failed on a good buffer");

  // Each scanner reads through a 1 MiB buffer, which dominates the cost of an input:
  // run the variants only where they can differ from the full scan.
  if (chained < parsed.size()) {
    const Scan unchained = scan(temp.dir, 1, false);
    check(unchained.records.size() >= chained, "skipping the hash check lost records");
  }
  if (chained >= 3) {
    const Scan from3 = scan(temp.dir, 3, true);
    check(from3.records.size() == chained - 2, "from_seq=3 skipped the wrong records");
    check(from3.records.front().seq == 3, "from_seq=3 started elsewhere");
  }
  return 0;
}
