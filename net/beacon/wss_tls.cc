#include "net/beacon/wss_tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>

namespace pilot::beacon {
namespace {

std::string last_error(const char* what) {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + ": " + (e ? buf : "unknown error");
}

}  // namespace

std::unique_ptr<TlsContext> TlsContext::load(const std::string& cert_file, const std::string& key_file,
                                             std::string& error) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    error = last_error("tls context");
    return nullptr;
  }
  std::unique_ptr<TlsContext> out(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Partial writes: the queue hands SSL_write what the socket may take, and the next
  // attempt starts from a moved buffer once the queue is compacted.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    error = last_error(("tls certificate " + cert_file).c_str());
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = last_error(("tls key " + key_file).c_str());
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    error = last_error("tls key does not match the certificate");
    return nullptr;
  }
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsStream::TlsStream(const TlsContext& ctx, int fd) : ssl_(SSL_new(ctx.get())) {
  if (ssl_) {
    SSL_set_fd(ssl_, fd);
    SSL_set_accept_state(ssl_);
  }
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

ssize_t TlsStream::result(int ret, bool reading) {
  wants_write_ = false;
  if (ret > 0) return ret;
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ: errno = EAGAIN; return -1;
    case SSL_ERROR_WANT_WRITE:
      wants_write_ = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      if (reading) return 0;  // close_notify
      break;
    case SSL_ERROR_SYSCALL:
      if (reading && ret == 0) return 0;  // EOF without close_notify: the peer is gone either way
      break;
    default: break;
  }
  ERR_clear_error();
  errno = EPROTO;
  return -1;
}

ssize_t TlsStream::read(char* buf, size_t n) {
  if (!ssl_) return errno = EPROTO, -1;
  ERR_clear_error();
  return result(SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(n, 1 << 30))), true);
}

ssize_t TlsStream::write(const char* buf, size_t n) {
  if (!ssl_) return errno = EPROTO, -1;
  ERR_clear_error();
  return result(SSL_write(ssl_, buf, static_cast<int>(std::min<size_t>(n, 1 << 30))), false);
}

bool TlsStream::has_buffered() const { return ssl_ && SSL_pending(ssl_) > 0; }

void TlsStream::close_notify() {
  if (!ssl_ || !SSL_is_init_finished(ssl_)) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace pilot::beacon
