// pilot-log stats: what is in the log, and in what state its tail is.
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "cmd/pilot-log/commands.h"
#include "cmd/pilot-log/reader.h"
#include "core/time_format.h"
#include "log/file_util.h"
#include "log/recovery.h"

namespace pilot::logtool {
namespace {

struct TermRange {
  uint64_t term = 0, first_seq = 0, last_seq = 0, records = 0;
};

struct Stats {
  uint64_t records = 0, first_seq = 0, last_seq = 0, record_bytes = 0;
  int64_t first_time_ns = 0, last_time_ns = 0;
  std::vector<TermRange> terms;
  std::map<uint16_t, uint64_t> kinds;
  size_t segment_files = 0;
  uint64_t bytes_apparent = 0, bytes_allocated = 0;
  std::string first_segment, last_segment;
  // tail: where the log ends and whether it ends cleanly
  std::string tail_state;  // empty | clean | torn | corrupt
  std::string tail_segment;
  uint64_t tail_end_offset = 0, tail_free_bytes = 0, tail_seq = 0, tail_term = 0;
  log::Hash tail_hash{};
  std::optional<Failure> failure;
  std::string recovery;  // what log::recover() will do about the failure
};

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// The tail's state and what recovery will do about it, in recovery's own words
// (log::inspect is recover() without the writes).
void judge_tail(const Options& o, Stats& s) {
  log::RecoveryResult plan;
  std::string refusal;
  if (!log::inspect(o.log_dir(), plan, refusal)) {
    s.tail_state = "corrupt";
    s.recovery = "recovery will refuse to start: " + refusal;
  } else if (plan.repaired) {
    s.tail_state = "torn";
    s.recovery = "recovery will cut the log after seq " + std::to_string(plan.last_seq) + " (" + plan.report + ")";
  } else {
    s.tail_state = "clean";
  }
}

Stats collect(const Options& o) {
  Stats s;
  for (const auto& seg : log::list_segments(o.log_dir())) {
    if (s.segment_files++ == 0) s.first_segment = base_name(seg.path);
    s.last_segment = base_name(seg.path);
    struct stat st;
    if (::stat(seg.path.c_str(), &st) == 0) {
      s.bytes_apparent += static_cast<uint64_t>(st.st_size);
      s.bytes_allocated += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  Reader reader(o.log_dir(), 1, /*decode=*/false);
  log::Record rec;
  Event unused;
  Reader::Status st;
  while ((st = reader.next(rec, unused)) == Reader::Status::kRecord) {
    if (s.records++ == 0) s.first_seq = rec.seq, s.first_time_ns = rec.time_ns;
    s.last_seq = rec.seq;
    s.last_time_ns = rec.time_ns;
    s.record_bytes += log::kRecordHeaderSize + rec.payload.size();
    if (s.terms.empty() || s.terms.back().term != rec.term) s.terms.push_back({rec.term, rec.seq, rec.seq, 0});
    s.terms.back().last_seq = rec.seq;
    s.terms.back().records++;
    s.kinds[rec.kind]++;
  }
  const log::Scanner& sc = reader.scanner();
  s.tail_seq = sc.last_seq();
  s.tail_term = sc.last_term();
  s.tail_hash = sc.last_hash();
  s.tail_segment = sc.current_segment();
  s.tail_end_offset = sc.current_offset();
  struct stat tst;
  if (!s.tail_segment.empty() && ::stat(s.tail_segment.c_str(), &tst) == 0 &&
      static_cast<uint64_t>(tst.st_size) > s.tail_end_offset)
    s.tail_free_bytes = static_cast<uint64_t>(tst.st_size) - s.tail_end_offset;
  if (st == Reader::Status::kError) s.failure = reader.failure();
  if (s.segment_files == 0)
    s.tail_state = "empty";
  else
    judge_tail(o, s);
  if (s.failure && s.tail_state == "clean") {
    // Damage recovery does not look for: a broken hash chain (or an undecodable
    // payload) in an older segment, whose CRCs are intact.
    s.tail_state = "corrupt";
    s.recovery =
        "recovery checks older segments' CRCs and order but not their hash chain, so the server would "
        "start on this log; the damage above means records were edited or a bug wrote them: restore the "
        "segment from a replica or backup";
  }
  return s;
}

std::string kind_label(uint16_t kind) {
  std::string_view n = kind_name(static_cast<EventKind>(kind));
  return n.empty() ? "unknown" : std::string(n);
}

void print_text(const Options& o, const Stats& s) {
  std::printf("log:        %s\n", o.log_dir().c_str());
  std::printf("segments:   %zu", s.segment_files);
  if (s.segment_files) std::printf(" (%s .. %s)", s.first_segment.c_str(), s.last_segment.c_str());
  std::printf("\nbytes:      %llu on disk, %llu in files, %llu in records\n", (unsigned long long)s.bytes_allocated,
              (unsigned long long)s.bytes_apparent, (unsigned long long)s.record_bytes);
  std::printf("records:    %llu\n", (unsigned long long)s.records);
  if (s.records) {
    std::printf("seq:        %llu .. %llu\n", (unsigned long long)s.first_seq, (unsigned long long)s.last_seq);
    std::printf("time:       %s .. %s\n", format_rfc3339_nano(s.first_time_ns).c_str(),
                format_rfc3339_nano(s.last_time_ns).c_str());
    std::printf("terms:\n");
    for (const auto& t : s.terms)
      std::printf("  term %-10llu seq %llu .. %llu (%llu records)\n", (unsigned long long)t.term,
                  (unsigned long long)t.first_seq, (unsigned long long)t.last_seq, (unsigned long long)t.records);
    std::printf("kinds:\n");
    for (const auto& [kind, n] : s.kinds)
      std::printf("  %5u  %-28s %llu\n", unsigned{kind}, kind_label(kind).c_str(), (unsigned long long)n);
  }
  std::printf("tail:       %s", s.tail_state.c_str());
  if (!s.tail_segment.empty()) {
    std::printf(" — last good seq %llu, term %llu, hash %s; ", (unsigned long long)s.tail_seq,
                (unsigned long long)s.tail_term, log::hash_hex(s.tail_hash).c_str());
    if (s.failure)
      std::printf("good data ends at offset %llu of %s", (unsigned long long)s.tail_end_offset,
                  base_name(s.tail_segment).c_str());
    else
      std::printf("%s ends at offset %llu, %llu bytes free after it", base_name(s.tail_segment).c_str(),
                  (unsigned long long)s.tail_end_offset, (unsigned long long)s.tail_free_bytes);
  }
  std::printf("\n");
  if (s.failure) std::printf("%s\n%s\n", fail_line(*s.failure).c_str(), s.recovery.c_str());
}

void print_json(const Options& o, const Stats& s) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["log_dir"] = o.log_dir();
  j["segments"] = s.segment_files;
  j["first_segment"] = s.first_segment;
  j["last_segment"] = s.last_segment;
  j["bytes_on_disk"] = s.bytes_allocated;
  j["bytes_in_files"] = s.bytes_apparent;
  j["bytes_in_records"] = s.record_bytes;
  j["records"] = s.records;
  j["first_seq"] = s.records ? ordered_json(s.first_seq) : ordered_json();
  j["last_seq"] = s.records ? ordered_json(s.last_seq) : ordered_json();
  j["first_time"] = s.records ? ordered_json(format_rfc3339_nano(s.first_time_ns)) : ordered_json();
  j["last_time"] = s.records ? ordered_json(format_rfc3339_nano(s.last_time_ns)) : ordered_json();
  j["first_time_ns"] = s.records ? ordered_json(s.first_time_ns) : ordered_json();
  j["last_time_ns"] = s.records ? ordered_json(s.last_time_ns) : ordered_json();
  ordered_json terms = ordered_json::array();
  for (const auto& t : s.terms)
    terms.push_back({{"term", t.term}, {"first_seq", t.first_seq}, {"last_seq", t.last_seq}, {"records", t.records}});
  j["terms"] = terms;
  ordered_json kinds = ordered_json::array();
  for (const auto& [kind, n] : s.kinds) kinds.push_back({{"kind", kind}, {"name", kind_label(kind)}, {"records", n}});
  j["kinds"] = kinds;
  ordered_json tail;
  tail["state"] = s.tail_state;
  tail["last_seq"] = s.tail_seq;
  tail["last_term"] = s.tail_term;
  tail["last_hash"] = log::hash_hex(s.tail_hash);
  tail["segment"] = s.tail_segment;
  tail["end_offset"] = s.tail_end_offset;
  if (!s.failure) tail["free_bytes"] = s.tail_free_bytes;
  if (s.failure) {
    tail["failure"] = fail_line(*s.failure);
    tail["recovery"] = s.recovery;
  }
  j["tail"] = tail;
  std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

}  // namespace

int run_stats(const Options& o) {
  if (int rc = check_log_dir(o.log_dir())) return rc;
  const Stats s = collect(o);
  if (o.json)
    print_json(o, s);
  else
    print_text(o, s);
  return s.failure ? 1 : 0;
}

}  // namespace pilot::logtool
