// pilot-log export: the audit trail of a range of the log, in one of the formats of
// admin/audit_format.h.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "admin/audit_format.h"
#include "cmd/pilot-log/commands.h"
#include "cmd/pilot-log/fold.h"
#include "cmd/pilot-log/progress.h"

namespace pilot::logtool {
namespace {

std::string this_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

int run_export(const Options& o) {
  const admin::AuditFormat format = *admin::audit_format_from_name(o.format);
  const admin::SplunkHecOptions hec{o.hec_host.empty() ? this_hostname() : o.hec_host, o.hec_source, o.hec_index};

  std::unique_ptr<std::FILE, FileCloser> file;
  std::FILE* out = stdout;
  if (!o.out_path.empty()) {
    file.reset(std::fopen(o.out_path.c_str(), "wb"));
    if (!file) {
      std::perror(("pilot-log export: " + o.out_path).c_str());
      return 1;
    }
    out = file.get();
  }
  static char out_buf[1 << 16];
  std::setvbuf(out, out_buf, _IOFBF, sizeof out_buf);

  uint64_t written = 0;
  auto write = [&](std::string_view bytes) { std::fwrite(bytes.data(), 1, bytes.size(), out); };
  auto emit = [&](const AuditEntry& e) {
    write(admin::audit_export_record(format, e, hec));
    ++written;
  };
  auto in_time_range = [&](int64_t ns) {
    return (!o.from_time_ns || ns >= *o.from_time_ns) && (!o.to_time_ns || ns <= *o.to_time_ns);
  };
  if (format == admin::AuditFormat::kCsv) write(admin::audit_csv_header());

  uint64_t chained = 0;  // audit entries chained so far: a rise means the record made one
  FoldHooks hooks;
  hooks.start = [&](const State& s) {
    chained = s.audit.total();
    if (s.last_seq == 0) return;
    // Started from snapshot.db: its kept entries are all there is of the history before it.
    const AuditLog& a = s.audit;
    for (size_t i = 0; i < a.size(); ++i) {
      const AuditEntry& e = a.at(i);
      if (e.seq >= o.from_seq && e.seq <= o.to_seq && in_time_range(e.time * 1000000000)) emit(e);
    }
    const uint64_t oldest = a.empty() ? s.last_seq + 1 : a.at(0).seq;
    if (o.from_seq < oldest && !o.from_time_ns)
      std::fprintf(stderr, "pilot-log export: entries before seq %llu are not available any more\n",
                   static_cast<unsigned long long>(oldest));
  };
  hooks.applied = [&](const log::Record& rec, const State& s) {
    if (s.audit.total() == chained) return;
    chained = s.audit.total();
    if (rec.seq >= o.from_seq && in_time_range(rec.time_ns)) emit(*s.audit.newest());
  };

  hooks.summary = [&] {
    return "wrote " + with_commas(written) + " " + o.format + " entries to " +
           (o.out_path.empty() ? std::string("stdout") : o.out_path);
  };

  State state;
  const int rc = fold_log(o, "export", FoldTarget{o.to_seq, std::nullopt}, state, hooks);
  const bool write_failed = std::fflush(out) != 0 || std::ferror(out);
  if (file && std::fclose(file.release()) != 0 && rc == 0) {
    std::perror(("pilot-log export: closing " + o.out_path).c_str());
    return 1;
  }
  if (write_failed) {
    std::perror("pilot-log export: writing the output");
    return 1;
  }
  return rc;
}

}  // namespace pilot::logtool
