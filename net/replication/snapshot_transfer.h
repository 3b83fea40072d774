// Snapshot transfer (PROTOCOL.md, "Snapshot transfer"): a follower whose position is
// older than the leader's first retained record (log/retention.h) gets snapshot.db,
// then says hello from the snapshot's last record.
//
// Leader (a session thread): stream_snapshot() opens snapshot.db once and streams that
// descriptor — the file is replaced by rename, never rewritten, so the open file is a
// consistent copy even if a newer snapshot lands meanwhile. One chunk in flight.
//
// Follower (the loop thread): a SnapshotReceiver writes the chunks to a temp file,
// checking the running BLAKE2b of every chunk, and at the end the size, the whole-file
// hash and the snapshot's own meta against what the leader announced. Only then
// install_snapshot(): the verified file becomes `snapshot.install.db` (the commit
// point), the old log moves to `log.old/`, a fresh log starts with one empty segment
// whose header is (first_seq = last_seq + 1, prev_hash = the snapshot's last hash),
// the file becomes snapshot.db, and the state is rebuilt from it. A crash after the
// commit point is finished by finish_snapshot_install() at the next start.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "log/format.h"
#include "net/replication/rewind.h"
#include "net/replication/snapshot_messages.h"
#include "projections/store.h"

namespace pilot::repl {

// The meta row of a snapshot file (projections/snapshot.h) read from an open
// descriptor, without loading the state. False + error if it is not a snapshot.
bool read_snapshot_meta(int fd, SnapshotEnd& meta, std::string& error);

// Leader: sends `path` as chunk frames through `send_frame` (false = the peer is gone:
// stops, `send_failed` set) and fills `end` with the frame to send last. False + error
// if the file cannot be read or is not a snapshot.
//
// Test hook: PILOT_TEST_CORRUPT_SNAPSHOT_CHUNKS=N flips a byte in the first chunk of
// the first N transfers of this process after its hash was taken (the follower must
// refuse it). Never set outside tests.
bool stream_snapshot(const std::string& path, const std::function<bool(std::string_view frame)>& send_frame,
                     SnapshotEnd& end, bool& send_failed, std::string& error);

// Follower: assembles one transfer in `path` (snapshot_receive_path()).
class SnapshotReceiver {
 public:
  explicit SnapshotReceiver(std::string path) : path_(std::move(path)) {}
  ~SnapshotReceiver();  // an unfinished transfer's file is removed
  SnapshotReceiver(const SnapshotReceiver&) = delete;
  SnapshotReceiver& operator=(const SnapshotReceiver&) = delete;

  bool begin(std::string& error);
  // "" or why the chunk is refused (out of order, checksum, write error).
  std::string chunk(std::string_view body);
  // "" when the file is whole (size, hash), synced, a loadable snapshot whose meta is
  // the one announced; `end` is then the leader's end frame. Else why not.
  std::string finish(std::string_view body, SnapshotEnd& end);
  // Forgets the transfer and removes the file (also after a successful finish that is
  // not installed).
  void abort();
  uint64_t received() const { return received_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t received_ = 0;
  crypto_generichash_state hash_{};
};

// Where a follower assembles a transfer: <data-dir>/snapshot.recv.db.
std::string snapshot_receive_path(const DataDir& dir);

// Follower, at start-up before restore_state(): completes an install a crash
// interrupted after its commit point (a log it already moved aside stays in log.old/),
// and removes the file of a transfer a crash cut short. `installed_seq` is 0 when
// there was no install to finish.
bool finish_snapshot_install(const DataDir& dir, uint64_t& installed_seq, std::string& error);

// Follower, loop thread: installs the file a SnapshotReceiver finished (`received`,
// announced as `end`) and rebuilds the writer and the state (the pieces a rewind
// rebuilds, rewind.h). False + error if the file could not be committed (nothing
// changed); aborts the process if a step fails after the writer was closed.
bool install_snapshot(const RewindTarget& t, const std::string& received, const SnapshotEnd& end, RewindDone& done,
                      std::string& error);

}  // namespace pilot::repl
