// Fuzz target for the replication port's frames and the term file
// (net/replication/messages.h, snapshot_messages.h, term_store.h). First byte even: the rest is a byte
// stream from a peer, split with next_frame and each frame decoded by its type; odd:
// the rest is `<data-dir>/term` text. Both come from outside (a peer; a disk an
// operator may edit), so nothing may crash, and whatever is accepted must be exactly
// what the encoder writes: a decoded frame re-encodes to the same bytes, a records
// header to the same header, parsed terms format to text that parses to the same terms.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "net/replication/messages.h"
#include "net/replication/snapshot_messages.h"
#include "net/replication/term_store.h"

using namespace pilot::repl;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_repl_messages: invariant failed: %s\n", what);
    std::abort();
  }
}

template <class M>
void round_trip(const std::optional<M>& m, std::string_view frame, const char* what) {
  if (m) check(encode(*m) == frame, what);
}

void frames(std::string_view in) {
  while (!in.empty()) {
    Frame f;
    std::string why;
    const FrameStatus st = next_frame(in, f, why);
    if (st == FrameStatus::kNeedMore) return;
    if (st == FrameStatus::kBad) {
      check(!why.empty(), "bad frame without a reason");
      return;
    }
    check(f.consumed == kFrameHeaderSize + f.body.size() && f.consumed <= in.size(), "frame size");
    const std::string_view whole = in.substr(0, f.consumed);
    switch (f.type) {
      case MsgType::kHello: round_trip(decode_hello(f.body), whole, "hello"); break;
      case MsgType::kWelcome: round_trip(decode_welcome(f.body), whole, "welcome"); break;
      case MsgType::kRefuse: round_trip(decode_refuse(f.body), whole, "refuse"); break;
      case MsgType::kAck: round_trip(decode_ack(f.body), whole, "ack"); break;
      case MsgType::kKeepalive: round_trip(decode_keepalive(f.body), whole, "keepalive"); break;
      case MsgType::kRewind: {
        auto m = decode_rewind(f.body);
        if (m) {
          check(m->points.size() <= kMaxRewindPoints, "too many rewind points");
          for (size_t i = 0; i < m->points.size(); ++i)
            check(m->points[i].seq > 0 && (i == 0 || m->points[i].seq < m->points[i - 1].seq), "rewind order");
        }
        round_trip(m, whole, "rewind");
        break;
      }
      case MsgType::kRecords:
        check(records_header(f.body.size()) == whole.substr(0, kFrameHeaderSize), "records header");
        break;
      case MsgType::kSnapshotRequest: round_trip(decode_snapshot_request(f.body), whole, "snapshot request"); break;
      case MsgType::kSnapshotChunk: {
        auto c = decode_snapshot_chunk(f.body);
        if (c) check(!c->data.empty() && c->data.size() <= kSnapshotChunkBytes, "snapshot chunk size");
        round_trip(c, whole, "snapshot chunk");
        break;
      }
      case MsgType::kSnapshotEnd: round_trip(decode_snapshot_end(f.body), whole, "snapshot end"); break;
    }
    in.remove_prefix(f.consumed);
  }
}

void terms(std::string_view text) {
  std::string why;
  auto t = parse_terms(text, why);
  if (!t) {
    check(!why.empty(), "term file refused without a reason");
    return;
  }
  check(t->leader <= t->seen, "leader-term above term");
  auto again = parse_terms(format_terms(*t), why);
  check(again && *again == *t, "parse(format(terms)) != terms");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0)
    frames(rest);
  else
    terms(rest);
  return 0;
}
