#include "core/utf8.h"

namespace pilot {

size_t utf8_sequence(std::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const size_t left = s.size() - i;
  const unsigned char c = b(0);
  auto cont = [&](size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  uint32_t v = 0;
  size_t n = 0;
  if (c >= 0xC2 && c <= 0xDF && cont(1)) {
    v = ((c & 0x1Fu) << 6) | (b(1) & 0x3Fu);
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2)) {
    v = ((c & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    n = 3;
  } else if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    v = ((c & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
    if (v < 0x10000 || v > 0x10FFFF) return 0;
    n = 4;
  }
  if (n != 0 && cp != nullptr) *cp = v;
  return n;
}

}  // namespace pilot
