// pilot-log dump: one JSON object per event, in log order.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cmd/pilot-log/commands.h"
#include "cmd/pilot-log/reader.h"
#include "core/time_format.h"

namespace pilot::logtool {
namespace {

std::string record_json_line(const log::Record& rec, const Event& ev) {
  nlohmann::ordered_json j;
  j["seq"] = rec.seq;
  j["term"] = rec.term;
  j["time"] = format_rfc3339_nano(rec.time_ns);
  j["time_ns"] = rec.time_ns;
  j["hash"] = log::hash_hex(rec.hash);
  const nlohmann::json fields = event_to_json(ev);
  j["kind"] = fields.at("kind");
  for (const auto& [name, value] : fields.items())
    if (name != "kind") j[name] = value;
  // Event strings are arbitrary bytes; invalid UTF-8 becomes U+FFFD instead of throwing.
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  return line;
}

}  // namespace

int run_dump(const Options& o) {
  if (int rc = check_log_dir(o.log_dir())) return rc;
  static char out_buf[1 << 16];
  std::setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);

  Reader reader(o.log_dir(), o.from_seq, /*decode=*/true);
  log::Record rec;
  Event ev;
  Reader::Status st;
  while ((st = reader.next(rec, ev)) == Reader::Status::kRecord) {
    if (rec.seq > o.to_seq) break;
    const bool selected = rec.seq >= o.from_seq && (!o.from_time_ns || rec.time_ns >= *o.from_time_ns) &&
                          (!o.to_time_ns || rec.time_ns <= *o.to_time_ns);
    if (selected) {
      const std::string line = record_json_line(rec, ev);
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
    if (rec.seq == o.to_seq) break;  // not even reading the next record
  }
  if (st == Reader::Status::kRecord) st = Reader::Status::kEnd;
  const bool write_failed = std::fflush(stdout) != 0 || std::ferror(stdout);
  if (st == Reader::Status::kError) {
    std::fprintf(stderr, "%s\n", fail_line(reader.failure()).c_str());
    return 1;
  }
  if (write_failed) {
    std::perror("pilot-log dump: writing stdout");
    return 1;
  }
  return 0;
}

}  // namespace pilot::logtool
