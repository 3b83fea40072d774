#include "net/rpc/go_standby.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <vector>

#include "core/duration.h"
#include "core/logging.h"
#include "net/rpc/auth.h"
#include "net/rpc/fields.h"
#include "net/rpc/go_snapshot.h"
#include "net/rpc/wire.h"

namespace pilot::rpc {

namespace {

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The document's bytes as json.Marshal re-encodes an embedded json.RawMessage: `<`,
// `>` and `&` escaped. In a JSON document they can only be inside strings, so a byte
// scan is exact.
void append_html_escaped(std::string& out, const std::string& doc) {
  size_t from = 0;
  for (size_t i = 0; i < doc.size(); ++i) {
    const char c = doc[i];
    if (c != '<' && c != '>' && c != '&') continue;
    out.append(doc, from, i - from);
    out += c == '<' ? "\\u003c" : c == '>' ? "\\u003e" : "\\u0026";
    from = i + 1;
  }
  out.append(doc, from, std::string::npos);
}

}  // namespace

std::string GoStandbyOptions::apply_env() {
  struct Knob {
    const char* name;
    int64_t* target;
  };
  for (Knob k : {Knob{"PILOT_GO_STANDBY_PUSH_INTERVAL", &push_interval_ns},
                 Knob{"PILOT_GO_STANDBY_HEARTBEAT", &heartbeat_interval_ns},
                 Knob{"PILOT_GO_STANDBY_WRITE_TIMEOUT", &write_timeout_ns}}) {
    const char* v = std::getenv(k.name);
    if (!v || !*v) continue;
    auto ns = parse_go_duration(v);
    if (!ns || *ns <= 0) return std::string(k.name) + ": want a positive duration such as 500ms, got \"" + v + "\"";
    *k.target = *ns;
  }
  return "";
}

std::string replication_snapshot_frame(const std::string& snapshot_doc) {
  static constexpr std::string_view kHead = "{\"snapshot\":";
  static constexpr std::string_view kTail = ",\"type\":\"replication_snapshot\"}";
  std::string out(4, '\0');  // the length, once known
  out.reserve(4 + kHead.size() + snapshot_doc.size() + kTail.size() + 64);
  out += kHead;
  append_html_escaped(out, snapshot_doc);
  out += kTail;
  const uint32_t n = static_cast<uint32_t>(out.size() - 4);
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  return out;
}

std::string replication_heartbeat_frame() { return wire::json_frame("{\"type\":\"heartbeat\"}"); }

GoStandbyFeed::GoStandbyFeed(uv_loop_t* loop, RpcServer& server, Registry& registry, GoStandbyOptions opts)
    : loop_(loop),
      server_(server),
      registry_(registry),
      opts_(std::move(opts)),
      heartbeat_(std::make_shared<const std::string>(replication_heartbeat_frame())) {}

GoStandbyFeed::~GoStandbyFeed() {
  if (started_) server_.set_stream_handler(nullptr);
}

void GoStandbyFeed::start() {
  server_.set_stream_handler(this);
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  // Fine enough to push soon after a record turns durable, and to see a stuck write.
  const uint64_t period_ms = std::clamp<uint64_t>(uint64_t(opts_.push_interval_ns / 10000000), 10, 100);
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<GoStandbyFeed*>(t->data)->tick(); }, period_ms, period_ms);
  last_heartbeat_ns_ = mono_ns();
  started_ = true;
}

void GoStandbyFeed::stop() {
  if (!started_) return;
  started_ = false;
  server_.set_stream_handler(nullptr);
  subs_.clear();
  frame_.reset();
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

GoStandbyFeed::Decision GoStandbyFeed::on_subscribe(uint64_t conn, const nlohmann::json& request, const Peer& peer) {
  Decision d;
  const std::string who = peer.ip + ":" + std::to_string(peer.port);
  if (opts_.token.empty()) {
    d.error = "replication not configured";
  } else if (registry_.standby()) {
    d.error = kStandbyError;  // a Go standby must follow the leader, not a follower
  } else if (!constant_time_equal(str_field(request, "token"), opts_.token)) {
    d.error = "invalid replication token";
  }
  if (!d.error.empty()) {
    LOG_INFO("go standby %s: subscription refused: %s", who.c_str(), d.error.c_str());
    return d;
  }
  const int64_t now = mono_ns();
  if (!frame_ || frame_seq_ != registry_.state().last_seq) render(now);
  d.first_frame = *frame_;
  subs_[conn] = Sub{who, frame_seq_, 0};
  LOG_INFO("go standby %s: subscribed (snapshot of seq %llu, %zu bytes; %zu subscribers)", who.c_str(),
           (unsigned long long)frame_seq_, frame_->size(), subs_.size());
  return d;
}

void GoStandbyFeed::on_stream_closed(uint64_t conn) {
  auto it = subs_.find(conn);
  if (it == subs_.end()) return;
  LOG_INFO("go standby %s: disconnected", it->second.who.c_str());
  subs_.erase(it);
  if (subs_.empty()) frame_.reset();  // no reader: give the memory back
}

void GoStandbyFeed::drop(uint64_t conn, const char* why) {
  auto it = subs_.find(conn);
  if (it == subs_.end()) return;
  LOG_WARN("go standby %s: dropped: %s", it->second.who.c_str(), why);
  subs_.erase(it);
  if (subs_.empty()) frame_.reset();
  server_.close_stream(conn);
}

void GoStandbyFeed::render(int64_t now) {
  const State& st = registry_.state();
  frame_ = std::make_shared<const std::string>(
      replication_snapshot_frame(go_snapshot(st, GoSnapshotInputs{&registry_.liveness(), opts_.backbone_created_ns})));
  frame_seq_ = st.last_seq;
  ++rendered_;
  last_render_ns_ = now;
  render_cost_ns_ = mono_ns() - now;
  if (frame_->size() > wire::kMaxFrame + 4 && !oversize_warned_) {
    oversize_warned_ = true;
    LOG_WARN("go standby: the snapshot is %zu bytes, more than the 64 MiB a Go reader accepts in one frame",
             frame_->size());
  }
}

void GoStandbyFeed::tick() {
  if (subs_.empty()) return;
  // Loop over a copy: closing a stream calls back into on_stream_closed.
  std::vector<uint64_t> ids;
  for (const auto& [id, sub] : subs_) ids.push_back(id);
  if (registry_.standby()) {  // fenced: a Go standby must not follow a replaced leader
    for (uint64_t id : ids) drop(id, "this node is no longer the leader");
    return;
  }
  const int64_t now = mono_ns();
  for (uint64_t id : ids) {
    Sub& sub = subs_.at(id);
    if (server_.unsent_bytes(id) == 0) {
      sub.busy_since = 0;
    } else if (sub.busy_since == 0) {
      sub.busy_since = now;
    } else if (now - sub.busy_since > opts_.write_timeout_ns) {
      drop(id, "a write did not complete within the write timeout");
    }
  }
  if (subs_.empty()) return;

  const uint64_t seq = registry_.state().last_seq;
  const int64_t spacing = std::max(opts_.push_interval_ns, 4 * render_cost_ns_);
  if (seq != frame_seq_ && now - last_render_ns_ >= spacing) render(now);

  // A frame leaves only once everything it shows may be shown (durable, and past the
  // sync-replication gate), and only to a stream with nothing left to write.
  const bool frame_ready = frame_ && server_.releasable_seq() >= frame_seq_;
  const bool heartbeat_due = now - last_heartbeat_ns_ >= opts_.heartbeat_interval_ns;
  if (heartbeat_due) last_heartbeat_ns_ = now;
  ids.clear();
  for (const auto& [id, sub] : subs_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = subs_.find(id);
    if (it == subs_.end() || server_.unsent_bytes(id) != 0) continue;
    RpcServer::PushResult r = RpcServer::PushResult::kBusy;
    const bool frame_due = frame_ready && it->second.sent_seq != frame_seq_;
    // push() may close the stream, and on_stream_closed erases it from subs_: `it` is
    // not used after the call.
    if (frame_due)
      r = server_.push(id, frame_);
    else if (heartbeat_due)
      r = server_.push(id, heartbeat_);
    if (r == RpcServer::PushResult::kGone) {
      subs_.erase(id);
    } else if (r == RpcServer::PushResult::kSent && frame_due) {
      if (auto again = subs_.find(id); again != subs_.end()) again->second.sent_seq = frame_seq_;
    }
  }
  if (subs_.empty()) frame_.reset();
}

}  // namespace pilot::rpc
