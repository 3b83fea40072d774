// Compact binary field codec shared by event payloads and snapshot blobs.
//
// Why not JSON: replay must run at >1M events/s and event payloads are written once
// and read many times (restart, followers, audits). Fixed-width little-endian
// integers and varint-prefixed strings decode in a few nanoseconds per field.
//
// Encoding of each field type (all little-endian):
//   bool            1 byte, 0 or 1 (anything else is a decode error)
//   uint8/16/32/64  fixed width
//   int64           fixed width, two's complement
//   string          varint length, then the bytes
//   PublicKey       32 raw bytes
//   vector<T>       varint count, then each element
// Varints are LEB128 (7 bits per byte, low group first), at most 10 bytes.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace pilot {

using PublicKey = std::array<uint8_t, 32>;

class Encoder {
 public:
  explicit Encoder(std::string& out) : out_(out) {}

  void put(bool v) { out_.push_back(v ? 1 : 0); }
  void put(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void put(uint16_t v) { fixed(v); }
  void put(uint32_t v) { fixed(v); }
  void put(uint64_t v) { fixed(v); }
  void put(int64_t v) { fixed(static_cast<uint64_t>(v)); }
  void put(const std::string& v) {
    varint(v.size());
    out_.append(v);
  }
  void put(const PublicKey& v) { out_.append(reinterpret_cast<const char*>(v.data()), v.size()); }
  template <class T>
  void put(const std::vector<T>& v) {
    varint(v.size());
    for (const auto& e : v) put(e);
  }

  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }

 private:
  template <class U>
  void fixed(U v) {
    char b[sizeof(U)];
    for (size_t i = 0; i < sizeof(U); ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    out_.append(b, sizeof(U));
  }
  std::string& out_;
};

// Decoder never reads past `end`; the first failure latches ok() == false and every
// later get() is a no-op, so callers check once at the end.
class Decoder {
 public:
  Decoder(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  explicit Decoder(std::string_view s) : Decoder(reinterpret_cast<const uint8_t*>(s.data()), s.size()) {}

  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  void fail() { ok_ = false; }

  void get(bool& v) {
    uint8_t b = 0;
    get(b);
    if (b > 1) fail();
    v = b == 1;
  }
  void get(uint8_t& v) { fixed(v); }
  void get(uint16_t& v) { fixed(v); }
  void get(uint32_t& v) { fixed(v); }
  void get(uint64_t& v) { fixed(v); }
  void get(int64_t& v) {
    uint64_t u = 0;
    fixed(u);
    v = static_cast<int64_t>(u);
  }
  void get(std::string& v) {
    uint64_t n = varint();
    if (!ok_ || n > remaining()) return fail();
    v.assign(reinterpret_cast<const char*>(p_), n);
    p_ += n;
  }
  void get(PublicKey& v) {
    if (!ok_ || remaining() < v.size()) return fail();
    std::memcpy(v.data(), p_, v.size());
    p_ += v.size();
  }
  template <class T>
  void get(std::vector<T>& v) {
    uint64_t n = varint();
    // Every element takes at least one byte, so a count above the remaining bytes is a lie.
    if (!ok_ || n > remaining()) return fail();
    v.clear();
    v.resize(n);
    for (auto& e : v) get(e);
  }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (!ok_ || p_ == end_) {
        fail();
        return 0;
      }
      uint8_t b = *p_++;
      if (shift == 63 && b > 1) break;  // would overflow 64 bits
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail();
    return 0;
  }

 private:
  template <class U>
  void fixed(U& v) {
    if (!ok_ || remaining() < sizeof(U)) {
      ok_ = false;
      return;
    }
    U r = 0;
    for (size_t i = 0; i < sizeof(U); ++i) r |= static_cast<U>(static_cast<U>(p_[i]) << (8 * i));
    p_ += sizeof(U);
    v = r;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

}  // namespace pilot
