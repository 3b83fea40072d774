// Lowercase hex SHA-256 computed straight from OpenSSL, for tests that check a
// checksum the code under test wrote (the Go snapshot document): deliberately not the
// project's own core/request_envelope.h sha256_hex, which that code uses.
#pragma once

#include <openssl/sha.h>

#include <cstdio>
#include <string>

namespace pilot::testsupport {

inline std::string openssl_sha256_hex(const std::string& bytes) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), d);
  std::string hex;
  char buf[3];
  for (unsigned char c : d) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    hex += buf;
  }
  return hex;
}

}  // namespace pilot::testsupport
