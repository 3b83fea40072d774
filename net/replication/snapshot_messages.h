// The frames of a snapshot transfer (PROTOCOL.md, "Snapshot transfer"): how a follower
// behind the leader's retained log (log/retention.h) gets snapshot.db before records.
//
//   follower → leader   snapshot request  (type 8) instead of a hello, after a refuse
//                                          `need snapshot`: magic, version, token, the
//                                          highest term seen, the follower's last seq
//   leader → follower   snapshot chunk    (type 9) offset, BLAKE2b-256 of every byte of
//                                          the file up to the end of this chunk, bytes
//                       snapshot end      (type 10) size, last seq, term, last hash of
//                                          the snapshot, BLAKE2b-256 of the whole file;
//                                          the leader closes
//
// Pure parsing (library pilot_repl_wire, fuzzed by fuzz_repl_messages).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "log/format.h"
#include "net/replication/messages.h"

namespace pilot::repl {

// One chunk carries at most this many bytes of the file: one chunk in flight, so the
// memory either side holds for a transfer is about this much whatever the file's size.
inline constexpr size_t kSnapshotChunkBytes = 256 * 1024;
inline constexpr size_t kSnapshotChunkHeader = 8 + 32;  // offset + running hash
inline constexpr uint32_t kMaxSnapshotChunkBody = static_cast<uint32_t>(kSnapshotChunkHeader + kSnapshotChunkBytes);

struct SnapshotRequest {
  uint16_t version = kProtocolVersion;
  std::string token;
  uint64_t term = 0;      // the highest term the follower has seen (as in a hello)
  uint64_t last_seq = 0;  // the follower's last record: for the leader's log line only
};

struct SnapshotChunk {
  uint64_t offset = 0;       // of data[0] in the file
  log::Hash running_hash{};  // BLAKE2b-256 of file bytes [0, offset + data.size())
  std::string_view data;     // 1 .. kSnapshotChunkBytes bytes (points into the body)
};

struct SnapshotEnd {
  uint64_t size = 0;      // bytes in the file (= the sum of the chunks)
  uint64_t last_seq = 0;  // the snapshot's meta: what it covers
  uint64_t term = 0;
  log::Hash last_hash{};
  log::Hash file_hash{};  // BLAKE2b-256 of the whole file
  bool operator==(const SnapshotEnd&) const = default;
};

std::string encode(const SnapshotRequest& m);
std::string encode(const SnapshotChunk& m);
std::string encode(const SnapshotEnd& m);

// nullopt when malformed: wrong size, bad magic, an over-long token, an empty or
// over-long chunk, an offset + length that overflows.
std::optional<SnapshotRequest> decode_snapshot_request(std::string_view body);
std::optional<SnapshotChunk> decode_snapshot_chunk(std::string_view body);
std::optional<SnapshotEnd> decode_snapshot_end(std::string_view body);

}  // namespace pilot::repl
