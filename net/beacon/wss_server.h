// The WebSocket compat bridge (spec/beacon.md §10) for daemons whose UDP is blocked:
// HTTP/WebSocket on TCP — plain, with TLS terminated by a proxy in front as the
// reference's deployment does, or TLS here with a certificate (wss_tls.h) — routes `GET /v1/compat` (upgrade,
// subprotocol `pilot.v1`) and `/health` (200, empty body); everything else is 404.
//
// A session: upgrade → text challenge → the client's signed reply checked against the
// registry's key for its node id (Policy::node_key; wss_auth.h) within 10 s → auth_ok.
// Then every binary message is one beacon packet, handled by the engine as if it came
// from 192.0.2.1:(node_id & 0xFFFF) (the reference's synthetic TEST-NET source, so a
// Discover over WSS registers the id here and gossip advertises it); what the engine
// sends toward UDP nodes leaves from the UDP server's socket. Relays *to* an id with a
// session come here first (Engine's Bridge hook) as one binary message each.
//
// Limits: 65,536 bytes per message (counted from the frame headers, before anything
// is buffered; over → close 1009), 5 s for the HTTP request head, 10 s for the auth,
// 90 s between data messages (pings do not count; they are answered at once), 2 s
// for a stalled write (the peer is dropped), 1 MiB queued per session (a delivery
// beyond that is refused, so the engine counts it as a failed relay). Reads land in one
// shared 64 KiB chunk and a connection keeps only the bytes it has not parsed yet (a
// partial frame), so an idle or unauthenticated peer holds a few KB, not a read buffer.
//
// Threads. One loop thread owns the listener and every connection: poll, read, parse,
// authenticate, dispatch to the engine, answer pings, run the deadlines. deliver() is
// called by the UDP reader threads (through the engine): it appends the frame to the
// session's queue under the session's mutex and tries a non-blocking send right there,
// waking the loop only when the kernel buffer is full (TLS: the loop always writes,
// since an SSL object must stay on one thread). A session's socket is closed
// only under that mutex, so a delivery never writes to a reused descriptor.
//
// Sessions: the newest authenticated connection for an id replaces the old one (closed
// with 1000 "replaced"); each session has a generation number and a frame is
// dispatched only while its session is the current one; a closing connection removes
// its map entry only if the entry is still itself (compare-and-delete). stop() closes
// every peer with 1001 "beacon shutting down" and waits up to 3 s for the closes to
// leave.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/beacon/beacon.h"
#include "net/beacon/udp_socket.h"
#include "net/beacon/wss_tls.h"

namespace pilot::beacon {

struct WssOptions {
  std::string addr;      // "" = off; "127.0.0.1:8443", ":8443" (every address), "[::1]:0"
  size_t max_peers = 0;  // authenticated sessions; at the cap an upgrade gets 503 (0 = no cap)
  int64_t header_timeout = 5 * kSecond;
  int64_t auth_timeout = 10 * kSecond;
  int64_t idle_timeout = 90 * kSecond;
  int64_t write_timeout = 2 * kSecond;
  int64_t close_timeout = 2 * kSecond;  // after our close frame, for the peer's
  size_t max_message = 65536;
  size_t max_queued = 1 << 20;     // outbound bytes per session
  size_t max_connections = 16384;  // TCP connections in any state
  std::string tls_cert, tls_key;   // PEM files: serve wss:// here (wss_tls.h); "" = plain
};

struct WssCounters {
  uint64_t upgrade_ok = 0, upgrade_fail = 0;  // HTTP upgrades on /v1/compat (503s, bad headers)
  uint64_t auth_ok = 0, auth_fail = 0;
  uint64_t frames_in = 0;   // binary messages handed to the engine
  uint64_t frames_out = 0;  // relay deliveries written to a session
  uint64_t idle_disconnects = 0;
  uint64_t active_peers = 0;        // gauge: authenticated sessions
  uint64_t protocol_errors = 0;     // frames that break RFC 6455 (closed 1002), truncated frames at EOF
  uint64_t oversized = 0;           // messages over the limit (closed 1009)
  uint64_t write_timeouts = 0;      // peers dropped because their writes stalled
  uint64_t deliveries_refused = 0;  // relay deliveries refused: queue full or session closing
  uint64_t replaced = 0;            // sessions closed by a newer one for the same id
  uint64_t http_requests = 0;       // requests of any route, including /health and 404s
  uint64_t read_buffer_bytes = 0;   // gauge: read buffer held by connections (unparsed bytes, fragments)
};

class WssServer : public Bridge {
 public:
  // `policy` (may be null: every auth then fails, 1008) must outlive the server.
  WssServer(Engine& engine, Policy* policy, WssOptions opt);
  ~WssServer() override;
  WssServer(const WssServer&) = delete;
  WssServer& operator=(const WssServer&) = delete;

  // Listens and starts the loop thread; packets toward UDP nodes go to `udp` (null:
  // they are dropped). "" on success, else why not.
  std::string start(std::unique_ptr<TxBatch> udp);
  void stop();  // idempotent

  std::string listen_text() const;  // "127.0.0.1:40123", "[::]:8443"
  uint16_t port() const { return port_; }
  bool tls() const { return tls_ != nullptr; }

  // Bridge (any thread).
  bool connected(uint32_t id) override;
  bool deliver(uint32_t id, std::string_view head, std::string_view body) override;

  WssCounters counters() const;
  std::string stats_line() const;

  // The synthetic source of a session's packets (§10.3).
  static Endpoint synthetic_source(uint32_t node_id);

 private:
  struct Conn;
  enum class Say { kNothing, kHttp, kClose };

  void run();
  bool accept_all(int64_t now);  // false: accept failed for want of descriptors
  void on_readable(Conn& c, int64_t now);
  void on_http(Conn& c, int64_t now);
  void on_messages(Conn& c, int64_t now);
  void on_auth_reply(Conn& c, bool text, const std::string& payload, int64_t now);
  void on_timers(Conn& c, int64_t now);
  void install_session(const std::shared_ptr<Conn>& c);
  void remove_session(const Conn& c);
  bool is_current(const Conn& c);
  void begin_close(Conn& c, int64_t now, std::string last_bytes);
  void shut_write_when_sent(Conn& c);
  void finish(Conn& c, const char* why);
  void queue(Conn& c, std::string_view a, std::string_view b, int64_t now);
  void flush_locked(Conn& c, int64_t now);
  void wake();
  size_t queued_bytes(Conn& c);

  Engine& engine_;
  Policy* const policy_;
  const WssOptions opt_;
  ListenAddr la_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  uint16_t port_ = 0;
  std::unique_ptr<TxBatch> udp_;
  std::unique_ptr<TlsContext> tls_;
  std::vector<std::shared_ptr<Conn>> conns_;  // loop thread only
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool started_ = false, stopped_ = false;

  mutable std::shared_mutex sessions_mu_;
  std::unordered_map<uint32_t, std::shared_ptr<Conn>> sessions_;
  uint64_t next_gen_ = 0;                 // under sessions_mu_
  std::atomic<size_t> session_count_{0};  // sessions_.size(), read without the lock

  std::atomic<uint64_t> upgrade_ok_{0}, upgrade_fail_{0}, auth_ok_{0}, auth_fail_{0}, frames_in_{0}, frames_out_{0},
      idle_disconnects_{0}, protocol_errors_{0}, oversized_{0}, write_timeouts_{0}, deliveries_refused_{0},
      replaced_{0}, http_requests_{0};
  std::atomic<uint64_t> read_buffer_bytes_{0};  // summed by the loop thread each round
  std::string read_chunk_;                      // loop thread: every read lands here first
};

}  // namespace pilot::beacon
