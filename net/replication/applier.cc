#include "net/replication/applier.h"

#include <cstdlib>
#include <mutex>

#include "core/logging.h"

namespace pilot::repl {

std::string check_record(std::string_view bytes, uint64_t last_seq, const log::Hash& last_hash, uint64_t term,
                         log::Record& r, size_t& used, std::optional<Event>& event) {
  used = 0;
  const char* why = "";
  const log::ParseResult pr = log::parse_record(bytes, r, used, &why);
  if (pr != log::ParseResult::kOk)
    return "record after seq " + std::to_string(last_seq) +
           " in the frame: " + (pr == log::ParseResult::kEnd ? "zero bytes where a record should start" : why);
  if (std::string bad = log::check_chain(r, last_seq, last_hash, term); !bad.empty())
    return "record " + std::to_string(r.seq) + ": " + bad;
  event = decode_payload(static_cast<EventKind>(r.kind), r.payload);
  if (!event)
    return "record " + std::to_string(r.seq) + ": undecodable event of kind " + std::to_string(r.kind) +
           " (is the leader running a newer version?)";
  return "";
}

std::string Applier::apply(std::string_view bytes, uint64_t& applied) {
  applied = 0;
  if (bytes.empty()) return "empty records frame";
  log::Record r;
  std::optional<Event> event;
  for (size_t pos = 0; pos < bytes.size();) {
    size_t used = 0;
    if (std::string bad =
            check_record(bytes.substr(pos), writer_.last_seq(), writer_.last_hash(), writer_.term(), r, used, event);
        !bad.empty())
      return bad;

    if (r.term != writer_.term()) writer_.set_term(r.term);
    const uint64_t seq = writer_.append_raw(r.kind, r.payload, r.time_ns);
    if (seq != r.seq || writer_.last_hash() != r.hash) {
      // check_chain proved this record continues our chain with this very hash, so the
      // writer framing it differently is a bug, and serving from a log that now differs
      // from the leader's would be worse than stopping.
      LOG_ERROR("replication: appended record %llu got hash %s, the leader's is %s: aborting", (unsigned long long)seq,
                log::hash_hex(writer_.last_hash()).c_str(), log::hash_hex(r.hash).c_str());
      std::abort();
    }
    {
      std::unique_lock lock(state_mu_);
      state_.apply(r.meta(), *event);
      state_.last_hash = r.hash;
    }
    ++applied;
    pos += used;
  }
  return "";
}

}  // namespace pilot::repl
