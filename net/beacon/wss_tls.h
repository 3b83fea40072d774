// Optional TLS for the WebSocket bridge (-wss-cert / -wss-key), with OpenSSL on the
// bridge's non-blocking sockets. The reference terminates TLS in a proxy in front of a
// plain listener; this lets a beacon serve `wss://` itself.
//
// A TlsStream is used by the bridge's loop thread only (an SSL object is not
// thread-safe): deliveries from other threads are queued and written by the loop.
// read()/write() behave like recv()/send() on a non-blocking socket: > 0 bytes, 0 at
// the peer's close (read), -1 with errno EAGAIN when the socket must become readable
// or writable first (wants_write() says which), -1 with EPROTO on a TLS failure.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace pilot::beacon {

class TlsContext {
 public:
  // PEM certificate chain and private key; nullptr with `error` set if unusable.
  static std::unique_ptr<TlsContext> load(const std::string& cert_file, const std::string& key_file,
                                          std::string& error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

class TlsStream {
 public:
  TlsStream(const TlsContext& ctx, int fd);  // server side; the handshake runs inside read()/write()
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  ssize_t read(char* buf, size_t n);
  ssize_t write(const char* buf, size_t n);
  bool wants_write() const { return wants_write_; }
  bool has_buffered() const;  // decrypted bytes waiting that poll() will not announce
  void close_notify();        // best effort: one attempt, never blocks

 private:
  ssize_t result(int ret, bool reading);
  SSL* ssl_;
  bool wants_write_ = false;
};

}  // namespace pilot::beacon
