// The reference's replication feed (spec §9.2) for Go standbys, served on the
// registry port: a Go server started with -standby <this host:port> subscribes with
// {"type":"subscribe_replication","token":…} and gets full snapshots (go_snapshot.h)
// for as long as it stays connected.
//
//   * refused, then closed: "replication not configured" (no --repl-token), the
//     spec's standby error (this node is a follower or fenced: a Go standby must follow
//     the leader), "invalid replication token" (constant-time compare);
//   * accepted: {"snapshot":{…},"type":"replication_snapshot"} at once (after the
//     replies before it, once the log is durable up to what it shows);
//   * then a fresh snapshot when the state changed, at most once per push interval
//     (1 s), and {"type":"heartbeat"} every heartbeat interval (15 s).
//
// One render per push serves every subscriber (the frame is shared, not copied), and
// the loop thread is not given over to rendering: the next render waits at least four
// times as long as the last one took. A subscriber gets a new frame only when its
// previous one is fully written, so a slow one holds at most one frame (the newest
// for the others may be a second one); one whose write has not completed within the
// write timeout (10 s) is dropped. Frames go out HTML-escaped, as Go's json.Marshal
// writes the reference's message; the checksum covers the unescaped document (§8.1).
//
// Unlike the reference, which stops reading a subscriber after 60 s of silence (and so
// drops every standby once a minute), a subscriber stays until it closes or is dropped.
// Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "net/rpc/registry.h"
#include "net/rpc/server.h"

namespace pilot::rpc {

struct GoStandbyOptions {
  std::string token;  // --repl-token; empty = every subscription refused
  int64_t push_interval_ns = int64_t{1} * 1000000000;
  int64_t heartbeat_interval_ns = int64_t{15} * 1000000000;
  int64_t write_timeout_ns = int64_t{10} * 1000000000;
  int64_t backbone_created_ns = 0;  // `created` of network 0 in the documents

  // Test and tuning knobs (Go durations): PILOT_GO_STANDBY_PUSH_INTERVAL,
  // PILOT_GO_STANDBY_HEARTBEAT, PILOT_GO_STANDBY_WRITE_TIMEOUT. "" or the error.
  std::string apply_env();
};

// The bytes of §9.2's messages, as the reference's json.Marshal writes them.
std::string replication_snapshot_frame(const std::string& snapshot_doc);
std::string replication_heartbeat_frame();

class GoStandbyFeed : public StreamHandler {
 public:
  GoStandbyFeed(uv_loop_t* loop, RpcServer& server, Registry& registry, GoStandbyOptions opts);
  ~GoStandbyFeed() override;
  GoStandbyFeed(const GoStandbyFeed&) = delete;
  GoStandbyFeed& operator=(const GoStandbyFeed&) = delete;

  // Becomes the server's stream handler and starts the timer.
  void start();
  // Stops the timer (closed before the loop ends); the server closes the streams.
  void stop();

  Decision on_subscribe(uint64_t conn, const nlohmann::json& request, const Peer& peer) override;
  void on_stream_closed(uint64_t conn) override;

  size_t subscribers() const { return subs_.size(); }
  uint64_t snapshots_rendered() const { return rendered_; }

 private:
  struct Sub {
    std::string who;         // peer, for the log
    uint64_t sent_seq = 0;   // seq of the last frame handed to it
    int64_t busy_since = 0;  // when bytes were first seen unsent (0 = none)
  };
  void tick();
  void render(int64_t now);
  void drop(uint64_t conn, const char* why);

  uv_loop_t* loop_;
  RpcServer& server_;
  Registry& registry_;
  GoStandbyOptions opts_;
  std::map<uint64_t, Sub> subs_;
  std::shared_ptr<const std::string> frame_;  // the newest snapshot frame
  uint64_t frame_seq_ = 0;                    // the state it shows
  std::shared_ptr<const std::string> heartbeat_;
  int64_t last_render_ns_ = 0;
  int64_t render_cost_ns_ = 0;
  int64_t last_heartbeat_ns_ = 0;
  uint64_t rendered_ = 0;
  bool oversize_warned_ = false;
  uv_timer_t timer_{};
  bool started_ = false;
};

}  // namespace pilot::rpc
