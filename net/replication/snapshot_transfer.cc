#include "net/replication/snapshot_transfer.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/logging.h"
#include "log/file_util.h"
#include "log/scanner.h"
#include "projections/snapshot.h"

namespace pilot::repl {
namespace {

constexpr const char* kInstallName = "/snapshot.install.db";
constexpr const char* kOldLogName = "/log.old";

log::Hash final_of(const crypto_generichash_state& running) {
  crypto_generichash_state copy = running;  // finalising consumes the state
  log::Hash h{};
  crypto_generichash_final(&copy, h.data(), h.size());
  return h;
}

// True if the only segment in `log_dir` is `first_seq`'s and it is `header` alone:
// the log an install writes, so the install already moved the old log aside.
bool is_fresh_log(const std::string& log_dir, uint64_t first_seq, const std::string& header) {
  const auto segments = log::list_segments(log_dir);
  std::string bytes;
  return segments.size() == 1 && segments[0].first_seq == first_seq &&
         log::read_file_from(segments[0].path, 0, bytes) && bytes == header;
}

// Transfers of this process whose first chunk the test hook still corrupts.
std::atomic<long> corrupt_left{-1};

bool corrupt_this_transfer() {
  long expected = -1;
  if (corrupt_left.load() == -1) {
    const char* env = std::getenv("PILOT_TEST_CORRUPT_SNAPSHOT_CHUNKS");
    corrupt_left.compare_exchange_strong(expected, env ? std::atol(env) : 0);
  }
  for (long left = corrupt_left.load(); left > 0;)
    if (corrupt_left.compare_exchange_weak(left, left - 1)) return true;
  return false;
}

[[noreturn]] void fail(const std::string& what) {
  LOG_ERROR(
      "replication: snapshot install failed after the log was closed: %s. Aborting: on restart the install is "
      "finished from snapshot.install.db (or the old log is opened again)",
      what.c_str());
  std::abort();
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

}  // namespace

bool read_snapshot_meta(int fd, SnapshotEnd& meta, std::string& error) {
  // The descriptor's own file, even if the path has been replaced since: Linux reopens
  // the inode behind /proc/self/fd. Read-only and immutable: no journal, no locks.
  const std::string uri = "file:/proc/self/fd/" + std::to_string(fd) + "?mode=ro&immutable=1";
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) != SQLITE_OK) {
    error = std::string("cannot open the snapshot: ") + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return false;
  }
  sqlite3_stmt* st = nullptr;
  bool ok = sqlite3_prepare_v2(db, "SELECT last_seq, last_hash, term FROM meta", -1, &st, nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 1) == 32;
  if (ok) {
    meta.last_seq = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
    std::memcpy(meta.last_hash.data(), sqlite3_column_blob(st, 1), 32);
    meta.term = static_cast<uint64_t>(sqlite3_column_int64(st, 2));
  } else {
    error = std::string("not a snapshot (no meta row): ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return ok;
}

bool stream_snapshot(const std::string& path, const std::function<bool(std::string_view frame)>& send_frame,
                     SnapshotEnd& end, bool& send_failed, std::string& error) {
  send_failed = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  end = SnapshotEnd{};
  if (!read_snapshot_meta(fd, end, error)) return false;
  const bool corrupt = corrupt_this_transfer();
  crypto_generichash_state hash;
  crypto_generichash_init(&hash, nullptr, 0, 32);
  std::string buf(kSnapshotChunkBytes, '\0');
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(end.size));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "cannot read " + path + ": " + std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    SnapshotChunk c;
    c.offset = end.size;
    c.data = std::string_view(buf.data(), static_cast<size_t>(n));
    crypto_generichash_update(&hash, reinterpret_cast<const uint8_t*>(c.data.data()), c.data.size());
    c.running_hash = final_of(hash);
    if (corrupt && c.offset == 0) buf[static_cast<size_t>(n) / 2] ^= 0x5a;
    if (!send_frame(encode(c))) {
      send_failed = true;
      return false;
    }
    end.size += static_cast<uint64_t>(n);
  }
  end.file_hash = final_of(hash);
  return true;
}

// ---- follower ---------------------------------------------------------------------

SnapshotReceiver::~SnapshotReceiver() { abort(); }

bool SnapshotReceiver::begin(std::string& error) {
  abort();
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    error = "cannot create " + path_ + ": " + std::strerror(errno);
    return false;
  }
  received_ = 0;
  crypto_generichash_init(&hash_, nullptr, 0, 32);
  return true;
}

void SnapshotReceiver::abort() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(path_.c_str());
}

std::string SnapshotReceiver::chunk(std::string_view body) {
  if (fd_ < 0) return "a snapshot chunk without a transfer in progress";
  auto c = decode_snapshot_chunk(body);
  if (!c) return "malformed snapshot chunk";
  if (c->offset != received_)
    return "snapshot chunk at offset " + std::to_string(c->offset) + ", expected " + std::to_string(received_);
  crypto_generichash_update(&hash_, reinterpret_cast<const uint8_t*>(c->data.data()), c->data.size());
  if (final_of(hash_) != c->running_hash)
    return "snapshot chunk at offset " + std::to_string(c->offset) + " (" + std::to_string(c->data.size()) +
           " bytes): checksum mismatch (BLAKE2b of the file so far differs from the leader's)";
  if (!log::pwrite_all(fd_, c->data, c->offset)) return "cannot write " + path_ + ": " + std::strerror(errno);
  received_ += c->data.size();
  return "";
}

std::string SnapshotReceiver::finish(std::string_view body, SnapshotEnd& end) {
  if (fd_ < 0) return "a snapshot end without a transfer in progress";
  auto e = decode_snapshot_end(body);
  if (!e) return "malformed snapshot end";
  if (e->size != received_)
    return "snapshot of " + std::to_string(e->size) + " bytes, but " + std::to_string(received_) + " arrived";
  if (final_of(hash_) != e->file_hash) return "snapshot checksum mismatch over the whole file";
  if (::fsync(fd_) != 0) return "cannot sync " + path_ + ": " + std::strerror(errno);
  // The file must be what the leader says it is, and loadable as a whole: a snapshot
  // that would refuse to load must never replace our log.
  SnapshotEnd meta;
  std::string why;
  if (!read_snapshot_meta(fd_, meta, why)) return "received file: " + why;
  if (meta.last_seq != e->last_seq || meta.last_hash != e->last_hash || meta.term != e->term)
    return "the received snapshot's meta (seq " + std::to_string(meta.last_seq) + ", term " +
           std::to_string(meta.term) + ") is not what the leader announced (seq " + std::to_string(e->last_seq) +
           ", term " + std::to_string(e->term) + ")";
  if (!load_snapshot(path_, &why)) return "the received snapshot does not load: " + why;
  ::close(fd_);
  fd_ = -1;  // finished: the file stays for install_snapshot()
  end = *e;
  return "";
}

std::string snapshot_receive_path(const DataDir& dir) { return dir.root + "/snapshot.recv.db"; }

bool finish_snapshot_install(const DataDir& dir, uint64_t& installed_seq, std::string& error) {
  installed_seq = 0;
  // An unfinished transfer is never resumed (the next one starts from its first chunk):
  // its file is only disk space.
  if (const std::string partial = snapshot_receive_path(dir); ::unlink(partial.c_str()) == 0)
    LOG_INFO("replication: removed %s, a snapshot transfer cut short", partial.c_str());
  const std::string staged = dir.root + kInstallName;
  if (!exists(staged)) return true;
  SnapshotEnd meta;
  {
    const int fd = ::open(staged.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      error = "cannot open " + staged + ": " + std::strerror(errno);
      return false;
    }
    const bool ok = read_snapshot_meta(fd, meta, error);
    ::close(fd);
    if (!ok) return false;
  }
  // A log of no records that continues the snapshot: recovery reads (last_seq, hash)
  // from this header, and the writer appends last_seq + 1 after it.
  log::SegmentHeader h;
  h.first_seq = meta.last_seq + 1;
  h.prev_hash = meta.last_hash;
  const std::string fresh_header = log::encode_segment_header(h);
  const std::string fresh_segment = dir.log_dir() + "/" + log::segment_file_name(h.first_seq);

  // The old log goes aside (the previous one aside is dropped): its records end before
  // the snapshot, or diverge from the leader's history. A re-run after a crash finds
  // it aside already — no log/, or log/ is the fresh one — and keeps it.
  if (exists(dir.log_dir()) && !is_fresh_log(dir.log_dir(), h.first_seq, fresh_header)) {
    std::error_code ec;
    const std::string old_log = dir.root + kOldLogName;
    std::filesystem::remove_all(old_log, ec);
    if (ec) {
      error = "cannot remove " + old_log + ": " + ec.message();
      return false;
    }
    if (::rename(dir.log_dir().c_str(), old_log.c_str()) != 0) {
      error = "cannot move " + dir.log_dir() + " aside: " + std::strerror(errno);
      return false;
    }
    log::fsync_dir(dir.root);
  }
  if (!log::ensure_dir(dir.log_dir(), error)) return false;
  if (!log::write_file_atomic(fresh_segment, fresh_header, error)) return false;
  log::fsync_dir(dir.root);
  if (::rename(staged.c_str(), dir.snapshot_path().c_str()) != 0) {
    error = "cannot rename " + staged + " to " + dir.snapshot_path() + ": " + std::strerror(errno);
    return false;
  }
  log::fsync_dir(dir.root);
  installed_seq = meta.last_seq;
  return true;
}

bool install_snapshot(const RewindTarget& t, const std::string& received, const SnapshotEnd& end, RewindDone& done,
                      std::string& error) {
  // The commit point: from here a restart finishes the install.
  const std::string staged = t.dir.root + kInstallName;
  if (::rename(received.c_str(), staged.c_str()) != 0) {
    error = "cannot rename " + received + " to " + staged + ": " + std::strerror(errno);
    return false;
  }
  log::fsync_dir(t.dir.root);
  // Nothing may read the files while they change: the background snapshot reads both.
  t.snapshotter->wait();
  t.writer->flush();
  t.writer->close();
  t.writer->run_callbacks();
  uint64_t seq = 0;
  if (!finish_snapshot_install(t.dir, seq, error)) fail(error);
  State fresh;
  RestoreReport rep;
  if (!restore_state(t.dir, t.segment_bytes, fresh, rep, error)) fail("cannot restore the state: " + error);
  if (rep.snapshot_seq != end.last_seq || rep.log.last_seq != end.last_seq)
    fail("after the install the snapshot is at seq " + std::to_string(rep.snapshot_seq) + " and the log ends at " +
         std::to_string(rep.log.last_seq) + ", not " + std::to_string(end.last_seq));
  // An empty log knows no term: the snapshot's is the floor for the next records.
  rep.log.last_term = std::max(rep.log.last_term, end.term);
  if (!t.writer->reopen(rep.log, error)) fail("cannot reopen the log: " + error);
  {
    std::unique_lock lock(*t.state_mu);
    *t.state = std::move(fresh);
  }
  done = RewindDone{};
  done.snapshot_seq = rep.snapshot_seq;
  LOG_WARN(
      "replication: installed the leader's snapshot at seq %llu (term %llu, %llu bytes); the old log is in %s; "
      "continuing from seq %llu",
      (unsigned long long)end.last_seq, (unsigned long long)end.term, (unsigned long long)end.size,
      (t.dir.root + kOldLogName).c_str(), (unsigned long long)(end.last_seq + 1));
  return true;
}

}  // namespace pilot::repl
