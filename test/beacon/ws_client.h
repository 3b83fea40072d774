// A small blocking WebSocket client for the bridge's tests (written for this project):
// TCP to a loopback port, the HTTP upgrade with a random key (checking the accept
// key and the echoed subprotocol), masked client frames, unmasked server frames read
// one message at a time, raw bytes for the frames a real client would never send, and
// plain HTTP GETs for /health and /metrics. With `tls`, the same over a TLS client
// connection (no certificate verification: the tests' certificates are self-signed).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <random>
#include <string>

#include "core/base64.h"
#include "net/beacon/ws_codec.h"

namespace pilot::beacon::testing {

using namespace std::chrono_literals;

class WsClient {
 public:
  explicit WsClient(uint16_t port, bool tls = false) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (tls && connected_) {
      ctx_ = SSL_CTX_new(TLS_client_method());
      ssl_ = SSL_new(ctx_);
      SSL_set_fd(ssl_, fd_);
      connected_ = SSL_connect(ssl_) == 1;
    }
  }
  ~WsClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    ::close(fd_);
  }
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  struct HttpReply {
    int status = 0;
    std::string head, body;
  };

  // Sends `request` and reads the response head (and, when Content-Length says so,
  // the body). Leftover bytes (frames after a 101) stay buffered for recv().
  HttpReply http(const std::string& request, std::chrono::milliseconds timeout = 5s) {
    send_raw(request);
    HttpReply r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(timeout)) return r;
    r.head = buf_.substr(0, end + 4);
    buf_.erase(0, end + 4);
    if (r.head.size() > 12) r.status = std::atoi(r.head.c_str() + 9);
    size_t cl = lower(r.head).find("content-length:");
    if (cl != std::string::npos) {
      size_t n = std::strtoul(r.head.c_str() + cl + 15, nullptr, 10);
      while (buf_.size() < n)
        if (!fill(timeout)) break;
      r.body = buf_.substr(0, std::min(n, buf_.size()));
      buf_.erase(0, r.body.size());
    }
    return r;
  }
  HttpReply get(const std::string& path) {
    return http("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  }

  // The upgrade a daemon sends; returns the reply and checks the accept key.
  HttpReply upgrade(const std::string& subprotocols = "pilot.v1", const std::string& path = "/v1/compat") {
    std::string key = random_key();
    std::string req = "GET " + path +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: " +
                      key + "\r\nSec-WebSocket-Version: 13\r\n";
    if (!subprotocols.empty()) req += "Sec-WebSocket-Protocol: " + subprotocols + "\r\n";
    HttpReply r = http(req + "\r\n");
    accept_ok_ = lower(r.head).find("sec-websocket-accept: " + lower(ws::accept_key(key))) != std::string::npos;
    return r;
  }
  bool accept_ok() const { return accept_ok_; }

  void send_raw(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ssl_ ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                       : ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  void send(ws::Opcode op, std::string_view payload) {
    send_raw(ws::encode_client_frame(op, payload, {0x12, 0x34, 0x56, 0x78}));
  }
  void send_text(std::string_view s) { send(ws::kText, s); }
  void send_binary(std::string_view s) { send(ws::kBinary, s); }

  struct Frame {
    uint8_t opcode = 0;
    std::string payload;
    uint16_t close_code() const {
      return payload.size() < 2
                 ? 1005
                 : static_cast<uint16_t>(static_cast<uint8_t>(payload[0]) << 8 | static_cast<uint8_t>(payload[1]));
    }
    std::string close_reason() const { return payload.size() < 2 ? "" : payload.substr(2); }
  };
  // The next server frame; nullopt on timeout or EOF (eof() tells which).
  std::optional<Frame> recv(std::chrono::milliseconds timeout = 5s) {
    for (;;) {
      if (buf_.size() >= 2) {
        const auto* b = reinterpret_cast<const uint8_t*>(buf_.data());
        uint64_t len = b[1] & 0x7f;
        size_t h = 2;
        if (len == 126 && buf_.size() >= 4) len = uint64_t{b[2]} << 8 | b[3], h = 4;
        if (len == 127 && buf_.size() >= 10) {
          len = 0;
          for (int i = 0; i < 8; ++i) len = len << 8 | b[2 + i];
          h = 10;
        }
        if ((b[1] & 0x7f) < 126 || h > 2) {
          if (buf_.size() >= h + len) {
            Frame f{static_cast<uint8_t>(b[0] & 0x0f), buf_.substr(h, len)};
            buf_.erase(0, h + len);
            return f;
          }
        }
      }
      if (!fill(timeout)) return std::nullopt;
    }
  }
  // The next frame that is not a ping/pong.
  std::optional<Frame> recv_data(std::chrono::milliseconds timeout = 5s) {
    for (;;) {
      auto f = recv(timeout);
      if (!f || (f->opcode != ws::kPing && f->opcode != ws::kPong)) return f;
    }
  }
  bool eof() const { return eof_; }
  // Waits for the server to close the TCP connection (reading and dropping frames).
  bool wait_eof(std::chrono::milliseconds timeout = 5s) {
    while (!eof_)
      if (!fill(timeout)) break;
    return eof_;
  }

 private:
  static std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  static std::string random_key() {
    std::random_device rd;
    std::string raw(16, '\0');
    for (char& c : raw) c = static_cast<char>(rd());
    return base64_encode(raw);
  }
  bool fill(std::chrono::milliseconds timeout) {
    if (eof_) return false;
    pollfd p{fd_, POLLIN, 0};
    if (!(ssl_ && SSL_pending(ssl_) > 0) && ::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char tmp[65536];
    ssize_t n = ssl_ ? SSL_read(ssl_, tmp, sizeof tmp) : ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool connected_ = false, accept_ok_ = false, eof_ = false;
  std::string buf_;
};

}  // namespace pilot::beacon::testing
